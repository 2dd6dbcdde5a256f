"""Clarity event type numbers and names, and which events are playback-only."""

from __future__ import annotations

EVENT_NAMES: dict[int, str] = {
    0: "metric", 1: "dimension", 2: "upload", 3: "upgrade", 4: "baseline", 5: "discover", 6: "mutation",
    7: "region", 8: "document", 9: "click", 10: "scroll", 11: "resize", 12: "mousemove", 13: "mousedown",
    14: "mouseup", 15: "mousewheel", 16: "doubleclick", 17: "touchstart", 18: "touchend", 19: "touchmove",
    20: "touchcancel", 21: "selection", 22: "timeline", 23: "page", 24: "custom", 25: "ping", 26: "unload",
    27: "input", 28: "visibility", 29: "navigation", 30: "connection", 31: "scripterror", 32: "imageerror",
    33: "log", 34: "variable", 35: "limit", 36: "summary", 37: "box", 38: "clipboard", 39: "submit",
    40: "extract", 41: "fraud", 42: "change", 43: "snapshot", 44: "animation", 45: "stylesheetadoption",
    46: "stylesheetupdate", 47: "consent", 48: "contextmenu", 50: "focus", 51: "customelement", 52: "chat",
    53: "pointerdown",
}

METRIC, DIMENSION, BASELINE, DISCOVER, MUTATION, DOCUMENT = 0, 1, 4, 5, 6, 8
CLICK, SCROLL, RESIZE, CUSTOM, INPUT, SCRIPT_ERROR, LOG = 9, 10, 11, 24, 27, 31, 33
VARIABLE, CHANGE, SNAPSHOT, CONSENT, CONTEXT_MENU, EXTRACT, REGION = 34, 42, 43, 47, 48, 40, 7
DOM_EVENTS = frozenset({DISCOVER, MUTATION, SNAPSHOT})
POINTER_EVENTS = frozenset(range(12, 21)) | {53}

#: Dimension keys with special treatment.
DIM_USER_AGENT, DIM_URL, DIM_REFERRER, DIM_TITLE, DIM_CONSENT = 0, 1, 2, 3, 36
#: Metric keys the page-view row uses.
METRIC_SCREEN_WIDTH, METRIC_SCREEN_HEIGHT = 14, 15


def event_name(event_type: int) -> str:
    """A readable name; unknown types are kept as `type_<n>` raw rows, never refused."""
    return EVENT_NAMES.get(event_type, f"type_{event_type}")
