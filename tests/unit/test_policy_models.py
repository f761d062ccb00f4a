"""The policy models: what an operator's file may say, and the one line read when it is wrong."""

from __future__ import annotations

import re

import pytest

from bot.domain.policy import (
    AreaLevel,
    ClaimMode,
    PolicyError,
    bot_username,
    load,
    parse,
    shipped_document,
)

CUSTOM = """\
[intake]
max_tips_per_day = 9
max_attachment_bytes = 5_000_000

[[intake.areas]]
key = "north"
en = " North district "
zh = "北区"

[[intake.areas]]
key = "south"
en = "South district"

[review]
post_delay_max_seconds = 0

[[review.routes]]
chat_id = -1001000000077
areas = ["north"]
categories = ["drug_production"]

[[review.routes]]
chat_id = -1001000000078
areas = ["south", "north"]

[rewards]
currency = "usd"
minor_per_major = 10
second_approval_above = 500
monthly_budget = 1000
reminder_days = [3, 14, 3, 7]
claim_mode = "code"
claim_instructions_en = "  Ask at the front desk.  "

[[rewards.tiers]]
key = "small"
en = "Small lead"
amount = 5

[[rewards.tiers]]
key = "factory"
en = "A drug factory"
zh = "制毒工厂"
min = 20
max = 200

[[rewards.tiers]]
key = "big"
en = "Big seizure"
min = 1000

[telegram]
messages_per_second = 0

[jobs]
sweep_seconds = 5

[retention]
days_after_close = 30

[digests]
review_weekday = 6
"""


def _load(tmp_path, text: str):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def test_an_existing_custom_policy_file_loads_with_the_same_values(tmp_path) -> None:
    policy = _load(tmp_path, CUSTOM)
    intake, review, rewards = policy.intake, policy.review, policy.rewards
    assert (intake.max_tips_per_day, intake.max_attachment_bytes, intake.max_text_chars) == (
        9,
        5_000_000,
        4000,
    )
    assert intake.categories[0].key == "drug_trafficking"
    assert [(a.key, a.label("en"), a.label("zh")) for a in intake.areas] == [
        ("north", "North district", "北区"),
        ("south", "South district", "South district"),
    ]
    assert review.post_delay_max_seconds == 0 and review.search_limit == 500
    assert [(r.chat_id, r.categories, r.areas) for r in review.routes] == [
        (-1001000000077, frozenset({"drug_production"}), frozenset({"north"})),
        (-1001000000078, frozenset(), frozenset({"south", "north"})),
    ]
    assert review.chat_for(-1, "drug_production", "north") == -1001000000077
    assert review.chat_for(-1, "other", "north") == -1001000000078
    assert review.chat_for(-1, "drug_production", None) == -1
    assert review.chats(-1) == [-1, -1001000000077, -1001000000078]
    assert (rewards.currency, rewards.minor_per_major, rewards.claim_mode) == (
        "USD",
        10,
        ClaimMode.CODE,
    )
    assert (rewards.second_approval_above_minor, rewards.monthly_budget_minor) == (5000, 10000)
    assert rewards.reminder_days == (14, 7, 3)
    assert rewards.claim_instructions["en"] == "Ask at the front desk."
    assert rewards.claim_instructions["zh"].startswith("请在周一至周五")
    assert rewards.notify_within_working_days == 15
    assert [(t.key, t.min_minor, t.max_minor, t.fixed) for t in rewards.tiers] == [
        ("small", 50, 50, True),
        ("factory", 200, 2000, False),
        ("big", 10000, None, False),
    ]
    factory = rewards.tier("factory")
    assert factory is not None and factory.label("zh") == "制毒工厂"
    assert factory.allows(200) and factory.allows(2000) and not factory.allows(2001)
    assert rewards.tier("seized_lt_10g") is None
    assert (policy.sweep_seconds, policy.retention_days, policy.outbox_days) == (5, 30, 30)
    assert (policy.flood.messages_per_second, policy.flood.group_messages_per_minute) == (0, 20)
    assert (policy.digests.review_weekday, policy.digests.finance_hour_utc) == (6, 1)


