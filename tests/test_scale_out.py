"""Scale-out on one host: consent verdicts must not depend on which collector process gets an upload.

Two collector apps on one data folder and one database (two processes of one host, as several
collectors behind a round-robin balancer are): the uploads of one page view alternate between them.
"""

from __future__ import annotations

from typing import Any

from tests.support.collector import clarity_fixture, clarity_fixture_names, make_site


async def test_scale_out_consent_of_a_page_view_reaches_every_process_at_once(collector_factory: Any) -> None:
    """relaxed_* is one page view granted (loader mode) in its first upload; its later uploads land on
    the other process before the ledger row reaches ClickHouse (the writer drains once an hour here)."""
    site = make_site(consent="loader")
    first = await collector_factory(site, batch_interval_ms=3_600_000)
    second = await collector_factory(site, batch_interval_ms=3_600_000, database=first.storage.database)
    names = clarity_fixture_names("relaxed_")
    for number, name in enumerate(names):
        target = (first, second)[number % 2]
        assert await target.send(clarity_fixture(name)) == 204
    await first.flush()
    await second.flush()
    expected_events = sum(len(clarity_fixture(n).document["a"]) for n in names)
    assert first.count("playback") == len(names), "every consented upload stored, whichever process got it"
    assert first.count("events") == expected_events
