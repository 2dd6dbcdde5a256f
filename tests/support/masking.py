"""Helpers of tests/test_masking.py that other test modules use too."""

from __future__ import annotations

from typing import Any

from tests.support.collector import clarity_fixture

EMAIL = "jane.doe@example.com"


CARD = "4111 1111 1111 1111"


CARD_COMPACT = "4111111111111111"


PHONE = "+49 30 1234567"


IBAN = "DE89 3704 0044 0532 0130 00"


NAME = "Jane Pagename"


TYPED_NAME = "Jane Typedname"


def forged_payload() -> dict[str, Any]:
    """A consented payload whose client 'forgot' to mask: raw values in every field that carries text."""
    base = clarity_fixture("default_001").document
    envelope = list(base["e"])
    envelope[11] = f"https://shop.example/checkout?email={EMAIL}&utm_source=news&step=2#token=hunter2"
    dom = [
        50,
        5,
        60,
        6,
        None,
        "DIV",
        "title=Account of " + NAME,
        "data-user=" + EMAIL,
        "class=profile",
        61,
        60,
        "*T",
        f"Hello {NAME}, your card {CARD} and IBAN {IBAN}",
        62,
        60,
        61,
        "INPUT",
        "type=text",
        "value=" + EMAIL,
        "placeholder=" + PHONE,
        63,
        60,
        62,
        "A",
        f"href=mailto:{EMAIL}",
        "aria-label=Write to " + NAME,
        64,
        60,
        63,
        "A",
        "href=https://shop.example/account?email=" + EMAIL + "&ok=1",
    ]
    dom = [t for t in dom if t is not None]
    analytics = [
        [100, 47, 5, 1, 1],
        [200, 27, 62, EMAIL, 1],
        [210, 27, 62, CARD_COMPACT, 1],
        [215, 27, 62, TYPED_NAME, 1],
        [220, 42, 62, "text", "hunter2 " + EMAIL, "3riq8z"],
        [
            300,
            9,
            61,
            10,
            20,
            1,
            1,
            0,
            0,
            0,
            f"{NAME} {EMAIL}",
            f"https://x.example/?email={EMAIL}",
            "a.b",
            1,
            1,
            10,
            10,
            "div",
            "",
            "",
            0,
        ],
        [400, 24, "signup", f"newsletter <{EMAIL}>"],
        [410, 34, "plan", ["pro"], "userHint", [EMAIL], "userId", ["a" * 64]],
        [
            420,
            1,
            1,
            [envelope[11]],
            2,
            [f"https://ref.example/?mail={EMAIL}"],
            3,
            [f"Order for {EMAIL}"],
            0,
            ["Mozilla/5.0 SecretBrowser"],
        ],
        [430, 31, f"Error for {EMAIL}", 1, 1, f"at {PHONE}", "https://shop.example/app.js?token=hunter2"],
        [440, 777, {"nested": [f"raw {IBAN}"]}],
    ]
    return {"e": envelope, "a": analytics, "p": [dom]}