def test_the_shipped_document_parses_on_its_own() -> None:
    policy = parse(shipped_document())
    assert policy.rewards.tier("seized_lt_10g").min_minor == 30000
    assert policy.rewards.second_approval_above_minor == 1_000_000
    assert policy.rewards.claim_mode is ClaimMode.CODE_AND_ID


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[intake]\nmax_tip_per_day = 9\n", "[intake] max_tip_per_day is not a known key"),
        ("[intak]\nmax_tips_per_day = 9\n", "[intak] is not a known key"),
        (
            '[[intake.categories]]\nkey = "x"\nen = "X"\nlabel = "X"\n',
            "[intake] categories entry 1 label is not a known key",
        ),
        (
            '[[review.routes]]\nchat_id = -100\narea = ["north"]\ncategories = ["other"]\n',
            "[review] routes entry 1 area is not a known key",
        ),
        (
            '[[rewards.tiers]]\nkey = "x"\nen = "X"\namount = 5\nmaximum = 9\n',
            "[rewards] tiers entry 1 maximum is not a known key",
        ),
    ],
)
def test_an_unknown_key_is_refused_by_name(tmp_path, text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=f"^{re.escape(message)}$"):
        _load(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[intake]\nmax_tips_per_day = true\n", "[intake] max_tips_per_day must be a whole number"),
        ("[jobs]\nsweep_seconds = false\n", "[jobs] sweep_seconds must be a whole number"),
        ("[rewards]\nreminder_days = [14, true]\n", "[rewards] reminder_days entry 2 must be"),
        (
            '[[review.routes]]\nchat_id = true\ncategories = ["other"]\n',
            "[review] routes entry 1 chat_id must be a whole number",
        ),
        ('[intake]\nmax_tips_per_day = "5"\n', "[intake] max_tips_per_day must be a whole number"),
        ("[intake]\nmax_tips_per_day = 5.0\n", "[intake] max_tips_per_day must be a whole number"),
    ],
)
def test_a_whole_number_must_be_one(tmp_path, text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        _load(tmp_path, text)


def _tier(**fields: object) -> dict[str, object]:
    return {"rewards": {"tiers": [{"key": "t", "en": "Tier", **fields}]}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (_tier(amount=5, min=1), "[rewards] tiers entry 1 must give amount, or min and max"),
        (_tier(amount=5, max=9), "[rewards] tiers entry 1 must give amount, or min and max"),
        (_tier(max=9), "[rewards] tiers entry 1 needs amount, or min"),
        (_tier(min=10, max=9), "[rewards] tiers entry 1 max must be >= min (10)"),
        (_tier(amount=0), "[rewards] tiers entry 1 amount must be a whole number >= 1"),
        ({"rewards": {"tiers": []}}, "[rewards] tiers must list at least one"),
        (
            {"rewards": {"tiers": [{"key": "t", "en": "A", "amount": 1}] * 2}},
            "[rewards] tiers has the same key twice",
        ),
        ({"rewards": {"currency": "yuan"}}, "[rewards] currency must be a three-letter code"),
        ({"rewards": {"claim_mode": "cash"}}, "[rewards] claim_mode must be 'code' or"),
        ({"rewards": {"reminder_days": [14, 0]}}, "[rewards] reminder_days entry 2 must be"),
        ({"rewards": {"claim_instructions_en": " "}}, "[rewards] claim_instructions_en must not"),
        ({"rewards": {"minor_per_major": 0}}, "[rewards] minor_per_major must be a whole number"),
        (
            {"intake": {"areas": [{"key": "a" * 33, "en": "A"}]}},
            "[intake] areas entry 1 key must be at most 32",
        ),
        ({"intake": {"areas": [{"key": "9a", "en": "A"}]}}, "[intake] areas entry 1 key must be"),
        ({"intake": {"areas": [{"key": "a"}]}}, "[intake] areas entry 1 en is missing"),
        (
            {"intake": {"categories": [{"key": "a", "en": "A"}, {"key": "a", "en": "B"}]}},
            "[intake] categories has the same key twice",
        ),
        ({"intake": {"areas": [5]}}, "[intake] areas entry 1 must be a table"),
        (
            {"intake": {"max_attachments": -1}},
            "[intake] max_attachments must be a whole number >= 0",
        ),
        ({"review": {"routes": [{"chat_id": 5, "areas": []}]}}, "chat_id must be a group id"),
        ({"review": {"routes": [{"chat_id": -5}]}}, "routes entry 1 must name categories or areas"),
        (
            {"review": {"routes": [{"chat_id": -5, "categories": ["nope"]}]}},
            "[review] routes entry 1 categories must be known keys",
        ),
        (
            {"review": {"routes": [{"chat_id": -5, "areas": ["nope"]}]}},
            "[review] routes entry 1 areas must be keys of [[intake.areas]]",
        ),
        ({"digests": {"finance_hour_utc": 24}}, "[digests] finance_hour_utc must be at most 23"),
        ({"digests": {"review_weekday": 7}}, "[digests] review_weekday must be at most 6"),
        ({"telegram": 5}, "[telegram] must be a table"),
    ],
)
def test_each_rule_is_enforced_in_one_line(override: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)) as caught:
        load(None, override)
    assert "\n" not in str(caught.value)


def test_choice_keys_are_ascii_because_they_travel_in_callback_data() -> None:
    with pytest.raises(PolicyError, match="ASCII"):
        load(None, {"rewards": {"tiers": [{"key": "北区", "en": "North", "amount": 100}]}})


# ----- campaigns ---------------------------------------------------------------------------

