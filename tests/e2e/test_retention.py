"""Retention: after the period, a closed tip's key and content are gone from every file."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.e2e.conftest import (
    FINANCE_CHAT,
    REVIEW_CHAT,
    REVIEWER,
    Clock,
    RunningBot,
    make_settings,
    write_policy,
)
from tests.e2e.flows import added, begin, submit
from tests.e2e.review_flows import answer_of, card_shows, press
from tests.images import jpeg_with_gps

TIPSTER_ID = 8400000001
TEXT_CANARY = "CANARY-RETENTION-77 pills in the laundry"
DAY = 86_400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake, tmp_path, clock):
    policy = write_policy(
        tmp_path / "retention-policy.toml",
        "[jobs]\nsweep_seconds = 1\n[retention]\ndays_after_close = 30\n",
    )
    running = RunningBot(make_settings(tmp_path, fake, policy_file=policy), clock=clock)
    await running.start()
    yield running
    await running.stop()


def _digests(fake) -> list:
    return [m for m in fake.messages_in(FINANCE_CHAT) if "Daily digest" in m["_plain"]]


def _files(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()]


async def test_closed_tip_is_shredded_after_the_period(fake, bot: RunningBot, clock) -> None:
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster, area="CANARY-AREA-Retention")
    fake.user_sends_text(tipster, TEXT_CANARY)
    await added(fake, tipster)
    fake.user_sends_photo(tipster, jpeg_with_gps())
    await added(fake, tipster)
    receipt = await submit(fake, tipster)
    card = await fake.wait_for_message(
        REVIEW_CHAT, lambda m: TEXT_CANARY in m["_plain"], timeout=10
    )
    ref = card["_plain"].split()[2]
    for action, shown in (("claim", "in review"), ("spam", "spam"), ("close", "closed")):
        await answer_of(fake, press(fake, anna, ref, action))
        await card_shows(fake, ref, shown)

    data_dir = bot.settings.data_dir
    database = data_dir / "tipline.sqlite3"
    with sqlite3.connect(database) as conn:
        wrapped, area = conn.execute(
            "SELECT wrapped_key, sealed_area FROM reports WHERE reference = ?", [ref]
        ).fetchone()
        sealed_items = [bytes(r[0]) for r in conn.execute("SELECT sealed FROM items")]
    secrets = {"wrapped key": bytes(wrapped), "sealed area": bytes(area)}
    secrets |= {f"item {i}": blob for i, blob in enumerate(sealed_items)}
    assert _files(data_dir / "blobs"), "the photo is stored before the purge"

    # Delivery records of the tip's own messages, all finished before the clock moves.
    finished = (
        f"SELECT COUNT(*) FROM outbox WHERE status != 'pending' AND finished_at <= {clock() + 60}"
    )
    # An update set aside as poison (sealed, never handled) is kept as long, then deleted.
    poison = b"POISON-UPDATE-CANARY" * 8

    def set_aside() -> None:  # in a thread: the bot in this event loop may hold the lock
        with sqlite3.connect(database, timeout=10) as conn:
            conn.execute(
                "INSERT INTO inbox (update_id, sealed, received_at, attempts, quarantined_at)"
                " VALUES (1, ?, ?, 3, ?)",
                [poison, int(clock()), int(clock())],
            )

    await asyncio.to_thread(set_aside)
    secrets["quarantined update"] = poison
    digests = len(_digests(fake))
    clock.advance(29 * DAY)
    # A positive signal first: each sweep catches up one missed daily digest, and retention
    # runs in the same sweep right after the jobs. Two more digests: a whole sweep has run.
    await fake.wait_until(lambda: len(_digests(fake)) >= digests + 2, timeout=15)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT shredded_at FROM reports").fetchone()[0] is None
        assert conn.execute(finished).fetchone()[0] > 0, "delivery records kept 30 days"
        assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 1, "poison kept"
    clock.advance(2 * DAY)

    def shredded() -> bool:
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT shredded_at FROM reports").fetchone()[0] is not None

    await fake.wait_until(shredded, timeout=10)
    await bot.stop()
    with sqlite3.connect(database) as conn:
        assert conn.execute(finished).fetchone()[0] == 0, "old delivery records are deleted"
        assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0, "poison deleted"
    assert not _files(data_dir / "blobs")
    for path in _files(data_dir):
        content = path.read_bytes()
        for name, value in secrets.items():
            assert value not in content, f"{name} survives in {path.name}"
        assert TEXT_CANARY.encode() not in content
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT reference, category, status, submitted_at, wrapped_key FROM reports"
        ).fetchone()
    assert row[0] == ref and row[1] == "drug_trafficking" and row[2] == "closed" and row[4] is None

    await bot.start()
    fake.user_sends_text(tipster, f"/status {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "Closed." in m["_plain"])


def _contact_of(database, reference: str) -> bytes | None:
    with sqlite3.connect(database, timeout=10) as conn:
        row = conn.execute(
            "SELECT sealed_contact FROM reports WHERE reference = ?", [reference]
        ).fetchone()
    return row[0]


async def test_a_contact_is_erased_some_days_after_the_last_message(
    fake, bot: RunningBot, clock
) -> None:
    """With contact allowed, the sealed chat is kept `contact_days` (30) after the last message
    to the tipster, then erased from the files: later news reaches nobody, /status says so."""
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, "Pills handed out behind the bus depot")
    await added(fake, tipster)
    receipt = await submit(fake, tipster)
    card = await fake.wait_for_message(REVIEW_CHAT, lambda m: "bus depot" in m["_plain"])
    ref = card["_plain"].split()[2]
    clock.advance(10 * DAY)
    await answer_of(fake, press(fake, anna, ref, "claim"))
    await fake.wait_for_message(tipster.id, lambda m: "reviewer is looking" in m["_plain"])
    database = bot.settings.data_dir / "tipline.sqlite3"
    sealed = await asyncio.to_thread(_contact_of, database, ref)
    assert sealed is not None

    digests = len(_digests(fake))
    clock.advance(29 * DAY)  # 39 days after the tip, 29 after the last message: kept
    await fake.wait_until(lambda: len(_digests(fake)) >= digests + 2, timeout=15)
    assert await asyncio.to_thread(_contact_of, database, ref) is not None
    clock.advance(2 * DAY)

    async def erased() -> bool:
        return await asyncio.to_thread(_contact_of, database, ref) is None

    for _ in range(100):
        if await erased():
            break
        await asyncio.sleep(0.1)
    assert await erased(), "the contact outlived contact_days"
    fake.user_sends_text(tipster, f"/status {receipt}")
    await fake.wait_for_message(tipster.id, lambda m: "No contact is stored" in m["_plain"])
    await answer_of(fake, press(fake, anna, ref, "verify"))
    await card_shows(fake, ref, "verified")
    fake.user_sends_text(anna, f"/tip {ref}", chat_id=REVIEW_CHAT)  # a later, positive signal
    await fake.wait_for_message(REVIEW_CHAT, lambda m: m["_plain"].startswith(f"{ref} · "))
    await bot.stop()
    assert not any("Verified" in m["_plain"] for m in fake.messages_in(tipster.id))
    for path in _files(bot.settings.data_dir):
        assert sealed not in path.read_bytes(), f"the sealed contact survives in {path.name}"


async def test_closing_a_tip_erases_its_contact_once_its_last_notice_is_out(
    fake, bot: RunningBot
) -> None:
    anna = fake.add_user(REVIEWER, "Anna")
    tipster = fake.add_user(TIPSTER_ID, "T")
    await begin(fake, tipster)
    fake.user_sends_text(tipster, "A grow room above the noodle shop")
    await added(fake, tipster)
    await submit(fake, tipster)
    card = await fake.wait_for_message(REVIEW_CHAT, lambda m: "noodle shop" in m["_plain"])
    ref = card["_plain"].split()[2]
    database = bot.settings.data_dir / "tipline.sqlite3"
    for action, shown in (("claim", "in review"), ("unfounded", "unfounded")):
        await answer_of(fake, press(fake, anna, ref, action))
        await card_shows(fake, ref, shown)
    assert await asyncio.to_thread(_contact_of, database, ref) is not None
    await answer_of(fake, press(fake, anna, ref, "close"))
    await card_shows(fake, ref, "closed")
    for _ in range(100):
        if await asyncio.to_thread(_contact_of, database, ref) is None:
            break
        await asyncio.sleep(0.1)
    assert await asyncio.to_thread(_contact_of, database, ref) is None, "kept after the close"
    told = [m["_plain"] for m in fake.messages_in(tipster.id)]
    assert any("reviewer is looking" in text for text in told)
    assert any("could not be confirmed" in text for text in told), "the last notice went first"
