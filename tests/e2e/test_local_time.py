"""Times people are shown are in the policy's zone and say which: the card, /tip and /status,
at a moment when the local date is not the UTC date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import REVIEW_CHAT, REVIEWER, Clock, RunningBot, make_settings
from tests.e2e.review_flows import answer_of, card_shows, press, tip_with_card

TIPSTER_ID = 8400000001
# 20:30:15 UTC on 7 October 2026: already the 8th in Shanghai, still the 7th in São Paulo.
MOMENT = datetime(2026, 10, 7, 20, 30, 15, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("extra", "claimed_at", "day"),
    [
        ("", "2026-10-08 04:30 UTC+8", "2026-10-08"),  # the shipped Asia/Shanghai
        (
            '[locale]\ntimezone = "America/Sao_Paulo"\n',
            "2026-10-07 17:30 UTC-3",
            "2026-10-07",
        ),
    ],
)
async def test_the_card_tip_and_status_show_the_policys_local_time(
    fake, tmp_path: Path, extra: str, claimed_at: str, day: str
) -> None:
    policy = tmp_path / "zone-policy.toml"
    policy.write_text("[review]\npost_delay_max_seconds = 0\n" + extra, encoding="utf-8")
    clock = Clock()
    clock.now = MOMENT
    bot = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await bot.start()
    try:
        anna = fake.add_user(REVIEWER, "AnnaReviewer")
        tipster = fake.add_user(TIPSTER_ID, "Tipster")
        receipt, ref = await tip_with_card(fake, tipster, "Zone canary: a van at the pier")
        await answer_of(fake, press(fake, anna, ref, "claim"))

        card = await card_shows(fake, ref, "in review")
        assert f"Last: claimed by AnnaReviewer, {claimed_at}" in card["_plain"]

        sent = fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)
        tip = await fake.wait_for_message(
            REVIEW_CHAT,
            lambda m: m["message_id"] > sent["message_id"] and "received" in m["_plain"],
        )
        assert f"received {day}" in tip["_plain"]  # the tipster's action: the date only
        assert f"{claimed_at} · AnnaReviewer claimed" in tip["_plain"]

        fake.user_sends_text(tipster, f"/status {receipt}")
        status = await fake.wait_for_message(tipster.id, lambda m: "(received" in m["_plain"])
        assert f"(received {day})" in status["_plain"]
    finally:
        await bot.stop()
