"""Campaign links end to end: `/start <key>` from a poster's QR code opens a tip with the
campaign's category and area chosen; the stored tip keeps the key and /stats counts it. An
unknown or malformed parameter gives the usual welcome and nothing else."""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e.conftest import REVIEW_CHAT, RunningBot, make_settings, write_policy
from tests.e2e.flows import added, submit

CAMPAIGN = "north-venues_2026"
CAMPAIGN_POLICY = f"""
[[intake.areas]]
key = "north"
en = "North district"
zh = "北区"
level = "district"

[[intake.areas]]
key = "south"
en = "South district"
zh = "南区"
level = "district"

[[campaigns]]
key = "{CAMPAIGN}"
en = "North district: drug venues"
zh = "北区：吸毒场所线索征集"
category = "drug_use_venue"
area = "north"

[[campaigns]]
key = "citywide"
en = "City-wide poster"
zh = "全市宣传海报"
"""


@pytest.fixture
async def bot(fake, tmp_path):  # overrides the shared fixture: a policy with campaigns
    policy = write_policy(tmp_path / "campaign-policy.toml", CAMPAIGN_POLICY)
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy))
    await running.start()
    yield running
    await running.stop()


def _stored_campaigns(bot: RunningBot) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(bot.settings.data_dir / "tipline.sqlite3") as conn:
        rows = conn.execute("SELECT reference, campaign, category FROM reports ORDER BY id")
        return [(row[0], row[1], row[2]) for row in rows]


async def test_a_campaign_link_chooses_category_and_area_and_the_tip_keeps_its_key(
    fake, bot: RunningBot
) -> None:
    tipster = fake.add_user(5550007001, "Poster Reader", language_code="zh-hans")
    fake.user_sends_text(tipster, f"/start {CAMPAIGN}")
    chosen = await fake.wait_for_message(
        tipster.id, lambda m: "北区：吸毒场所线索征集" in m["_plain"]
    )
    assert (
        "容留、聚众吸毒场所" in chosen["_plain"] and "地区（由海报选定）：北区" in chosen["_plain"]
    )
    # The category and the area are chosen: the bot asks for the tip itself at once.
    prompt = await fake.wait_for_message(tipster.id, lambda m: "v1:t:review" in fake.button_data(m))
    sent = fake.messages_in(tipster.id)
    assert sent[0]["message_id"] < chosen["message_id"] < prompt["message_id"]  # welcome first
    assert not [d for m in sent for d in fake.button_data(m) if d.startswith("v1:t:cat:")]

    fake.user_sends_text(tipster, "CANARY-CAMPAIGN needles in the stairwell every night")
    await added(fake, tipster)
    await submit(fake, tipster)
    card = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "CANARY-CAMPAIGN" in m["_plain"], timeout=10
    )
    assert "A place where people use drugs" in card["_plain"]
    assert "North district" in card["_plain"]
    reference = card["_plain"].split()[2]
    assert _stored_campaigns(bot) == [(reference, CAMPAIGN, "drug_use_venue")]


async def _start_then_help(fake, user, text: str) -> list[str]:
    """What the bot says to `text` and then /help. Updates of one sender are handled in
    order, so once /help is answered the first one is done: nothing more can follow it."""
    fake.user_sends_text(user, text)
    fake.user_sends_text(user, "/help")
    await fake.wait_for_message(user.id, lambda m: "How this tip line works" in m["_plain"])
    return [m["_plain"] for m in fake.messages_in(user.id)]


@pytest.mark.parametrize(
    "parameter",
    ["unknown-campaign", "x" * 65, "north venues", "北区", CAMPAIGN.upper(), "citywide extra"],
)
async def test_an_unknown_or_malformed_start_parameter_starts_normally(
    fake, bot: RunningBot, parameter: str
) -> None:
    plain = await _start_then_help(fake, fake.add_user(5550007002, "Plain"), "/start")
    tipster = fake.add_user(5550007003, "Curious")
    # The same messages as a plain /start: no campaign, no draft, and no error.
    assert await _start_then_help(fake, tipster, f"/start {parameter}") == plain
    fake.user_sends_text(tipster, "hello?")
    await fake.wait_for_message(tipster.id, lambda m: "To send a tip, press" in m["_plain"])
    assert _stored_campaigns(bot) == []
