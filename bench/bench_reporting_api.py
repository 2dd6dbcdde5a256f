"""Reporting API benchmark: the panels behind Matomo's methods (dashboards/matomo_reports.py) on generated
traffic, beside the dashboards' overview panel timed the same way in the same run (the baseline).

Generates `--events` rows of `events` with bench_queries' traffic model into a fresh embedded ClickHouse,
then times through `run_panel`, each `--runs` times after a warm-up:

- the overview (baseline), 30 days;
- visit_metrics (VisitsSummary.get), 1 and 30 days; by country (UserCountry.getCountry), 30 days;
- VisitsSummary.get with date=last30: the 30 one-day queries the API runs for it;
- page_metrics (Actions.getPageUrls), action_metrics (Actions.get), event_metrics (Events.getCategory),
  last_visits (Live.getLastVisitsDetails, 100 visits), 30 days;
- VisitsSummary.get with `segment=referrerType==search` (an unsaved segment definition, as the API
  applies it) beside the same visits through the channel filter, and with an OR/AND segment that reads
  page views, 30 days;
- the segments computed from a visit's rows (`actions>=3`, `visitorType==returning`, which reads every
  visit of the site up to the period's end, `referrerKeyword==…`, `userId==…`), 30 days.

`--segments-only` times just the baseline and the segments.

Prints p50/p95 in milliseconds (wall clock on a shared machine: read orders of magnitude).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from bench.bench_queries import BENCH_SITE, DATABASE, generate, percentile, timed
from dashboards.matomo_api.segment import parse_segment
from dashboards.model import Filters, Query
from dashboards.queries import PANELS, parse_query, run_panel
from dashboards.segments import with_definition
from ingest_schema.hashing import Hasher, user_id_hash
from ingest_schema.storage import Storage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--segments-only", action="store_true", help="time only the baseline and the segments")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-reporting-api-"))
    try:
        storage = Storage(f"chdb://{folder / 'clickhouse'}", DATABASE)
        storage.migrate()
        print(f"generating {args.events:,} events", file=sys.stderr)
        generate(storage, args.events, args.days, args.seed, int(time.time() * 1000))
        latest = storage.query_rows("SELECT max(last_at) FROM `analytics`.`pageviews`")[0][0]
        now = latest.replace(tzinfo=timezone.utc) if latest.tzinfo is None else latest
        month = parse_query(PANELS["overview"], {"site": BENCH_SITE, "period": "30d"}, now=now)
        day = parse_query(PANELS["overview"], {"site": BENCH_SITE, "period": "today"}, now=now)

        def panel(name: str, query: Query, **options: str) -> Callable[[], Any]:
            q = replace(query, options=options, limit=100)
            return lambda: run_panel(storage, PANELS[name], q)

        def last30() -> None:
            for n in range(30):
                first = month.period.first_day + timedelta(days=n)
                run_panel(
                    storage,
                    PANELS["visit_metrics"],
                    replace(month, period=replace(month.period, first_day=first, last_day=first)),
                )

        def segmented(text: str) -> Callable[[], Any]:
            definition = parse_segment(text, lambda user: user_id_hash(Hasher(b"bench"), BENCH_SITE, user))
            assert definition is not None
            q = with_definition(replace(month, options={}, limit=100), definition, text)
            return lambda: run_panel(storage, PANELS["visit_metrics"], q)

        cases = [
            ("baseline: overview panel, 30 days", panel("overview", month)),
            ("VisitsSummary.get (visit_metrics), 1 day", panel("visit_metrics", day)),
            ("VisitsSummary.get (visit_metrics), 30 days", panel("visit_metrics", month)),
            ("VisitsSummary.get date=last30 (30 queries)", last30),
            ("UserCountry.getCountry (by country), 30 days", panel("visit_metrics", month, by="country")),
            ("Actions.getPageUrls (page_metrics), 30 days", panel("page_metrics", month, by="url")),
            ("Actions.get (action_metrics), 30 days", panel("action_metrics", month)),
            ("Events.getCategory (event_metrics), 30 days", panel("event_metrics", month)),
            ("Live.getLastVisitsDetails (last_visits, 100), 30 days", panel("last_visits", month)),
            (
                "VisitsSummary.get, channel filter search, 30 days",
                panel("visit_metrics", replace(month, filters=Filters(channel="search"))),
            ),
            ("VisitsSummary.get segment=referrerType==search, 30 days", segmented("referrerType==search")),
            (
                "VisitsSummary.get segment=…search,…social;pageUrl=@pricing",
                segmented("referrerType==search,referrerType==social;pageUrl=@pricing"),
            ),
            ("VisitsSummary.get segment=actions>=3, 30 days", segmented("actions>=3")),
            ("VisitsSummary.get segment=visitorType==returning, 30 days", segmented("visitorType==returning")),
            ("VisitsSummary.get segment=referrerKeyword==spring, 30 days", segmented("referrerKeyword==spring")),
            ("VisitsSummary.get segment=userId==someone, 30 days", segmented("userId==someone")),
        ]
        if args.segments_only:
            cases = [c for c in cases if c[0].startswith(("baseline", "VisitsSummary.get segment="))]
        visits = run_panel(storage, PANELS["visit_metrics"], replace(month, options={})).records()[0]["visits"]
        print(f"{args.events:,} events; site {BENCH_SITE!r}: {visits:,} visits in the 30 days timed")
        for label, fn in cases:
            times, _ = timed(fn, args.runs, warmup=1)
            print(f"  {label:55} p50 {percentile(times, 0.5):8.1f}  p95 {percentile(times, 0.95):8.1f} ms")
        storage.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
