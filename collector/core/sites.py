"""Which sites may send data, from where, and under which consent and masking rules.

Read from a TOML sites file (`[[site]]` tables); a demo site is used when the file is missing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from collector.core.errors import ConfigError

ConsentMode = Literal["explicit", "loader"]
MatomoConsentMode = Literal["consent_param", "tracker_requires_consent", "cookieless"]
MaskingMode = Literal["strict", "balanced", "relaxed"]

#: Query parameters removed from every stored URL, whatever the site lists.
DEFAULT_SENSITIVE_PARAMS = frozenset(
    {
        "email",
        "e-mail",
        "mail",
        "token",
        "access_token",
        "id_token",
        "auth",
        "password",
        "pass",
        "pwd",
        "secret",
        "key",
        "apikey",
        "api_key",
        "session",
        "sessionid",
        "sid",
        "phone",
        "tel",
        "iban",
        "card",
        "ssn",
        "code",
        "otp",
    }
)


@dataclass(frozen=True)
class Site:
    """One tracked website and its privacy settings (see README "Sites file")."""

    id: str
    origins: frozenset[str]
    consent: ConsentMode = "explicit"
    masking: MaskingMode = "balanced"
    honour_dnt: bool = True
    sensitive_params: frozenset[str] = DEFAULT_SENSITIVE_PARAMS
    timezone: str = "UTC"
    policy_version: str = "1"
    matomo_idsite: int | None = None
    matomo_consent: MatomoConsentMode = "consent_param"
    matomo_goals_allow_multiple: frozenset[int] = frozenset()  # goal ids converting more than once per visit
    name: str = ""

    def allows_origin(self, origin: str) -> bool:
        return origin.rstrip("/").lower() in self.origins


@dataclass(frozen=True)
class SiteRegistry:
    sites: dict[str, Site] = field(default_factory=dict)

    def get(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    def by_matomo_id(self, idsite: int) -> Site | None:
        return next((s for s in self.sites.values() if s.matomo_idsite == idsite), None)

    def all(self) -> list[Site]:
        return list(self.sites.values())


def _choice(raw: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise ConfigError(f"site {raw.get('id')!r}: {key} must be one of {allowed}, got {value!r}")
    return str(value)


def site_from_dict(raw: dict[str, Any]) -> Site:
    """Validate one `[[site]]` table."""
    site_id = raw.get("id")
    if not isinstance(site_id, str) or not site_id or len(site_id) > 64:
        raise ConfigError(f"every site needs an id (1-64 characters), got {site_id!r}")
    origins = raw.get("origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"site {site_id!r}: origins must be a list of strings")
    if "*" in origins:
        raise ConfigError(f"site {site_id!r}: '*' is not an origin; list each allowed origin")
    extra = raw.get("sensitive_params", [])
    idsite = raw.get("matomo_idsite")
    if idsite is not None and (not isinstance(idsite, int) or idsite <= 0):
        raise ConfigError(f"site {site_id!r}: matomo_idsite must be a positive integer")
    multiple = raw.get("matomo_goals_allow_multiple", [])
    if not isinstance(multiple, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in multiple):
        raise ConfigError(f"site {site_id!r}: matomo_goals_allow_multiple must be a list of goal ids")
    return Site(
        id=site_id,
        name=str(raw.get("name", site_id)),
        origins=frozenset(o.rstrip("/").lower() for o in origins),
        consent=_choice(raw, "consent", ("explicit", "loader"), "explicit"),  # type: ignore[arg-type]
        masking=_choice(raw, "masking", ("strict", "balanced", "relaxed"), "balanced"),  # type: ignore[arg-type]
        honour_dnt=bool(raw.get("honour_dnt", True)),
        sensitive_params=DEFAULT_SENSITIVE_PARAMS | {str(p).lower() for p in extra},
        timezone=str(raw.get("timezone", "UTC")),
        policy_version=str(raw.get("policy_version", "1")),
        matomo_idsite=idsite,
        matomo_consent=_choice(  # type: ignore[arg-type]
            raw, "matomo_consent", ("consent_param", "tracker_requires_consent", "cookieless"), "consent_param"
        ),
        matomo_goals_allow_multiple=frozenset(multiple),
    )


def demo_site(public_url: str) -> Site:
    """The site `python -m collector` configures when there is no sites file."""
    origins = {public_url, public_url.replace("127.0.0.1", "localhost")}
    return site_from_dict({"id": "demo", "name": "Demo site", "origins": sorted(origins), "matomo_idsite": 1})


def load_sites(path: Path, public_url: str) -> SiteRegistry:
    if not path.exists():
        site = demo_site(public_url)
        return SiteRegistry({site.id: site})
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read sites file {path}: {exc}") from exc
    tables = raw.get("site", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"sites file {path} has no [[site]] table")
    sites = [site_from_dict(t) for t in tables]
    ids = [s.id for s in sites]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"sites file {path}: duplicate site id")
    return SiteRegistry({s.id: s for s in sites})
