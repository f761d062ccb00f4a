"""Hypothesis throws junk at the running bot: every input gets an answer, changes nothing it
should not, and the process never dies."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import (
    FINANCE_CHAT,
    FINANCE_CLERK,
    REVIEW_CHAT,
    REVIEWER,
    RunningBot,
    assert_no_apology,
)
from tests.e2e.conftest import make_settings as settings_for
from tests.fake_telegram import FakeTelegram

junk_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300
)
long_text = st.integers(4001, 10_000).map(lambda n: "é" * n)
commands = st.sampled_from(["/status", "/forget", "/paid", "/tip", "/note", "/search", "/zzz"])
callback = st.one_of(
    st.text(max_size=64),
    st.sampled_from(
        [
            "v1:t:cat:../../etc",
            "v1:r:verify:T-0000-0000",
            "v1:f:approve:99999999",
            "v1:a:" + "A" * 59,
            "v1:w:factory:T-2026-0001",
            "v1:t:contact:maybe",
        ]
    ),
)


async def _scenario(
    tmp_path: Path, texts: list[str], args: list[tuple[str, str]], presses: list[str]
) -> None:
    async with FakeTelegram() as fake:
        fake.add_group(REVIEW_CHAT, "Reviewers", {fake.bot_id: "administrator", REVIEWER: "member"})
        fake.add_group(FINANCE_CHAT, "Finance", {fake.bot_id: "member", FINANCE_CLERK: "member"})
        bot = RunningBot(settings_for(tmp_path, fake))
        await bot.start()
        try:
            tipster = fake.add_user(8600000001, "J")
            reviewer = fake.add_user(REVIEWER, "R")
            clerk = fake.add_user(FINANCE_CLERK, "C")
            for text in texts:
                before = len(fake.messages_in(tipster.id))
                fake.user_sends_text(tipster, text)
                await fake.wait_until(lambda b=before: len(fake.messages_in(tipster.id)) > b)
            for command, argument in args:
                for user, chat in ((tipster, None), (reviewer, REVIEW_CHAT), (clerk, FINANCE_CHAT)):
                    target = chat or user.id
                    before = len(fake.messages_in(target))
                    fake.user_sends_text(user, f"{command} {argument}", chat_id=chat)
                    if command in ("/status", "/forget", "/zzz") and chat is not None:
                        continue  # tipster commands are ignored in staff groups
                    if command in ("/paid",) and chat != FINANCE_CHAT:
                        continue
                    if command in ("/tip", "/note", "/search") and chat != REVIEW_CHAT:
                        continue
                    await fake.wait_until(lambda t=target, b=before: len(fake.messages_in(t)) > b)
            fake.user_sends_text(tipster, "/start")
            welcome = await fake.wait_for_message(
                tipster.id, lambda m: "v1:t:report" in fake.button_data(m)
            )
            for data in presses:
                query = fake.user_presses(tipster, welcome, data)
                await fake.wait_until(lambda q=query: q["id"] in fake.callback_answers)
            fake.inject_update(
                {
                    "poll_answer": {
                        "poll_id": "1",
                        "user": tipster.to_dict(),
                        "option_ids": [0],
                        "option_persistent_ids": ["a"],
                    }
                }
            )
            fake.user_sends_text(tipster, "/status 0000-0000-0000-0000-0000")
            await fake.wait_for_message(
                tipster.id, lambda m: "No tip matches" in m["_plain"] or "Too many" in m["_plain"]
            )
            # Junk that could be a tip was kept as the start of a draft (a first message is
            # never lost); /cancel throws it away, and then nothing is left.
            fake.user_sends_text(tipster, "/cancel")
            await fake.wait_for_message(
                tipster.id, lambda m: m["_plain"].startswith(("Your tip was thrown", "There is no"))
            )
            assert_no_apology(fake)
        finally:
            await bot.stop()
    with sqlite3.connect(tmp_path / "data" / "tipline.sqlite3") as conn:
        for table in ("reports", "outbox", "items", "drafts", "audit", "rewards"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


# Enough examples to be fuzzing, not a smoke test: about 20 s on the development machine.
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    texts=st.lists(st.one_of(junk_text, long_text), min_size=4, max_size=8),
    args=st.lists(st.tuples(commands, junk_text), min_size=3, max_size=5),
    presses=st.lists(callback, min_size=3, max_size=6),
)
def test_junk_never_breaks_the_bot(tmp_path_factory, texts, args, presses) -> None:
    asyncio.run(_scenario(tmp_path_factory.mktemp("junk"), texts, args, presses))
