"""A time-boxed run: the review chat answers 429 and 502 for a minute, and tipsters keep
sending tips. Their receipts arrive as fast as without faults: a throttled or failing staff
chat pauses itself, never the tipsters. Both p99s are printed side by side."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time

import pytest

from tests.e2e.conftest import REVIEW_CHAT, RunningBot
from tests.e2e.flows import added, begin, submit
from tests.fake_telegram import FakeTelegram

FAULT_SECONDS = 60.0
CLEAN_SECONDS = 15.0
TIPSTERS = 4


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) >= 2 else samples[0]


async def _tipsters(fake: FakeTelegram, seconds: float, first_id: int) -> list[float]:
    """Tipsters send tips back to back for `seconds`; the time from Send to the receipt."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def one(lane: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            user = fake.add_user(first_id + lane * 10_000 + n, f"T{lane}-{n}")
            n += 1
            await begin(fake, user, area=None)
            fake.user_sends_text(user, f"lane {lane} tip {n}: a boat at the pier")
            await added(fake, user)
            began = time.monotonic()
            await submit(fake, user)
            latencies.append(time.monotonic() - began)

    await asyncio.gather(*(one(lane) for lane in range(TIPSTERS)))
    return latencies


async def _faults(fake: FakeTelegram, stop: asyncio.Event) -> None:
    """Every send to the review chat fails: a second of 429 (retry after 5 s), then a
    second of 502, and so on."""
    throttle = True
    while not stop.is_set():
        fake.throttled_chats.clear()
        fake.unreachable_chats.clear()
        if throttle:
            fake.throttled_chats[REVIEW_CHAT] = 5
        else:
            fake.unreachable_chats.add(REVIEW_CHAT)
        throttle = not throttle
        await asyncio.sleep(1.0)
    fake.throttled_chats.clear()
    fake.unreachable_chats.clear()


@pytest.mark.faults
@pytest.mark.timeout(240)
async def test_receipts_arrive_as_fast_while_the_review_chat_fails_for_a_minute(
    fake, bot: RunningBot, settings
) -> None:
    clean = await _tipsters(fake, CLEAN_SECONDS, 8_700_000_000)
    stop = asyncio.Event()
    faults = asyncio.create_task(_faults(fake, stop))
    try:
        faulty = await _tipsters(fake, FAULT_SECONDS, 8_800_000_000)
    finally:
        stop.set()
        await faults
    print(
        f"receipt latency p99: {_p99(clean) * 1000:.0f} ms without faults ({len(clean)} tips),"
        f" {_p99(faulty) * 1000:.0f} ms while the review chat answered 429/502 for"
        f" {FAULT_SECONDS:.0f} s ({len(faulty)} tips)"
    )
    assert any(c.failed and c.params.get("chat_id") == REVIEW_CHAT for c in fake.calls)
    # A stall behind the review chat's flood wait would cost 5 s or more per receipt.
    assert _p99(faulty) <= _p99(clean) + 2.0
    # Nothing was given up on: every post is sent or still waiting (at 20 a minute, the
    # group's flood limit, the backlog takes a while), none failed.
    with sqlite3.connect(settings.data_dir / "tipline.sqlite3") as conn:
        posts = dict(
            conn.execute(
                "SELECT status, COUNT(*) FROM outbox WHERE kind = 'tip_posted' GROUP BY status"
            ).fetchall()
        )
    assert sum(posts.values()) == len(clean) + len(faulty) and "failed" not in posts, posts
