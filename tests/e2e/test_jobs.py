"""Scheduled work with a movable clock: unclaimed tips remind and escalate, unanswered
questions return to review, digests arrive; none of it twice."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.services import answers as answers_module
from tests.e2e.conftest import (
    FINANCE_CHAT,
    REVIEW_CHAT,
    REVIEWER,
    Clock,
    RunningBot,
    make_settings,
    write_policy,
)
from tests.e2e.review_flows import answer_of, card_shows, press, tip_with_card

HOUR, DAY = 3600, 86_400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake, tmp_path, clock):
    policy = write_policy(tmp_path / "jobs-policy.toml", "[jobs]\nsweep_seconds = 1\n")
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await running.start()
    yield running
    await running.stop()


async def test_unclaimed_tips_remind_then_escalate_to_admins(fake, bot: RunningBot, clock) -> None:
    boss = fake.add_user(REVIEWER, "BossAdmin")
    fake.set_member(REVIEW_CHAT, REVIEWER, "administrator")
    tipster = fake.add_user(8800000001, "T")
    _, ref = await tip_with_card(fake, tipster, "Nobody claims this one about the quarry")
    clock.advance(5 * HOUR)
    reminder = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "waited" in m["_plain"], timeout=10
    )
    assert ref in reminder["_plain"] and "BossAdmin" not in reminder["_plain"]
    clock.advance(20 * HOUR)
    escalation = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "nobody has claimed" in m["_plain"], timeout=10
    )
    assert "BossAdmin" in escalation["_plain"]
    assert any(
        e["type"] == "text_link" and str(boss.id) in e.get("url", "")
        for e in escalation["_entities"]
    )
    reminders = [m for m in fake.messages_in(REVIEW_CHAT) if "waited" in m["_plain"]]
    assert len(reminders) == 2  # one reminder, one escalation


async def test_unanswered_question_returns_to_review(fake, bot: RunningBot, clock) -> None:
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(8800000002, "T")
    _, ref = await tip_with_card(fake, tipster, "Question nobody answers about the ferry")
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "Which ferry?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    await card_shows(fake, ref, "waiting for the tipster")
    clock.advance(8 * DAY)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "back in review" in m["_plain"], timeout=10)
    await card_shows(fake, ref, "in review")


async def test_an_answer_held_back_by_its_delay_is_not_reported_unanswered(
    fake, bot: RunningBot, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tipster answered, and the answer waits out its random delay (fixed here at 10 days,
    past the 7-day question timeout): the timeout must not tell reviewers "no answer"."""
    monkeypatch.setattr(answers_module, "post_delay", lambda _max: 10 * DAY)
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(8800000003, "T")
    _, ref = await tip_with_card(fake, tipster, "A question answered late about the quay")
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "Which quay?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    question = await fake.wait_for_message(tipster.id, lambda m: "Which quay?" in m["_plain"])
    reply = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    fake.user_presses(tipster, question, reply)
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "The east quay, by the crane")
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])

    digests = len([m for m in fake.messages_in(REVIEW_CHAT) if "Weekly digest" in m["_plain"]])
    clock.advance(8 * DAY)  # the question's timeout falls due; the answer is still held back
    await fake.wait_until(  # a positive signal: a sweep ran on the moved clock
        lambda: (
            len([m for m in fake.messages_in(REVIEW_CHAT) if "Weekly digest" in m["_plain"]])
            > digests
        ),
        timeout=15,
    )
    assert not any("has not answered" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))
    clock.advance(3 * DAY)
    await fake.wait_until(
        lambda: any("by the crane" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT)),
        timeout=15,
    )
    await card_shows(fake, ref, "in review")
    assert not any("has not answered" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))


async def test_daily_finance_digest(fake, bot: RunningBot, clock) -> None:
    clock.advance(DAY + HOUR)
    digest = await fake.wait_for_message(
        FINANCE_CHAT, lambda m: "Daily digest" in m["_plain"], timeout=10
    )
    assert "0 reward proposal" in digest["_plain"]
    assert digest["method"] == "sendPhoto"  # the digest is the caption of the month's chart
    image = Image.open(io.BytesIO(digest["_upload"]["data"]))
    assert image.format == "PNG" and image.width >= 600


async def test_weekly_review_digest_carries_the_chart(fake, bot: RunningBot, clock) -> None:
    clock.advance(8 * DAY)
    digest = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "Weekly digest" in m["_plain"], timeout=15
    )
    assert digest["method"] == "sendPhoto"
    image = Image.open(io.BytesIO(digest["_upload"]["data"]))
    assert image.format == "PNG" and image.height >= 500
