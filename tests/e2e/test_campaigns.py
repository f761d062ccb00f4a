"""Campaign links end to end: `/start <key>` from a poster's QR code opens a tip with the
campaign's category and area chosen; the stored tip keeps the key and /stats counts it. An
unknown or malformed parameter gives the usual welcome and nothing else."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from tests.e2e.conftest import (
    REVIEW_CHAT,
    REVIEWER,
    RunningBot,
    make_settings,
    run_cli,
    write_policy,
)
from tests.e2e.flows import added, send_text_tip, submit, wait_button
from tests.e2e.test_cli import _env

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
    fake, bot: RunningBot, tmp_path
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

    # A tip from the city-wide poster (nothing chosen: the category is asked) and a plain one.
    other = fake.add_user(5550007004, "Other Reader")
    fake.user_sends_text(other, "/start citywide")
    await wait_button(fake, other.id, "v1:t:cat:other")
    fake.user_presses(other, fake.messages_in(other.id)[-1], "v1:t:cat:other")
    await wait_button(fake, other.id, "v1:t:area-skip")
    fake.user_presses(other, fake.messages_in(other.id)[-1], "v1:t:area-skip")
    await wait_button(fake, other.id, "v1:t:review")
    fake.user_sends_text(other, "CANARY-CITYWIDE something else")
    await added(fake, other)
    await submit(fake, other)
    await send_text_tip(fake, fake.add_user(5550007005, "No Poster"), "CANARY-PLAIN a plain tip")
    await fake.wait_until(lambda: len(_stored_campaigns(bot)) == 3)
    assert [row[1] for row in _stored_campaigns(bot)] == [CAMPAIGN, "citywide", None]
    await fake.wait_until(
        lambda: sum("CANARY-" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT)) == 3,
        timeout=10,
    )

    # /stats counts the tips per campaign, in the policy's order, small counts as "<5".
    fake.user_sends_text(fake.add_user(REVIEWER, "AnnaReviewer"), "/stats", chat_id=REVIEW_CHAT)
    chart = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendPhoto")
    assert chart["_plain"].endswith(
        "From campaigns: North district: drug venues (<5); City-wide poster (<5)."
    )
    # And so does the CSV of `tipline stats` (this month, as the caption counts it).
    await bot.stop()
    env = _env(tmp_path, fake, TIPLINE_POLICY_FILE=str(bot.settings.policy_file))
    code, out, err = await run_cli(tmp_path, env, "stats", "--csv")
    assert code == 0, err
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["section"] == "tips_per_campaign"]
    assert [(r["review_chat"], r["key"], r["value"]) for r in rows] == [
        (str(REVIEW_CHAT), "citywide", "<5"),
        (str(REVIEW_CHAT), CAMPAIGN, "<5"),
    ]


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
    # A message now starts a plain tip: the category is asked, nothing was preselected.
    await fake.wait_for_message(tipster.id, lambda m: "What is it about?" in m["_plain"])
    assert _stored_campaigns(bot) == []
