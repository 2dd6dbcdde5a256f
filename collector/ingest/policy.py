"""A site's masking policy, as both ingest paths apply it to every string a client sends.

Strict, balanced or relaxed mode for page text and attributes (README and docs/privacy.md say what
each masks); personal-data patterns and sensitive URL parameters in every mode. One policy per site,
with a bounded memo of masked strings (the same page text arrives from every visitor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.core.sites import MaskingMode
from collector.ingest.masking import bullets, clean_url, mask_pii, redact_words
from ingest_schema.hashing import Hasher

URL_ATTRIBUTES = frozenset({"href", "src", "srcset", "action", "formaction", "poster", "cite", "*b", "background"})
LABEL_ATTRIBUTES = frozenset({"title", "alt", "aria-label", "label", "content", "summary", "aria-description"})
#: Strict mode: the only attributes not masked like page text. They carry layout and structure a
#: replay needs (or clarity-js's own markers, `*O`), not words meant for a reader; URL attributes
#: are cleaned (query dropped) instead. Everything else (title, alt, aria-*, data-*, placeholder,
#: event handlers, meta content, ...) becomes bullets. docs/privacy.md explains the choice.
STRICT_KEPT_ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "style",
        "type",
        "name",
        "role",
        "rel",
        "lang",
        "dir",
        "for",
        "width",
        "height",
        "size",
        "colspan",
        "rowspan",
        "span",
        "tabindex",
        "hidden",
        "disabled",
        "checked",
        "selected",
        "multiple",
        "readonly",
        "required",
        "open",
        "media",
        "sizes",
        "charset",
        "target",
        "method",
        "loading",
        "*o",
        "viewbox",
        "xmlns",
        "d",
        "fill",
        "stroke",
        "stroke-width",
        "points",
        "transform",
        "x",
        "y",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "x1",
        "x2",
        "y1",
        "y2",
        "preserveaspectratio",
        "version",
    }
)

#: Masked forms of recent strings per site policy: the same page text and attributes arrive from
#: every visitor of a page, so most masking becomes a dictionary lookup. Held in memory only,
#: bounded (all kinds together), and cleared when full; typed input values never enter it.
MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class _Memo:
    """One plain-string dictionary per kind of masking (a lookup hashes the string only, whose hash
    Python keeps, instead of building and hashing a (kind, string) tuple every time)."""

    text: dict[str, str] = field(default_factory=dict)
    url: dict[str, str] = field(default_factory=dict)
    page: dict[str, str] = field(default_factory=dict)
    free: dict[str, str] = field(default_factory=dict)
    attr: dict[str, str] = field(default_factory=dict)

    def remember(self, kind: dict[str, str], key: str, value: str) -> str:
        if len(self.text) + len(self.url) + len(self.page) + len(self.free) + len(self.attr) >= MEMO_LIMIT:
            for memo in (self.text, self.url, self.page, self.free, self.attr):
                memo.clear()
        kind[key] = value
        return value


@dataclass(frozen=True)
class MaskPolicy:
    mode: MaskingMode
    sensitive_params: frozenset[str]
    max_chars: int
    hasher: Hasher
    site: str
    _memo: _Memo = field(default_factory=_Memo, compare=False, repr=False)

    def cut(self, text: str) -> str:
        return text if len(text) <= self.max_chars else text[: self.max_chars]

    def text(self, value: str) -> str:
        """Visible page text (text nodes, click text, labels)."""
        memo = self._memo.text
        hit = memo.get(value)
        if hit is not None:
            return hit
        if self.mode == "strict":
            masked = bullets(value)
        elif self.mode == "balanced":
            masked = mask_pii(redact_words(value))
        else:
            masked = mask_pii(value)
        return self._memo.remember(memo, value, self.cut(masked))

    def url(self, value: str) -> str:
        memo = self._memo.url
        hit = memo.get(value)
        if hit is not None:
            return hit
        masked = clean_url(value, self.sensitive_params, drop_query=self.mode == "strict")
        return self._memo.remember(memo, value, self.cut(masked))

    def page_url(self, value: str) -> str:
        """The page's own URL keeps its non-sensitive query (campaign parameters) in every mode."""
        memo = self._memo.page
        hit = memo.get(value)
        if hit is not None:
            return hit
        return self._memo.remember(memo, value, self.cut(clean_url(value, self.sensitive_params)))

    def title(self, value: str) -> str:
        """The page's title: page text in strict mode, free text (personal data masked) otherwise."""
        return self.text(value) if self.mode == "strict" else self.free(value)

    def free(self, value: str) -> str:
        """Free text a page script chose to send (custom events, variables, errors)."""
        memo = self._memo.free
        hit = memo.get(value)
        if hit is not None:
            return hit
        return self._memo.remember(memo, value, self.cut(mask_pii(value)))

    def attribute(self, token: str) -> str:
        """A DOM `name=value` attribute; input values are bulleted without touching the memo."""
        hit = self._memo.attr.get(token)
        if hit is not None:
            return hit
        if token.startswith("value="):
            return "value=" + bullets(token[6:])
        return self._memo.remember(self._memo.attr, token, _mask_attribute(token, self))


def _mask_attribute(token: str, policy: MaskPolicy) -> str:
    if token.startswith("#") and "=" not in token:
        return token  # masked-image size, not content
    name, sep, value = token.partition("=")
    if not sep:
        return policy.free(token)
    key = name.lower()
    name = policy.free(name)  # a forged attribute name is client text like any other
    if key == "value":
        masked = bullets(value)
    elif key in URL_ATTRIBUTES:
        masked = policy.url(value) if key != "srcset" else policy.free(value)
    elif policy.mode == "strict" and key not in STRICT_KEPT_ATTRIBUTES:
        masked = policy.text(value)
    elif key == "placeholder" or key.startswith("data-"):
        masked = policy.free(value) if policy.mode == "relaxed" else bullets(value)
    elif key in LABEL_ATTRIBUTES:
        masked = policy.text(value)
    else:
        masked = policy.free(value)
    return f"{name}={masked}"
