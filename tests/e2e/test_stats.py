"""/stats end to end: a chart (a PNG) and a caption whose numbers match the data, in the
review chat (that chat's tips only) and in the finance chat; nothing of a tip's text."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from tests.e2e.conftest import (
    FINANCE_CHAT,
    REVIEW_CHAT,
    RunningBot,
    make_settings,
    run_cli,
    write_policy,
)
from tests.e2e.review_flows import answer_of, card_shows, press, tip_with_card
from tests.e2e.test_cli import _env
from tests.e2e.test_outcomes import _outcome
from tests.e2e.test_rewards import _people, _propose


@pytest.fixture
async def bot(fake, tmp_path):  # overrides the shared fixture: many posts to one group
    extra = "[telegram]\ngroup_messages_per_minute = 0\n"
    policy = write_policy(tmp_path / "stats-policy.toml", extra)
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy))
    await running.start()
    yield running
    await running.stop()


def _png(message: dict) -> Image.Image:
    data = message["_upload"]["data"]
    assert 10_000 < len(data) < 1_000_000
    image = Image.open(io.BytesIO(data))
    image.verify()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width >= 600 and image.height >= 500
    return image


async def test_stats_send_a_chart_whose_numbers_match_the_data(
    fake, bot: RunningBot, tmp_path
) -> None:
    anna, _, _, _ = _people(fake)
    refs = []
    for n in range(6):
        tipster = fake.add_user(8300000000 + n, f"Tipster{n}")
        _, ref = await tip_with_card(fake, tipster, f"CANARY-STATS tip number {n} at the docks")
        refs.append(ref)
    for ref in refs[:2]:
        await answer_of(fake, press(fake, anna, ref, "claim"))
        await card_shows(fake, ref, "in review")
    await answer_of(fake, press(fake, anna, refs[0], "verify"))
    await card_shows(fake, refs[0], "verified")
    await _outcome(fake, anna, refs[0], "case S-1; arrested 7; heroin 60g", "Outcome recorded")
    await _propose(fake, anna, refs[0], "seized_50_500g", "Seized 60 g")

    fake.user_sends_text(anna, "/stats", chat_id=REVIEW_CHAT)
    chart = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendPhoto")
    _png(chart)
    caption = chart["_plain"]
    assert ": 6 tips." in caption  # six tips this month
    assert "Unclaimed past their reminder: 0" in caption
    assert "Outcomes recorded: <5; arrested: 7; seized: 60 g" in caption
    assert "CANARY" not in caption and "AnnaReviewer" not in caption

    fake.user_sends_text(anna, "/stats 2019-01", chat_id=REVIEW_CHAT)
    empty = await fake.wait_for_message(REVIEW_CHAT, lambda m: m.get("method") == "sendPhoto")
    assert "2019-01: 0 tips" in empty["_plain"]
    fake.user_sends_text(anna, "/stats yesterday", chat_id=REVIEW_CHAT)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "Usage: /stats" in m["_plain"])

    fake.user_sends_text(anna, "/stats", chat_id=FINANCE_CHAT)
    money = await fake.wait_for_message(FINANCE_CHAT, lambda m: m.get("method") == "sendPhoto")
    _png(money)
    assert "<5 proposed (¥1,000.00), 0 approved (¥0.00)" in money["_plain"]
    assert "Budget: none" in money["_plain"]

    # The CLI writes the same aggregates (read beside the data; the bot may be stopped or not).
    await bot.stop()
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the policy's zone
    env = _env(tmp_path, fake, TIPLINE_POLICY_FILE=str(bot.settings.policy_file))
    code, out, err = await run_cli(tmp_path, env, "stats", "--month", month, "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    cells = {(r["section"], r["key"], r["detail"]): r["value"] for r in rows if r["period"]}
    weekly = [r["value"] for r in rows if r["section"] == "tips_per_week" and r["value"] != "0"]
    assert weekly == ["6"] or sorted(weekly) == ["<5", "<5"]  # six tips, maybe over two weeks
    assert cells[("backlog_now", "new", "")] == "<5"
    assert cells[("outcomes", "arrested", "")] == "7"
    assert cells[("outcomes", "heroin_eq_mg", "")] == "60000"
    assert cells[("rewards", "proposed", "amount_minor")] == "100000"
    assert "CANARY" not in out
