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
#: bounded, and cleared when full; typed input values never enter it.
MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class MaskPolicy:
    mode: MaskingMode
    sensitive_params: frozenset[str]
    max_chars: int
    hasher: Hasher
    site: str
    _memo: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)

    def cut(self, text: str) -> str:
        return text if len(text) <= self.max_chars else text[: self.max_chars]

    def _remember(self, key: tuple[str, str], value: str) -> str:
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value
        return value

    def text(self, value: str) -> str:
        """Visible page text (text nodes, click text, labels)."""
        hit = self._memo.get(("text", value))
        if hit is not None:
            return hit
        if self.mode == "strict":
            masked = bullets(value)
        elif self.mode == "balanced":
            masked = mask_pii(redact_words(value))
        else:
            masked = mask_pii(value)
        return self._remember(("text", value), self.cut(masked))

    def url(self, value: str) -> str:
        hit = self._memo.get(("url", value))
        if hit is not None:
            return hit
        masked = clean_url(value, self.sensitive_params, drop_query=self.mode == "strict")
        return self._remember(("url", value), self.cut(masked))

    def page_url(self, value: str) -> str:
        """The page's own URL keeps its non-sensitive query (campaign parameters) in every mode."""
        hit = self._memo.get(("page", value))
        if hit is not None:
            return hit
        return self._remember(("page", value), self.cut(clean_url(value, self.sensitive_params)))

    def title(self, value: str) -> str:
        """The page's title: page text in strict mode, free text (personal data masked) otherwise."""
        return self.text(value) if self.mode == "strict" else self.free(value)

    def free(self, value: str) -> str:
        """Free text a page script chose to send (custom events, variables, errors)."""
        hit = self._memo.get(("free", value))
        if hit is not None:
            return hit
        return self._remember(("free", value), self.cut(mask_pii(value)))

    def attribute(self, token: str) -> str:
        """A DOM `name=value` attribute; input values are bulleted without touching the memo."""
        if token.startswith("value="):
            return "value=" + bullets(token[6:])
        hit = self._memo.get(("attr", token))
        if hit is not None:
            return hit
        return self._remember(("attr", token), _mask_attribute(token, self))


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
