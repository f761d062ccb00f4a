"""What reviewers and the database can learn of when a tipster used the bot: with the random
delay on, a tip and an answer appear only after it, /tip and /search show only the date of
what the tipster did, and every time stored of a tipster's action keeps only the hour."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import REVIEW_CHAT, REVIEWER, Clock, RunningBot, make_settings
from tests.e2e.flows import RECEIPT, send_text_tip
from tests.e2e.review_flows import answer_of, card_shows, find_card, press

DELAY = 600
HOUR = 3600
TIPSTER_ID = 8300000001
TIP_TEXT = "Timing canary: parcels change hands behind the bus depot"
MINUTE = re.compile(r"\b\d{2}:\d{2}\b")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake, tmp_path: Path, clock: Clock):
    policy = tmp_path / "timing-policy.toml"
    policy.write_text(
        f"[review]\npost_delay_max_seconds = {DELAY}\n[jobs]\nsweep_seconds = 1\n",
        encoding="utf-8",
    )
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await running.start()
    yield running
    await running.stop()


def _db(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "data" / "tipline.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _one(tmp_path: Path, sql: str, *params: object) -> tuple:
    with _db(tmp_path) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


async def _staff_reply(fake, anna, text: str, expect: str) -> dict:
    """Send a command in the review chat and wait for the bot's answer to it."""
    sent = fake.user_sends_text(anna, text, chat_id=REVIEW_CHAT)
    return await fake.wait_for_message(
        REVIEW_CHAT,
        lambda m: m["message_id"] > sent["message_id"] and expect in m["_plain"],
    )


