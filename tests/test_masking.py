"""Server-side masking: typed personal data sent by a careless or forged client never reaches a row."""

from __future__ import annotations

import numpy
import orjson
import pytest

from collector.core.sites import DEFAULT_SENSITIVE_PARAMS, MaskingMode
from collector.ingest.clarity.dom import iter_nodes
from collector.ingest.clarity.mask import mask_events
from collector.ingest.masking import clean_url, mask_input_value, mask_pii
from collector.ingest.policy import MaskPolicy
from ingest_schema import codes as ev
from ingest_schema.hashing import Hasher
from tests.support.collector import (
    DESKTOP_UA,
    ORIGIN,
    CollectorFactory,
    RunningCollector,
    clarity_fixture,
    make_site,
    stop_collector,
)
from tests.support.masking import CARD, CARD_COMPACT, EMAIL, IBAN, PHONE, TYPED_NAME, forged_payload

SECRETS = (EMAIL, CARD, CARD_COMPACT, PHONE, IBAN, "jane.doe%40example.com", "Typedname", "hunter2")


def _all_stored_text(collector: RunningCollector) -> str:
    """Every String and Array(String) column of every table, as one text."""
    parts = []
    database = collector.storage.database
    columns = collector.rows(
        "SELECT table, name FROM system.columns WHERE database = '{db}' AND (type LIKE '%String%')"
    )
    for table, column in columns:
        for (value,) in collector.storage.query_rows(f"SELECT toString(`{column}`) FROM `{database}`.`{table}`"):
            parts.append(str(value))
    return "\n".join(parts)


@pytest.mark.parametrize("mode", ["strict", "balanced", "relaxed"])
async def test_masking_no_typed_personal_data_in_any_stored_column(
    collector_factory: CollectorFactory, mode: str
) -> None:
    collector = await collector_factory(make_site(masking=mode, sensitive_params=["step"]))
    status, _, _ = await collector.post(
        "/collect", orjson.dumps(forged_payload()), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    assert status == 204
    await collector.flush()
    assert collector.count("playback") == 1 and collector.count("events") > 5
    stored = _all_stored_text(collector)
    for secret in SECRETS:
        assert secret not in stored, f"{secret!r} stored in {mode} mode"
    assert "SecretBrowser" not in stored, "the user agent is never stored"
    assert "step=" not in stored, "a site's sensitive parameter is removed from URLs"
    assert "utm_source=news" in stored, "campaign parameters survive on the page URL"
    values = [r[0] for r in collector.rows("SELECT value FROM {db}.events WHERE type = 27 ORDER BY ts")]
    assert values == [mask_input_value(EMAIL), mask_input_value(CARD_COMPACT), mask_input_value(TYPED_NAME)]
    assert all(set(v) <= {"•", " "} for v in values)


async def test_masking_modes_differ_on_visible_text(collector_factory: CollectorFactory) -> None:
    """Strict keeps only text lengths; balanced masks words with digits or '@'; relaxed keeps words.
    Names in page text are masked in strict mode only (Clarity's own modes); typed names always."""
    texts = {}
    for mode in ("strict", "balanced", "relaxed"):
        collector = await collector_factory(make_site(masking=mode))
        await collector.post("/collect", orjson.dumps(forged_payload()), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA})
        await collector.flush()
        payload = orjson.loads(collector.rows("SELECT payload FROM {db}.playback")[0][0])
        texts[mode] = orjson.dumps(payload).decode()
        await stop_collector(collector)
    assert "Hello" not in texts["strict"] and "Hello" in texts["balanced"] and "Hello" in texts["relaxed"]
    assert "Pagename" not in texts["strict"] and "Pagename" in texts["relaxed"]
    assert all("Typedname" not in text for text in texts.values())


def test_masking_helpers_cover_card_iban_phone_email_and_url_parameters() -> None:
    assert EMAIL not in mask_pii(f"write to {EMAIL}")
    assert CARD not in mask_pii(f"card {CARD}")
    assert "4111111111111112" in mask_pii("not a card 4111111111111112"), "Luhn check keeps other numbers"
    assert "0532" not in mask_pii(f"iban {IBAN}")
    assert "1234567" not in mask_pii(f"call {PHONE}")
    assert "2026-11-25" in mask_pii("on 2026-11-25"), "dates are not phone numbers"
    raw_url = f"https://u:pw@x.example/p?email={EMAIL}&q=shoes&token=abc#access_token=zzz"
    url = clean_url(raw_url, DEFAULT_SENSITIVE_PARAMS)
    assert url == "https://x.example/p?q=shoes"
    assert mask_input_value("true") == "true" and mask_input_value("Jane Doe 42") == "••••• •••• ••••"


async def test_masking_identify_user_id_is_a_keyed_hash_on_the_page_view(loader_collector: RunningCollector) -> None:
    import hashlib

    from ingest_schema.hashing import Hasher

    document = clarity_fixture("default_001").document
    raw_id_sha = hashlib.sha256(b"customer-42").hexdigest()
    document["a"].append([300, 34, "userId", [raw_id_sha], "userHint", ["cust…42"]])
    await loader_collector.post("/collect", orjson.dumps(document), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA})
    await loader_collector.flush()
    expected = Hasher(b"test-secret-key").user("proj123", raw_id_sha)
    assert loader_collector.rows("SELECT max(user_hash) FROM {db}.pageviews") == [(expected,)]
    assert raw_id_sha not in _all_stored_text(loader_collector)


@pytest.mark.parametrize("mode", ["strict", "balanced", "relaxed"])
def test_masking_a_forged_text_node_is_masked_whatever_it_carries(mode: MaskingMode) -> None:
    """clarity-js sends one string per text node, and a negative id for text it mangled itself; a forged
    client may send several strings, or raw text under a negative id. Every one is masked on the server."""
    policy = MaskPolicy(mode, frozenset(), 10_000, Hasher(b"k"), "proj123")
    email, card = "jane.doe@example.com", "4111 1111 1111 1111"
    discover = [
        100,
        ev.DISCOVER,
        1, "HTML",
        2, 1, "BODY",
        3, 2, "*T", f"write to {email}", "the real text",
        -4, 2, "*T", f"card {card}",
        -5, 2, "*T", " 1a ",
    ]  # fmt: skip
    [masked] = mask_events([discover], policy)
    stored = orjson.dumps(masked).decode()
    assert email not in stored and card not in stored and "4111" not in stored, stored
    texts = {abs(numbers[0]): strings[1:] for numbers, strings in iter_nodes(masked)}
    assert texts[5] == [" 1a "], "a length clarity-js wrote is kept for the replay"
    if mode == "strict":
        lengths = [f"write to {email}", "the real text", f"card {card}"]
        expected = [numpy.base_repr(len(text), 36).lower() for text in lengths]  # only each length survives
        assert texts[3] + texts[4] == expected, texts
