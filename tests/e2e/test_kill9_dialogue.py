"""kill -9 while tipsters answer reviewers' questions and then ask the bot to forget them.

Six tips are sent and each reviewed up to a question, without kills. Then the bot process is
SIGKILLed and restarted at least 20 times (most kills strike 0-80 ms after an update reaches
the bot, inside its handling) while every tipster, like a person on a phone:
- presses "Reply" under the question (again, if nothing seems to happen);
- answers with two photos, each with a caption: one message, two parts, one transaction;
- presses "Done";
- sends `/forget` with the receipt until the bot says the contact is gone.

At the end: every answer the tipster sent is stored exactly once and whole (never a photo
without its caption, never twice), and reached the reviewers, a repeat only from the crash
window; every contact is erased, so that a later decision on the tip reaches nobody; the inbox
and the outbox are empty and the last SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FINANCE_CHAT, REVIEW_CHAT, REVIEWER, write_policy
from tests.e2e.flows import send_text_tip
from tests.e2e.review_flows import answer_of, card_shows, press
from tests.e2e.test_kill9 import BotProcess
from tests.e2e.test_kill9_rewards import KILLS, _dump, _kill_repeatedly, _last_id, _seen
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.images import jpeg_with_gps

TIPSTERS = 6
ANSWERS_EACH = 2
Message = dict[str, Any]


def _newer(fake: FakeTelegram, chat_id: int, after: int, text: str) -> bool:
    return any(
        int(m["message_id"]) > after and text in m["_plain"] for m in fake.messages_in(chat_id)
    )


async def _ask(fake: FakeTelegram, reviewer: FakeUser, reference: str, number: int) -> Message:
    """The reviewer claims the tip and asks its tipster a question; returns the question."""
    await answer_of(fake, press(fake, reviewer, reference, "claim"))
    await card_shows(fake, reference, "in review")
    await answer_of(fake, press(fake, reviewer, reference, "ask"))

    def asking() -> Message | None:
        return next(
            (
                m
                for m in fake.messages_in(REVIEW_CHAT)
                if "write your question" in m["_plain"] and reference in m["_plain"]
            ),
            None,
        )

    await fake.wait_until(lambda: asking() is not None)
    prompt = asking()
    assert prompt is not None
    fake.user_sends_text(
        reviewer,
        f"Question {number}: which door?",
        chat_id=REVIEW_CHAT,
        reply_to_message_id=prompt["message_id"],
    )
    await card_shows(fake, reference, "waiting for the tipster")
    return prompt


async def _tipster(
    fake: FakeTelegram,
    user: FakeUser,
    receipt: str,
    number: int,
    rng: random.Random,
    kills: Callable[[], int],
) -> list[str]:
    """Answer the question with photos and captions, close, and /forget; returns the captions
    sent (each in one message with its photo). Tipster n begins after a share of the kills,
    so that the kills fall on work in progress all through the run."""
    while kills() < round(number * KILLS / (TIPSTERS - 1)):
        await asyncio.sleep(0.1)
    question = await fake.wait_for_message(user.id, lambda m: f"Question {number}" in m["_plain"])
    reply = next(d for d in fake.button_data(question) if d.startswith("v1:a:"))
    started = False
    while not started:  # press "Reply" until the bot asks for the answer
        after = _last_id(fake, user.id)
        fake.user_presses(user, question, reply)
        started = await _seen(fake, lambda a=after: _newer(fake, user.id, a, "Send your answer"))
    await _think(rng)
    captions = []
    for k in range(ANSWERS_EACH):
        caption = f"answer {number}.{k}: the blue door {rng.random():.6f}"
        after = _last_id(fake, user.id)
        fake.user_sends_photo(user, jpeg_with_gps(color=(rng.randrange(256), 90, 20)), caption)
        captions.append(caption)
        # The message is never lost (Telegram keeps it until the bot has it in its inbox), so
        # a person who sees no "Passed on" has no reason to send it again: they just go on.
        await _seen(fake, lambda a=after: _newer(fake, user.id, a, "Passed on"))
        await _think(rng)
    started_message = next(
        m for m in reversed(fake.messages_in(user.id)) if "v1:a:done" in fake.button_data(m)
    )
    await _think(rng)
    closed = False
    while not closed:
        after = _last_id(fake, user.id)
        query = fake.user_presses(user, started_message, "v1:a:done")
        # A kill after Done was committed and before its reply leaves the window closed and
        # unsaid: the next press is told, in the chat, that no answer is in progress.
        closed = await _seen(
            fake,
            lambda a=after, q=query: (
                _newer(fake, user.id, a, "Your answer is closed")
                or _newer(fake, user.id, a, "There is no answer in progress")
                or "no answer in progress" in str(fake.callback_answers.get(q["id"], {}))
            ),
        )
    await _think(rng)
    forgotten = False
    while not forgotten:
        after = _last_id(fake, user.id)
        fake.user_sends_text(user, f"/forget {receipt}")
        forgotten = await _seen(
            fake,
            lambda a=after: (
                _newer(fake, user.id, a, "We can no longer message you")
                or _newer(fake, user.id, a, "nothing to delete")
            ),
        )
    return captions


async def _think(rng: random.Random) -> None:
    """A person reads the screen before the next step."""
    await asyncio.sleep(rng.uniform(0.3, 1.2))


def _env(tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update(
        TIPLINE_BOT_TOKEN=fake.token,
        TIPLINE_API_URL=fake.url,
        TIPLINE_REVIEW_CHAT_ID=str(REVIEW_CHAT),
        TIPLINE_FINANCE_CHAT_ID=str(FINANCE_CHAT),
        TIPLINE_POLICY_FILE=str(write_policy(tmp_path / "policy.toml")),
    )
    return env


@pytest.mark.kill9
@pytest.mark.timeout(360)  # about 75 s alone; a loaded machine can double it
async def test_kill_9_while_tipsters_answer_and_forget_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(23)
    database = tmp_path / "data" / "tipline.sqlite3"
    async with FakeTelegram() as fake:
        fake.add_group(REVIEW_CHAT, "Reviewers", {fake.bot_id: "administrator", REVIEWER: "member"})
        fake.add_group(FINANCE_CHAT, "Finance", {fake.bot_id: "member"})
        reviewer = fake.add_user(REVIEWER, "Anna")
        users = [fake.add_user(8900000000 + n, f"A{n}") for n in range(TIPSTERS)]
        bot = BotProcess(tmp_path, _env(tmp_path, fake), fake)
        await bot.start()
        try:
            receipts = await asyncio.gather(
                *(
                    send_text_tip(fake, u, f"dialogue {n}: a van at dock {n}")
                    for n, u in enumerate(users)
                )
            )
            references = []
            for n in range(TIPSTERS):
                # Cards arrive in any order: look at the whole chat, not past a cursor.
                await fake.wait_until(lambda n=n: _card_of(fake, n) is not None)
                card = _card_of(fake, n)
                assert card is not None
                references.append(card["_plain"].split()[2])
                await _ask(fake, reviewer, references[-1], n)

            def kills() -> int:
                return len(bot.kill_times)

            work = asyncio.ensure_future(
                asyncio.gather(
                    *(
                        _tipster(fake, u, r, n, random.Random(rng.random()), kills)
                        for n, (u, r) in enumerate(zip(users, receipts, strict=True))
                    )
                )
            )
            kills_during_work = await _kill_repeatedly(bot, fake, rng, work)
            sent: list[list[str]] = await asyncio.wait_for(work, timeout=60)
            every = [caption for captions in sent for caption in captions]
            await fake.wait_until(
                lambda: all(_shows_text(fake, REVIEW_CHAT, c) for c in every), timeout=30
            )
            # Decide every tip: with the contact gone, the decision reaches nobody.
            for reference in references:
                await answer_of(fake, press(fake, reviewer, reference, "verify"))
                await card_shows(fake, reference, "verified")
            await fake.wait_until(lambda: _outbox_empty(database), timeout=20)
        except BaseException:
            _dump(bot, fake, database)
            raise
        finally:
            code = await bot.stop()
            bot.close()
        assert code == 0
        assert kills_during_work >= KILLS, f"only {kills_during_work} kills hit the work"

        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
            contacts = conn.execute("SELECT COUNT(*) FROM reports WHERE sealed_contact IS NOT NULL")
            assert contacts.fetchone()[0] == 0, "a /forget was lost"
            parts = dict(
                conn.execute(
                    "SELECT r.reference, COUNT(i.position) || '/' || COUNT(i.blob_name)"
                    " FROM reports r JOIN items i ON i.uid = r.uid GROUP BY r.reference"
                ).fetchall()
            )
        for reference in references:
            # The tip's own text, then each answer's photo and caption, each exactly once.
            expected = f"{1 + 2 * ANSWERS_EACH}/{ANSWERS_EACH}"
            assert parts[reference] == expected, f"{reference}: {parts[reference]} parts/files"

        for user in users:
            assert not any("Verified" in m["_plain"] for m in fake.messages_in(user.id)), (
                "a notice reached a tipster who asked to be forgotten"
            )
        sent_at = {
            (c.params.get("chat_id"), c.result["message_id"]): c.at
            for c in fake.calls_of("sendMessage")
            if not c.failed and isinstance(c.result, dict)
        }
        repeats = 0
        for caption in every:
            copies = [m for m in fake.messages_in(REVIEW_CHAT) if caption in m["_plain"]]
            if len(copies) > 1:
                first = sent_at[(REVIEW_CHAT, copies[0]["message_id"])]
                assert len(copies) == 2 and any(
                    first - 0.1 <= k <= first + 1.0 for k in bot.kill_times
                ), f"an answer was posted {len(copies)} times"
                repeats += 1
        print(
            f"kill -9 x{len(bot.kill_times)} ({kills_during_work} during the work):"
            f" {len(every)} answers stored and posted once each, {repeats} repeat(s) from the"
            f" crash window, {TIPSTERS} contacts forgotten"
        )


def _card_of(fake: FakeTelegram, number: int) -> Message | None:
    return next(
        (
            m
            for m in fake.messages_in(REVIEW_CHAT)
            if m["_plain"].startswith("📋 Tip") and f"at dock {number}" in m["_plain"]
        ),
        None,
    )


def _shows_text(fake: FakeTelegram, chat_id: int, text: str) -> bool:
    return any(text in m["_plain"] for m in fake.messages_in(chat_id))


def _outbox_empty(database: Path) -> bool:
    with sqlite3.connect(database) as conn:
        return (
            conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0] == 0
        )
