"""The Reporting API methods we answer, each mapped onto panels of the query layer (run_panel).

Field names and shapes follow Matomo's API reference and plugin code; fields we cannot fill are left
out rather than invented (docs/matomo-reporting-api.md lists them with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Mapping, Protocol
from urllib.parse import quote

import pycountry

from collector.core.sites import Site
from dashboards.matomo_api.errors import ApiError, BadRequest, NoAccess
from dashboards.matomo_api.render import Data, Map, Records, Row, Scalar, Simple, Table
from dashboards.matomo_api.request import Periods
from dashboards.model import Filters, Query, Result
from dashboards.periods import Period
from dashboards.segments import Group, with_definition

#: What getMatomoVersion answers: the Matomo release whose API this one follows.
MATOMO_VERSION = "5.2.0"


class Runner(Protocol):
    async def __call__(self, panel: str, query: Query) -> Result: ...


@dataclass(frozen=True)
class Call:
    """One API call after its common parameters were read (site and periods are None when absent)."""

    method: str
    params: Mapping[str, str]
    analyst: str | None
    sites: tuple[Site, ...]  # the sites this analyst may read that have a matomo_idsite
    site: Site | None = None
    periods: Periods | None = None
    segment: Group | None = None  # the `segment` parameter as a definition (matomo_api.segment)
    limit: int = 100
    offset: int = 0

    def need_site(self) -> Site:
        if self.site is None:
            raise ApiError("Please specify a value for 'idSite'.")
        if self.analyst is None:
            raise NoAccess(
                f"You can't access this resource as it requires 'view' access for the website id = "
                f"{self.site.matomo_idsite}."
            )
        return self.site

    def need_periods(self) -> Periods:
        if self.periods is None:
            raise ApiError("Please specify a value for 'period'.")
        return self.periods


Method = Callable[[Runner, Call], Awaitable[Data]]


def _query(call: Call, period: Period, filters: Filters | None = None, **options: str) -> Query:
    """The panel query of one period: the method's own filters, and the call's segment as the visit
    pre-selection a saved segment would be."""
    rows = max(1, min(call.offset + call.limit, 1000))
    query = Query(call.need_site().id, period, filters or Filters(), rows, options)
    segment = call.params.get("segment", "").strip()
    return with_definition(query, call.segment, segment) if call.segment is not None else query


def _window(call: Call, rows: list[Row]) -> Table:
    return Table(rows[call.offset : call.offset + call.limit])


async def _per_period(call: Call, one: Callable[[Period], Awaitable[Simple | Table]]) -> Data:
    periods = call.need_periods()
    call.need_site()
    answers = {label: await one(period) for label, period in periods.items}
    if periods.several:
        return Map(answers)
    return next(iter(answers.values()))


def _percent(part: float, whole: float, digits: int = 0) -> str:
    if not whole:
        return "0%"
    value = round(part * 100 / whole, digits)
    return f"{value:g}%" if digits else f"{int(value)}%"


# --- API and SitesManager -------------------------------------------------------------------------


async def matomo_version(run: Runner, call: Call) -> Data:
    if call.analyst is None:
        raise NoAccess("You can't access this resource as it requires 'view' access for at least one website.")
    return Scalar(MATOMO_VERSION)


def _site_record(site: Site) -> dict[str, Any]:
    return {
        "idsite": site.matomo_idsite,
        "name": site.name or site.id,
        "main_url": min(site.origins) if site.origins else "",
        "timezone": site.timezone,
        "type": "website",
        "ecommerce": 0,
        "sitesearch": 1,
    }


async def sites_with_view_access(run: Runner, call: Call) -> Data:
    return Records([_site_record(s) for s in call.sites] if call.analyst else [])


async def site_ids_with_view_access(run: Runner, call: Call) -> Data:
    return Records([s.matomo_idsite for s in call.sites] if call.analyst else [])


async def site_from_id(run: Runner, call: Call) -> Data:
    return Simple(_site_record(call.need_site()))


# --- visits ---------------------------------------------------------------------------------------


def _visit_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "nb_uniq_visitors": int(row["visitors"]),
        "nb_visits": int(row["visits"]),
        "nb_actions": int(row["actions"]),
        "max_actions": int(row["max_actions"]),
        "sum_visit_length": int(row["visit_seconds"]),
        "bounce_count": int(row["bounces"]),
        "nb_visits_converted": int(row["converted_visits"]),
    }


async def visits_summary(run: Runner, call: Call) -> Data:
    async def one(period: Period) -> Simple:
        row = (await run("visit_metrics", _query(call, period))).records()[0]
        figures = _visit_columns(row)
        visits = figures["nb_visits"]
        figures["bounce_rate"] = _percent(figures["bounce_count"], visits)
        figures["nb_actions_per_visit"] = round(figures["nb_actions"] / visits, 1) if visits else 0
        figures["avg_time_on_site"] = round(figures["sum_visit_length"] / visits) if visits else 0
        return Simple(figures)

    return await _per_period(call, one)


@dataclass(frozen=True)
class VisitReport:
    """A report of visits grouped by one visit column (visit_metrics `by`), optionally within a channel."""

    by: str
    channel: str = ""
    label: Callable[[str], str] = str
    metadata: Callable[[str], dict[str, Any]] = lambda value: {}


def visit_report(report: VisitReport) -> Method:
    async def method(run: Runner, call: Call) -> Data:
        async def one(period: Period) -> Table:
            filters = Filters(channel=report.channel) if report.channel else None
            result = await run("visit_metrics", _query(call, period, filters, by=report.by))
            rows = [
                Row({"label": report.label(str(r["label"])), **_visit_columns(r)}, report.metadata(str(r["label"])))
                for r in result.records()
            ]
            return _window(call, rows)

        return await _per_period(call, one)

    return method


def _segment(name: str, value: str) -> dict[str, Any]:
    return {"segment": f"{name}=={quote(value, safe='')}"}


CHANNEL_LABELS = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}
DEVICE_LABELS = {
    "desktop": ("Desktop", "desktop"),
    "mobile": ("Smartphone", "smartphone"),
    "tablet": ("Tablet", "tablet"),
}


def _country_label(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return str(country.name) if country is not None else "Unknown"


def _country_metadata(code: str) -> dict[str, Any]:
    lower = code.lower() if code else "xx"
    return {"code": lower, "logo": f"plugins/Morpheus/icons/dist/flags/{lower}.png", **_segment("countryCode", lower)}


def _device_metadata(device: str) -> dict[str, Any]:
    name = DEVICE_LABELS.get(device, ("Unknown", ""))[1]
    return _segment("deviceType", name) if name else {}


REFERRER_TYPE = VisitReport(
    "channel",
    label=lambda v: CHANNEL_LABELS.get(v, v or "Direct Entry"),
    metadata=lambda v: {"referer_type": v, **_segment("referrerType", v or "direct")},
)
WEBSITES = VisitReport("source", "website", metadata=lambda v: _segment("referrerName", v))
SEARCH_ENGINES = VisitReport("source", "search", metadata=lambda v: _segment("referrerName", v))
SOCIALS = VisitReport("source", "social", metadata=lambda v: _segment("referrerName", v))
CAMPAIGNS = VisitReport("campaign", "campaign", metadata=lambda v: _segment("referrerName", v))
COUNTRIES = VisitReport("country", label=_country_label, metadata=_country_metadata)
DEVICE_TYPES = VisitReport(
    "device", label=lambda v: DEVICE_LABELS.get(v, ("Unknown", ""))[0], metadata=_device_metadata
)
BROWSERS = VisitReport("browser", label=lambda v: v or "Unknown", metadata=lambda v: _segment("browserName", v))
OS_FAMILIES = VisitReport("os", label=lambda v: v or "Unknown", metadata=lambda v: _segment("operatingSystemName", v))


# --- actions --------------------------------------------------------------------------------------


async def actions_get(run: Runner, call: Call) -> Data:
    async def one(period: Period) -> Simple:
        r = (await run("action_metrics", _query(call, period))).records()[0]
        return Simple(
            {
                "nb_pageviews": int(r["pageviews"]),
                "nb_uniq_pageviews": int(r["unique_pageviews"]),
                "nb_downloads": int(r["downloads"]),
                "nb_uniq_downloads": int(r["unique_downloads"]),
                "nb_outlinks": int(r["outlinks"]),
                "nb_uniq_outlinks": int(r["unique_outlinks"]),
                "nb_searches": int(r["searches"]),
                "nb_keywords": int(r["keywords"]),
            }
        )

    return await _per_period(call, one)


def page_report(by: str) -> Method:
    async def method(run: Runner, call: Call) -> Data:
        async def one(period: Period) -> Table:
            rows = []
            for r in (await run("page_metrics", _query(call, period, by=by))).records():
                hits, visits, entries = int(r["hits"]), int(r["visits"]), int(r["entries"])
                columns = {
                    "label": r["label"] or ("Page Name Not Defined" if by == "title" else "/"),
                    "nb_visits": visits,
                    "nb_uniq_visitors": int(r["visitors"]),
                    "nb_hits": hits,
                    "sum_time_spent": int(r["time_spent"]),
                    "entry_nb_visits": entries,
                    "entry_bounce_count": int(r["bounces"]),
                    "exit_nb_visits": int(r["exits"]),
                    "avg_time_on_page": round(int(r["time_spent"]) / hits) if hits else 0,
                    "bounce_rate": _percent(int(r["bounces"]), entries),
                    "exit_rate": _percent(int(r["exits"]), visits),
                }
                metadata = (
                    {"url": r["url"], **_segment("pageUrl", r["url"])}
                    if by == "url"
                    else _segment("pageTitle", r["label"])
                )
                rows.append(Row(columns, metadata))
            return _window(call, rows)

        return await _per_period(call, one)

    return method


def event_report(by: str, segment: str) -> Method:
    async def method(run: Runner, call: Call) -> Data:
        async def one(period: Period) -> Table:
            rows = []
            for r in (await run("event_metrics", _query(call, period, by=by))).records():
                events = int(r["events"])
                rows.append(
                    Row(
                        {
                            "label": r["label"],
                            "nb_uniq_visitors": int(r["visitors"]),
                            "nb_visits": int(r["visits"]),
                            "nb_events": events,
                            "nb_events_with_value": int(r["events_with_value"]),
                            "sum_event_value": r["value_sum"],
                            "min_event_value": r["value_min"],
                            "max_event_value": r["value_max"],
                            "avg_event_value": round(float(r["value_sum"]) / events, 2) if events else 0,
                        },
                        _segment(segment, str(r["label"])),
                    )
                )
            return _window(call, rows)

        return await _per_period(call, one)

    return method


# --- goals ----------------------------------------------------------------------------------------


async def goals_get(run: Runner, call: Call) -> Data:
    goal = call.params.get("idGoal", "").strip()
    if goal and not (goal.isdecimal() or goal == "ecommerceOrder"):
        raise ApiError("idGoal must be a goal id or ecommerceOrder.")

    async def one(period: Period) -> Simple:
        r = (await run("visit_metrics", _query(call, period, goal=goal))).records()[0]
        visits, converted = int(r["visits"]), int(r["converted_visits"])
        return Simple(
            {
                "nb_conversions": int(r["conversions"]),
                "nb_visits_converted": converted,
                "revenue": r["revenue"],
                "conversion_rate": _percent(converted, visits, 2),
            }
        )

    return await _per_period(call, one)


# --- Live -----------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def last_visits(run: Runner, call: Call) -> Data:
    site = call.need_site()
    periods = call.need_periods()
    first = periods.items[0][1]
    last = periods.items[-1][1]
    period = replace(first, last_day=last.last_day)
    records = []
    for r in (await run("last_visits", _query(call, period))).records()[call.offset : call.offset + call.limit]:
        start, end = _utc(r["start"]), _utc(r["end"])
        local = start.astimezone(period.zone)
        actions = [
            {"type": "action", "url": url, "pageTitle": title, "timestamp": int(_utc(ts).timestamp())}
            for ts, url, title in (r["pages"] or [])
        ]
        records.append(
            {
                "idSite": site.matomo_idsite,
                "idVisit": r["visit"],
                "visitorId": r["visitor"],
                "actionDetails": actions,
                "actions": int(r["actions"]),
                "firstActionTimestamp": int(start.timestamp()),
                "lastActionTimestamp": int(end.timestamp()),
                "serverDate": local.date().isoformat(),
                "serverTimestamp": int(end.timestamp()),
                "visitDuration": int((end - start).total_seconds()),
                "referrerType": r["channel"] or "direct",
                "referrerName": r["source"],
                "campaignName": r["campaign"],
                "countryCode": (r["country"] or "xx").lower(),
                "country": _country_label(r["country"] or ""),
                "deviceType": DEVICE_LABELS.get(r["device"], ("Unknown", ""))[0],
                "browserName": r["browser"] or "Unknown",
                "operatingSystemName": r["os"] or "Unknown",
            }
        )
    return Records(records)


# --- the registry ---------------------------------------------------------------------------------

METHODS: dict[str, Method] = {
    "API.getMatomoVersion": matomo_version,
    "API.getPiwikVersion": matomo_version,
    "SitesManager.getSitesWithAtLeastViewAccess": sites_with_view_access,
    "SitesManager.getSitesIdWithAtLeastViewAccess": site_ids_with_view_access,
    "SitesManager.getSiteFromId": site_from_id,
    "VisitsSummary.get": visits_summary,
    "Actions.get": actions_get,
    "Actions.getPageUrls": page_report("url"),
    "Actions.getPageTitles": page_report("title"),
    "Referrers.getReferrerType": visit_report(REFERRER_TYPE),
    "Referrers.getWebsites": visit_report(WEBSITES),
    "Referrers.getSearchEngines": visit_report(SEARCH_ENGINES),
    "Referrers.getSocials": visit_report(SOCIALS),
    "Referrers.getCampaigns": visit_report(CAMPAIGNS),
    "Goals.get": goals_get,
    "Events.getCategory": event_report("category", "eventCategory"),
    "Events.getAction": event_report("action", "eventAction"),
    "Events.getName": event_report("name", "eventName"),
    "DevicesDetection.getType": visit_report(DEVICE_TYPES),
    "DevicesDetection.getBrowsers": visit_report(BROWSERS),
    "DevicesDetection.getOsFamilies": visit_report(OS_FAMILIES),
    "UserCountry.getCountry": visit_report(COUNTRIES),
    "Live.getLastVisitsDetails": last_visits,
}
#: methods that read a site (idSite required), and those that need a period and date as well
NEEDS_SITE = frozenset(METHODS) - {
    "API.getMatomoVersion",
    "API.getPiwikVersion",
    "SitesManager.getSitesWithAtLeastViewAccess",
    "SitesManager.getSitesIdWithAtLeastViewAccess",
}
NEEDS_PERIOD = NEEDS_SITE - {"SitesManager.getSiteFromId", "Live.getLastVisitsDetails"}
MODULES = frozenset(name.split(".")[0] for name in METHODS) | {"API"}


def method_named(name: str) -> Method:
    """The method, or Matomo's error for a missing, malformed or unknown one."""
    if not name:
        raise ApiError("Please specify a value for 'method'.")
    module, dot, action = name.partition(".")
    if not dot or not module or not action or "." in action:
        raise ApiError("The method name is invalid. Expected 'module.methodName'")
    if module not in MODULES:
        raise ApiError(
            f"The plugin {module[:40]} is not enabled. You can activate the plugin on Settings > Plugins "
            "page in Matomo."
        )
    method = METHODS.get(name)
    if method is None:
        raise BadRequest(
            f"The method '{action[:60]}' does not exist or is not available in the module "
            f"'\\Piwik\\Plugins\\{module}\\API'."
        )
    return method