_DISTRICTS = {
    "areas": [
        {"key": "north", "en": "North district", "zh": "北区", "level": "district"},
        {"key": "city", "en": "The whole city", "level": "city"},
        {"key": "harbour", "en": "Harbour estate", "level": "community"},
        {"key": "old_town", "en": "Old town", "level": "subdistrict"},
        {"key": "south", "en": "South"},
    ]
}


def _campaigns(*entries: dict[str, object]) -> dict[str, object]:
    return {"intake": _DISTRICTS, "campaigns": list(entries)}


def test_a_good_campaign_loads_with_its_category_and_district() -> None:
    policy = load(
        None,
        _campaigns(
            {
                "key": "North-2026_venues",
                "en": "North district: drug venues",
                "zh": "北区：吸毒场所",
                "category": "drug_use_venue",
                "area": "north",
            },
            {"key": "c" * 64, "en": "Everywhere", "area": "city"},
            {"key": "plain", "en": "No preselection"},
        ),
    )
    north = policy.campaign("North-2026_venues")
    assert north is not None
    assert (north.category, north.area, north.label("zh")) == (
        "drug_use_venue",
        "north",
        "北区：吸毒场所",
    )
    assert policy.campaign("c" * 64) is not None and policy.campaign("plain") is not None
    assert policy.intake.area("north").level is AreaLevel.DISTRICT
    # The shipped campaign is replaced by the file's list, as every list is.
    assert policy.campaign("citywide") is None
    assert load(None).campaign("citywide") is not None


@pytest.mark.parametrize(
    "parameter",
    [
        None,
        "",
        "nope",
        "north venues",
        "north\u00a0",
        "北区",
        "x" * 65,
        "north/../",
        "NORTH-2026_VENUES",
    ],
)
def test_an_unknown_or_malformed_start_parameter_names_no_campaign(parameter) -> None:
    policy = load(None, _campaigns({"key": "North-2026_venues", "en": "N", "area": "north"}))
    assert policy.campaign(parameter) is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"key": "n", "en": "N", "category": "nope"},
            "[campaigns] entry 1 (n) category must be a key of [[intake.categories]]",
        ),
        (
            {"key": "n", "en": "N", "area": "west"},
            "[campaigns] entry 1 (n) area must be a key of [[intake.areas]]",
        ),
        (
            {"key": "n", "en": "N", "area": "harbour"},
            "[campaigns] entry 1 (n) area harbour has level community: a campaign may only"
            ' name an area of level "district" or "city", never a narrower one',
        ),
        ({"key": "n", "en": "N", "area": "old_town"}, "area old_town has level subdistrict"),
        ({"key": "n", "en": "N", "area": "south"}, "area south has no level"),
        ({"key": "north venues", "en": "N"}, "[campaigns] entry 1 key must be 1 to 64 of A-Z"),
        ({"key": "x" * 65, "en": "N"}, "[campaigns] entry 1 key must be 1 to 64"),
        ({"key": "", "en": "N"}, "[campaigns] entry 1 key must be 1 to 64"),
        ({"key": "北区", "en": "N"}, "[campaigns] entry 1 key must be 1 to 64"),
        ({"key": 5, "en": "N"}, "[campaigns] entry 1 key must be text"),
        ({"key": "n"}, "[campaigns] entry 1 en is missing"),
        ({"key": "n", "en": "N", "district": "north"}, "entry 1 district is not a known key"),
    ],
)
def test_a_bad_campaign_is_refused_in_one_line(entry: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)) as caught:
        load(None, _campaigns(entry))
    assert "\n" not in str(caught.value)


def test_two_campaigns_with_one_key_are_refused() -> None:
    with pytest.raises(PolicyError, match=re.escape("[campaigns] has the same key twice")):
        load(None, _campaigns({"key": "n", "en": "N"}, {"key": "n", "en": "M"}))


def test_an_area_level_is_one_of_the_known_ones() -> None:
    areas = {"areas": [{"key": "north", "en": "North", "level": "building"}]}
    with pytest.raises(PolicyError, match=re.escape("[intake] areas entry 1 level must be")):
        load(None, {"intake": areas})


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("tipline_bot", "tipline_bot"),
        (" @TiplineBot ", "TiplineBot"),
        ("abcbot", "abcbot"),
        ("a" * 29 + "bot", "a" * 29 + "bot"),
        ("a" * 30 + "bot", None),
        ("tipline", None),
        ("bot", None),
        ("9tipline_bot", None),
        ("tip-line_bot", None),
        ("https://t.me/tipline_bot", None),
    ],
)
def test_a_posters_link_needs_a_bots_username(typed: str, name: str | None) -> None:
    assert bot_username(typed) == name
    if name is not None:
        assert load(None).campaign("citywide").link(name) == f"https://t.me/{name}?start=citywide"


def test_the_top_reward_is_the_largest_amount_a_tier_names() -> None:
    assert load(None).rewards.top_amount_minor == 300_000 * 100  # special_contribution's max
