"""Typed keys of the ingest resources the app owns (the shared ones are in collector.core.keys)."""

from __future__ import annotations

from aiohttp import web

from collector.ingest.clarity.pipeline import ClarityUpload
from collector.ingest.geo import CountryLookup
from collector.ingest.matomo.pipeline import MatomoHit, MatomoServices
from collector.ingest.metrics import Metrics
from collector.ingest.ratelimit import RateLimiter
from collector.ingest.services import IngestServices
from collector.ingest.steps import Steps
from collector.ingest.writer import BatchWriter

METRICS = web.AppKey("metrics", Metrics)
WRITER = web.AppKey("writer", BatchWriter)
SERVICES = web.AppKey("services", IngestServices)
GEO = web.AppKey("geo", CountryLookup)
MATOMO = web.AppKey("matomo", MatomoServices)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
COLLECT_STEPS = web.AppKey("collect_steps", Steps[ClarityUpload])
MATOMO_STEPS = web.AppKey("matomo_steps", Steps[MatomoHit])
