"""Receipts: enough randomness, readable groups, forgiving but exact normalisation."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import codes


def test_receipt_has_at_least_80_bits_in_readable_groups() -> None:
    receipt = codes.new_receipt()
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", receipt)
    bits = codes.RECEIPT_CHARS * math.log2(len(codes.ALPHABET))
    assert bits >= 80


def test_receipts_do_not_repeat() -> None:
    assert len({codes.new_receipt() for _ in range(2000)}) == 2000


def test_normalisation_forgives_case_spacing_and_lookalikes() -> None:
    receipt = codes.new_receipt()
    canonical = codes.normalize_receipt(receipt)
    assert canonical == receipt.replace("-", "")
    sloppy = " " + receipt.lower().replace("-", " ") + "\n"
    assert codes.normalize_receipt(sloppy) == canonical
    assert codes.normalize("O0IL-1111", 8) == "00111111"


@given(st.text(max_size=200))
def test_normalisation_never_accepts_a_wrong_length_or_alphabet(text: str) -> None:
    result = codes.normalize_receipt(text)
    if result is not None:
        assert len(result) == codes.RECEIPT_CHARS
        assert set(result) <= set(codes.ALPHABET)