async def test_delays_dates_and_coarse_times_hide_when_the_tipster_wrote(
    fake, bot: RunningBot, clock: Clock, tmp_path: Path
) -> None:
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(TIPSTER_ID, "TimingTipster")
    receipt = await send_text_tip(fake, tipster, TIP_TEXT)
    shown = next(m for m in fake.messages_in(tipster.id) if RECEIPT.search(m["text"]))
    ref = re.search(r"T-\d{4}-\d{4,7}", shown["_plain"]).group(0)

    # Held back by its delay, the tip does not exist for the desk: asking cannot time it.
    (post_due,) = _one(tmp_path, "SELECT not_before FROM outbox WHERE kind = 'tip_posted'")
    if post_due > clock.now:
        await _staff_reply(fake, anna, f"/tip {ref}", f"No tip {ref}")
        await _staff_reply(fake, anna, "/queue", "No open tips")
        await _staff_reply(fake, anna, "/search depot", "No tip in this chat matches")
        await _staff_reply(fake, anna, "/stats", ": 0 tips.")  # nor is it counted
        assert not any(TIP_TEXT[:20] in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))
    clock.advance(DELAY + 1)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: m["_plain"].startswith(f"📋 Tip {ref}"))
    await _staff_reply(fake, anna, "/stats", ": <5 tips.")

    history = await _staff_reply(fake, anna, f"/tip {ref}", "received")
    header = history["_plain"].splitlines()[0]
    assert re.search(r"received \d{4}-\d{2}-\d{2}$", header) and not MINUTE.search(header)
    found = await _staff_reply(fake, anna, "/search depot", "Matching tips")
    assert ref in found["_plain"] and not MINUTE.search(found["_plain"])

    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "Which bus depot?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    question = await fake.wait_for_message(tipster.id, lambda m: "Which bus depot" in m["_plain"])
    await card_shows(fake, ref, "waiting for the tipster")
    reply = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    fake.user_presses(tipster, question, reply)
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "The north depot, bay 4")
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])  # at once

    # The answer waits for its own random delay, and so does all reviewers see of it.
    (answer_due,) = _one(
        tmp_path,
        "SELECT not_before FROM outbox WHERE kind = 'answer_posted' AND status = 'pending'",
    )
    assert clock.now <= answer_due <= clock.now + DELAY
    if answer_due > clock.now:
        history = await _staff_reply(fake, anna, f"/tip {ref}", "received")
        assert "answered" not in history["_plain"]
        assert "waiting for the tipster" in find_card(fake, ref)["_plain"]
        assert not any("bay 4" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))
    clock.advance(answer_due - clock.now + 1)
    await fake.wait_for_message(REVIEW_CHAT, lambda m: "bay 4" in m["_plain"])
    await card_shows(fake, ref, "in review")
    history = await _staff_reply(fake, anna, f"/tip {ref}", "answered")
    (line,) = [ln for ln in history["_plain"].splitlines() if "the tipster answered" in ln]
    assert re.match(r"\d{4}-\d{2}-\d{2} · the tipster answered$", line), line
    claimed = next(ln for ln in history["_plain"].splitlines() if "claimed" in ln)
    assert MINUTE.search(claimed), "staff actions keep their minute"

    fake.user_sends_text(tipster, f"/forget {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "can no longer message you" in m["_plain"])
    await fake.wait_until(
        lambda: _one(tmp_path, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")[0] == 0
    )

    # Stored: every time of what the tipster did keeps only the hour.
    with _db(tmp_path) as conn:
        submitted, updated = conn.execute("SELECT submitted_at, updated_at FROM reports").fetchone()
        assert submitted % HOUR == 0 and updated % HOUR == 0  # /forget was the last change
        (answered,) = conn.execute("SELECT answered_at FROM questions").fetchone()
        assert answered is not None and answered % HOUR == 0
        tipster_events = conn.execute(
            "SELECT at FROM report_events WHERE actor_id = 0 AND action = 'answer'"
        ).fetchall()
        assert tipster_events and all(at % HOUR == 0 for (at,) in tipster_events)
        to_tipster = conn.execute(
            "SELECT kind, created_at, not_before, finished_at FROM outbox WHERE target = 'tipster'"
        ).fetchall()
        assert {kind for kind, *_ in to_tipster} >= {"receipt", "tipster_question"}
        for kind, *times in to_tipster:
            assert all(t % HOUR == 0 for t in times), (kind, times)
        (answer_created,) = conn.execute(
            "SELECT created_at FROM outbox WHERE kind = 'answer_posted'"
        ).fetchone()
        assert answer_created % HOUR == 0
        staff_times = conn.execute(
            "SELECT at FROM report_events WHERE actor_id = ? AND action = 'claim'", (REVIEWER,)
        ).fetchall()
        assert staff_times  # staff actions are stored exactly, for accountability


async def test_an_answer_held_back_does_not_hold_back_the_card(
    fake, bot: RunningBot, clock: Clock, tmp_path: Path
) -> None:
    """While an answer waits for its delay, the reviewers' own moves still refresh the card at
    once: a card that stopped refreshing would tell them that an answer is on its way."""
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(TIPSTER_ID, "TimingTipster")
    await send_text_tip(fake, tipster, "Second timing canary: a van at the ferry pier")
    clock.advance(DELAY + 1)
    card = await fake.wait_for_message(REVIEW_CHAT, lambda m: m["_plain"].startswith("📋 Tip"))
    ref = card["_plain"].split()[2]
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await answer_of(fake, press(fake, anna, ref, "ask"))
    prompt = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: "write your question" in m["_plain"]
    )
    fake.user_sends_text(
        anna, "Which van?", chat_id=REVIEW_CHAT, reply_to_message_id=prompt["message_id"]
    )
    question = await fake.wait_for_message(tipster.id, lambda m: "Which van" in m["_plain"])
    await card_shows(fake, ref, "waiting for the tipster")
    reply = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    fake.user_presses(tipster, question, reply)
    await fake.wait_for_message(tipster.id, lambda m: "Send your answer now" in m["_plain"])
    fake.user_sends_text(tipster, "A white van, plate ends in 42")
    await fake.wait_for_message(tipster.id, lambda m: "Passed on" in m["_plain"])
    (answer_due,) = _one(
        tmp_path,
        "SELECT not_before FROM outbox WHERE kind = 'answer_posted' AND status = 'pending'",
    )
    await answer_of(fake, press(fake, anna, ref, "verify"))
    await card_shows(fake, ref, "verified")  # not held back by the answer
    if answer_due > clock.now:
        assert not any("ends in 42" in m["_plain"] for m in fake.messages_in(REVIEW_CHAT))
    clock.advance(answer_due - clock.now + 1)
    answer = await fake.wait_for_message(REVIEW_CHAT, lambda m: "ends in 42" in m["_plain"])
    assert answer["reply_parameters"]["message_id"] == find_card(fake, ref)["message_id"]
    await fake.wait_until(  # the sweep shows the rest of the answer (its history entry)
        lambda: (
            not _one(
                tmp_path,
                "SELECT COUNT(*) FROM schedules WHERE kind = 'answer_shown' AND status = 'pending'",
            )[0]
        )
    )
    history = await _staff_reply(fake, anna, f"/tip {ref}", "the tipster answered")
    assert "marked verified" in history["_plain"]
    assert "verified" in find_card(fake, ref)["_plain"]
