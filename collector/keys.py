"""Typed keys for what the aiohttp app owns (handlers reach resources through these, no globals)."""

from __future__ import annotations

from aiohttp import web

from .geo import CountryLookup
from .matomo.pipeline import MatomoServices
from .metrics import Metrics
from .pipeline import IngestServices
from .ratelimit import RateLimiter
from .settings import Settings
from .sites import SiteRegistry
from .storage import Storage
from .writer import BatchWriter

SETTINGS = web.AppKey("settings", Settings)
SITES = web.AppKey("sites", SiteRegistry)
METRICS = web.AppKey("metrics", Metrics)
STORAGE = web.AppKey("storage", Storage)
WRITER = web.AppKey("writer", BatchWriter)
SERVICES = web.AppKey("services", IngestServices)
GEO = web.AppKey("geo", CountryLookup)
MATOMO = web.AppKey("matomo", MatomoServices)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
