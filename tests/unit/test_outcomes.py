"""The outcome format, the heroin-equivalent table and the tier it suggests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import policy as policy_module
from bot.domain.errors import OutcomeFormat, OutcomeNoCase, OutcomeNoteTooLong, OutcomeUnknownDrug
from bot.domain.outcome import (
    Seizure,
    format_grams,
    heroin_equivalent_mg,
    parse_outcome,
    suggested_tier,
)

POLICY = policy_module.load(None)
DRUGS = POLICY.outcomes.drugs
TIERS = POLICY.rewards.tiers


def test_the_suggested_format_parses() -> None:
    entry = parse_outcome(
        "case 2026-123; arrested 2; heroin 50g; meth 1.2kg; note: van seized; two phones", DRUGS
    )
    assert entry.case_number == "2026-123"
    assert entry.arrested == 2
    assert entry.seizures == (Seizure("heroin", 50_000), Seizure("meth", 1_200_000))
    assert entry.note == "van seized; two phones"


def test_forgiving_order_case_names_chinese_and_repeats_add_up() -> None:
    entry = parse_outcome("冰毒 30克；案号：GA-2026/7；抓获 3人；ICE 0.5 g；备注：车一辆", DRUGS)
    assert entry.case_number == "GA-2026/7"
    assert entry.arrested == 3
    assert entry.seizures == (Seizure("meth", 30_500),)
    assert entry.note == "车一辆"
    assert parse_outcome("Case 7\nOpium 2 KG", DRUGS).seizures == (Seizure("opium", 2_000_000),)
    assert parse_outcome("case x1", DRUGS).arrested == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("arrested 2; heroin 5g", OutcomeNoCase),
        ("case 1; arrested two", OutcomeFormat),
        ("case 1; heroin five grams", OutcomeFormat),
        ("case 1; unobtainium 5g", OutcomeUnknownDrug),
        ("case 1; heroin 0g", OutcomeFormat),
        ("case 1; hello", OutcomeFormat),
        ("case <b>1</b>", OutcomeFormat),
        ("case 1; note: " + "x" * 501, OutcomeNoteTooLong),
    ],
)
def test_clear_errors(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_outcome(text, DRUGS)


def test_heroin_equivalent_follows_the_table() -> None:
    factors = {d.key: d.heroin_factor for d in DRUGS}
    assert factors["heroin"] == factors["meth"] == Decimal(1)
    assert factors["opium"] == Decimal("0.05")
    seized = (Seizure("heroin", 50_000), Seizure("opium", 1_000_000), Seizure("ketamine", 10_000))
    assert heroin_equivalent_mg(seized, DRUGS) == 50_000 + 50_000 + 1_000


@pytest.mark.parametrize(
    ("grams", "tier"),
    [
        ("0.5", "seized_lt_10g"),
        ("9.999", "seized_lt_10g"),
        ("10", "seized_10_50g"),
        ("49", "seized_10_50g"),
        ("50", "seized_50_500g"),
        ("999", "seized_500g_1kg"),
        ("1000", "seized_1_10kg"),
        ("15000", "seized_10_20kg"),
        ("20000", "seized_20_50kg"),
        ("99999", "seized_50_100kg"),
        ("250000", "seized_over_100kg"),
    ],
)
def test_suggested_tier_over_the_table(grams: str, tier: str) -> None:
    found = suggested_tier(TIERS, int(Decimal(grams) * 1000))
    assert found is not None and found.key == tier


def test_no_seizure_suggests_nothing_and_unmapped_tiers_are_never_suggested() -> None:
    assert suggested_tier(TIERS, 0) is None
    mapped = [t.key for t in TIERS if t.seized_from_mg is not None]
    assert "factory" not in mapped and "group_use_3_4" not in mapped
    assert len(mapped) == 9


def test_a_seizure_of_mixed_drugs_is_graded_in_heroin() -> None:
    entry = parse_outcome("case 9; meth 40g; opium 400g", DRUGS)
    heroin = heroin_equivalent_mg(entry.seizures, DRUGS)
    assert heroin == 60_000
    found = suggested_tier(TIERS, heroin)
    assert found is not None and found.key == "seized_50_500g"


def test_format_grams() -> None:
    assert format_grams(50_000) == "50 g"
    assert format_grams(1_200_000) == "1.2 kg"
    assert format_grams(500) == "0.5 g"
    assert format_grams(10_000_000) == "10 kg"


def test_policy_refuses_overlapping_names_and_bad_ranges() -> None:
    doc = policy_module.shipped_document()
    doc["outcomes"]["drugs"][1]["names"] = ["heroin"]
    with pytest.raises(policy_module.PolicyError, match="share the name"):
        policy_module.parse(doc)
    doc = policy_module.shipped_document()
    doc["rewards"]["tiers"][0]["seized_below_g"] = 0
    with pytest.raises(policy_module.PolicyError):
        policy_module.parse(doc)
