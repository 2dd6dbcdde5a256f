"""Properties of the masking and DOM codec over generated inputs (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.ingest.masking import BULLET, mask_input_value, mask_pii, shape_mask
from tests.support.dom import Node, read_nodes, write_event

emails = st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{2,10}\.(com|org|fr|de)", fullmatch=True)
cards = st.sampled_from(["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"])
words = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


@given(st.text(max_size=200))
def test_masking_property_input_values_keep_no_character(value: str) -> None:
    masked = mask_input_value(value)
    if value in ("true", "false"):
        assert masked == value
    else:
        assert set(masked) <= {BULLET, " "}
        assert len(masked) >= len(value) or len(masked) == 0 and not value


@given(words, emails, words)
def test_masking_property_emails_never_survive_in_text(before: str, email: str, after: str) -> None:
    assert email not in mask_pii(f"{before} {email} {after}")


@given(words, cards, st.sampled_from(["", " ", "-"]), words)
def test_masking_property_card_numbers_never_survive(before: str, card: str, sep: str, after: str) -> None:
    spaced = sep.join(card[i : i + 4] for i in range(0, len(card), 4))
    masked = mask_pii(f"{before} {spaced} {after}")
    assert spaced not in masked and card not in masked.replace(" ", "").replace("-", "")


@given(st.text(max_size=100))
def test_masking_property_shape_mask_keeps_length_and_hides_letters_and_digits(text: str) -> None:
    masked = shape_mask(text)
    assert len(masked) == len(text)
    assert not any(c.isalnum() for c in masked if c not in "▪▫")


node_strings = st.lists(
    st.sampled_from(["DIV", "*T", "A", "class=x", "href=/a", "hello", "\n", "id=1"]), min_size=1, max_size=6
)
nodes = st.lists(st.tuples(st.integers(min_value=2, max_value=500), node_strings), min_size=1, max_size=30)


@settings(max_examples=300)
@given(nodes)
def test_masking_property_dom_stream_round_trips_with_back_references(generated: list[Any]) -> None:
    original = [Node([node_id, 1], strings[0], list(strings[1:])) for node_id, strings in generated]
    event = write_event(100, 5, original)
    decoded = read_nodes(event)
    assert [(n.numbers, n.tag, n.strings) for n in decoded] == [(n.numbers, n.tag, n.strings) for n in original]
    assert all(isinstance(t, (int, str, list)) for t in event)
