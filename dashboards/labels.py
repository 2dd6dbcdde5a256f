"""Readable dimensions: country names and flags, channel and device labels, durations with units.

Panels store codes (`DE`, `search`, seconds); a column declared with `label=(labeller, source)` is
filled here from its source column after the query ran, so JSON, CSV, pandas and the pages all show
the same words. Country names come from pycountry (ISO 3166, kept up to date by its maintainers).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Sequence

import pycountry

from dashboards.model import Panel

CHANNELS = {
    "direct": "Direct entry",
    "search": "Search engines",
    "social": "Social networks",
    "website": "Websites",
    "campaign": "Campaigns",
}
DEVICES = {"desktop": "Desktop", "mobile": "Smartphone", "tablet": "Tablet", "unknown": "Unknown device"}
UNKNOWN_COUNTRY = "Unknown"


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """`DE` → `Germany`; an empty or unknown code → `Unknown` (the code kept when it is not ISO)."""
    if not code:
        return UNKNOWN_COUNTRY
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def country_flag(code: str) -> str:
    """The flag emoji of an ISO 3166 alpha-2 code (two regional indicator symbols); '' otherwise."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code.upper())


def channel_label(code: str) -> str:
    return CHANNELS.get(code, code or "Unknown")


def device_label(code: str) -> str:
    return DEVICES.get(code, code or DEVICES["unknown"])


def duration_text(seconds: Any) -> str:
    """Seconds with units: `42 s`, `3 min 05 s`, `2 h 04 min`; '' for no value."""
    if seconds is None or seconds != seconds:
        return ""
    total = int(round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


LABELLERS: dict[str, Callable[[Any], str]] = {
    "country": lambda v: country_name(str(v or "")),
    "flag": lambda v: country_flag(str(v or "")),
    "channel": lambda v: channel_label(str(v or "")),
    "device": lambda v: device_label(str(v or "")),
    "duration": duration_text,
}


def with_labels(panel: Panel, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with the panel's label columns filled in (the SQL returns every other column, in order)."""
    if not any(c.label for c in panel.columns):
        return list(rows)
    stored = [c.name for c in panel.columns if c.label is None]
    out = []
    for row in rows:
        values = dict(zip(stored, row, strict=True))
        out.append(
            tuple(LABELLERS[c.label[0]](values[c.label[1]]) if c.label else values[c.name] for c in panel.columns)
        )
    return out
