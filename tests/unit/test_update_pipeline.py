"""The update pipeline keeps no tipster's Telegram id after handling their update.

python-telegram-bot collects the user and chat id of every update for its persistence and
only a persistence ever empties those sets; tipline has none (it would store ids), so the
pipeline empties them. The benchmark's 20,000-tip memory phase found them growing with every
new tipster. This test names PTB's private sets on purpose: if an upgrade renames them, it
fails here instead of the fix going quiet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from bot.crypto.vault import KeyRing, Vault, VaultError, new_master_key_text
from bot.telegram.updates import UpdatePipeline
from storage.db import Database
from tests.fake_telegram import FakeTelegram

PTB_ID_SETS = ("_user_ids_to_be_updated_in_persistence", "_chat_ids_to_be_updated_in_persistence")


def _private_text(update_id: int, user_id: int) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "T"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "T"},
            "from": person,
            "text": "hello",
        },
    }


def _application(fake: FakeTelegram, handler: Any) -> Any:
    """A real PTB Application on the fake Bot API with one text handler."""
    application = (
        ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot").updater(None).build()
    )
    application.add_handler(MessageHandler(filters.TEXT, handler))
    return application


def _vault() -> Vault:
    return Vault(KeyRing.from_texts([new_master_key_text()]))


async def test_no_user_or_chat_id_stays_in_memory_after_handling(tmp_path, database_url) -> None:
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    handled: list[int] = []

    async def note(update: Update, _: object) -> None:
        handled.append(update.update_id)

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        vault = _vault()
        pipeline = UpdatePipeline(application, db, vault)
        await application.initialize()
        try:
            for n, user_id in enumerate((8_100_000_001, 8_100_000_002, 8_100_000_003), start=1):
                update = Update.de_json(_private_text(n, user_id), application.bot)
                await pipeline._handle_in_order(update)
        finally:
            await application.shutdown()
            await db.close()
    assert handled == [1, 2, 3]
    for name in PTB_ID_SETS:
        ids = getattr(application, name)
        assert isinstance(ids, set), f"python-telegram-bot no longer has {name}"
        assert ids == set(), f"{name} still holds ids"


async def test_one_senders_burst_never_takes_the_slots_of_others(tmp_path, database_url) -> None:
    """Why tipline keeps its own dispatcher rather than a PTB BaseUpdateProcessor: there the
    concurrency slot is taken before the processor sees the update, so a burst from one sender
    would hold every slot while it waits on its own per-sender lock. Here the sender's lock
    comes first: with two slots, a flood of one person's updates leaves a slot for another."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    release = asyncio.Event()
    other_handled = asyncio.Event()
    order: list[int] = []

    async def note(update: Update, _: object) -> None:
        assert update.effective_user is not None
        if update.effective_user.id == 8_100_000_001:
            order.append(update.update_id)
            await release.wait()
        else:
            other_handled.set()

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        vault = _vault()
        pipeline = UpdatePipeline(application, db, vault, max_concurrent=2)
        await application.initialize()
        try:
            for n in range(1, 6):
                pipeline._dispatch(Update.de_json(_private_text(n, 8_100_000_001), application.bot))
            pipeline._dispatch(Update.de_json(_private_text(6, 8_100_000_002), application.bot))
            await asyncio.wait_for(other_handled.wait(), timeout=10)
            assert order == [1], "the flooding sender's later updates wait their turn"
            release.set()
            await pipeline.stop()
            assert order == [1, 2, 3, 4, 5], "and keep their order"
        finally:
            await application.shutdown()
            await db.close()


async def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_a_crash_with_2000_updates_in_the_inbox_handles_each_once_in_order(
    tmp_path,
    database_url,
) -> None:
    """On start the whole inbox is handled (not only its first 500 rows), each update once,
    in order per sender, before new updates are fetched."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    handled: list[tuple[int, int]] = []

    async def note(update: Update, _: object) -> None:
        assert update.effective_user is not None
        handled.append((update.effective_user.id, update.update_id))
        await asyncio.sleep(0)

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        vault = _vault()
        await application.initialize()
        try:
            updates = tuple(
                Update.de_json(_private_text(n, 8_200_000_000 + n % 40), application.bot)
                for n in range(1, 2001)
            )
            crashed = UpdatePipeline(application, db, vault)
            await crashed._store(updates)  # fetched and stored, then the process died
            pipeline = UpdatePipeline(application, db, vault)
            await pipeline.start()
            await _wait_until(lambda: len(handled) == 2000)
            await pipeline.stop()
        finally:
            await application.shutdown()
    assert sorted(update_id for _, update_id in handled) == list(range(1, 2001))
    for sender in {user for user, _ in handled}:
        mine = [update_id for user, update_id in handled if user == sender]
        assert mine == sorted(mine), "one sender's updates keep their order"
    async with db.read() as conn:
        assert (await conn.fetch_all("SELECT COUNT(*) FROM inbox"))[0][0] == 0
    await db.close()


async def test_fetching_and_replay_pause_while_too_many_updates_are_in_hand(
    tmp_path, database_url
) -> None:
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    release = asyncio.Event()
    started: list[int] = []

    async def slow(update: Update, _: object) -> None:
        started.append(update.update_id)
        await release.wait()

    async with FakeTelegram() as fake:
        application = _application(fake, slow)
        vault = _vault()
        await application.initialize()
        try:
            updates = tuple(
                Update.de_json(_private_text(n, 8_300_000_000 + n), application.bot)
                for n in range(1, 201)
            )
            await UpdatePipeline(application, db, vault)._store(updates)
            pipeline = UpdatePipeline(application, db, vault, max_concurrent=4, max_in_hand=10)
            starting = asyncio.create_task(pipeline.start())
            await _wait_until(lambda: len(started) == 4 and pipeline.most_in_hand == 10)
            assert not starting.done(), "replay waits for room instead of taking all 200"
            release.set()
            await starting
            await _wait_until(lambda: len(started) == 200)
            await pipeline.stop()
            assert pipeline.most_in_hand == 10
        finally:
            await application.shutdown()
    await db.close()


async def test_updates_being_stored_when_the_stop_comes_are_handled_before_it_ends(
    tmp_path,
    database_url,
) -> None:
    """A stop (or the watchdog) cancels the poll loop wherever it is. A batch already on its
    way into the inbox is finished and handled, not left in the inbox until some restart."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    handled: list[int] = []

    async def note(update: Update, _: object) -> None:
        handled.append(update.update_id)

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        await application.initialize()
        pipeline = UpdatePipeline(application, db, _vault(), poll_timeout=1)
        stored, gate = asyncio.Event(), asyncio.Event()
        real_store = pipeline._store

        async def store_then_wait(updates: tuple[Update, ...]) -> str:
            name = await real_store(updates)  # committed: the rows are in the inbox
            stored.set()
            await gate.wait()  # the cancel lands here, after the commit
            return name

        pipeline._store = store_then_wait  # type: ignore[method-assign]
        try:
            await pipeline.start()
            fake.user_sends_text(fake.add_user(8_450_000_001, "T"), "hello")
            await asyncio.wait_for(stored.wait(), timeout=10)
            stopping = asyncio.create_task(pipeline.stop())
            await _wait_until(lambda: pipeline._stopping)
            gate.set()
            await asyncio.wait_for(stopping, timeout=20)
        finally:
            await application.shutdown()
    assert len(handled) == 1, "the stored update was handled before the stop returned"
    async with db.read() as conn:
        assert (await conn.fetch_all("SELECT COUNT(*) FROM inbox"))[0][0] == 0
    await db.close()


async def test_an_update_that_keeps_failing_is_set_aside_and_the_admins_told(
    tmp_path, database_url
) -> None:
    """An update whose handling killed the process is replayed at the next start, but not
    forever: after its third attempt it is kept sealed, never handled, and the review chat's
    admins get one line without content."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    handled: list[int] = []

    async def note(update: Update, _: object) -> None:
        handled.append(update.update_id)

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        vault = _vault()
        await application.initialize()
        try:
            updates = tuple(
                Update.de_json(_private_text(n, 8_400_000_000 + n), application.bot) for n in (1, 2)
            )
            await UpdatePipeline(application, db, vault)._store(updates)
            async with db.transaction() as conn:  # update 1 was started twice more, and died
                await conn.run("UPDATE inbox SET attempts = 3 WHERE update_id = 1")
            pipeline = UpdatePipeline(application, db, vault, alert_chat_id=-1_009)
            await pipeline.start()
            await _wait_until(lambda: handled == [2])
            await pipeline.stop()
        finally:
            await application.shutdown()
    async with db.read() as conn:
        rows = await conn.fetch_all("SELECT update_id, quarantined_at IS NOT NULL FROM inbox")
        assert [tuple(row) for row in rows] == [(1, 1)], "kept, set aside, never handled"
        notices = await conn.fetch_all(
            "SELECT sealed_payload FROM outbox WHERE kind = 'staff_notice' AND chat_id = -1009"
        )
    assert len(notices) == 1 and b"8400000001" not in bytes(notices[0][0])
    async with db.read() as conn:
        keys = await conn.fetch_all("SELECT name FROM window_keys WHERE purpose = 'inbox'")
    assert len(list(keys)) == 1, "the set-aside row keeps the key of its batch"
    await db.close()


async def test_an_update_that_only_waited_across_restarts_is_not_set_aside(
    tmp_path, database_url
) -> None:
    """Attempts are counted as a row's handling starts (storing a fetched update counts its
    first). Update 1 hangs every time (and the process dies); update 2, from the same sender,
    waits behind it each time. After its third attempt update 1 is set aside, and update 2,
    which never started, is handled."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    started: list[int] = []
    handled: list[int] = []

    async def note(update: Update, _: object) -> None:
        started.append(update.update_id)
        if update.update_id == 1:
            await asyncio.sleep(3600)
        handled.append(update.update_id)

    async with FakeTelegram() as fake:
        application = _application(fake, note)
        vault = _vault()
        await application.initialize()
        try:
            updates = tuple(
                Update.de_json(_private_text(n, 8_420_000_001), application.bot) for n in (1, 2)
            )
            await UpdatePipeline(application, db, vault)._store(updates)
            for start in range(1, 3):
                pipeline = UpdatePipeline(application, db, vault)
                await pipeline.start()
                await _wait_until(lambda n=start: started.count(1) == n)
                await pipeline.stop(grace_seconds=0)  # the process dies with both in hand
            assert handled == []
            pipeline = UpdatePipeline(application, db, vault, alert_chat_id=-1_009)
            await pipeline.start()
            await _wait_until(lambda: handled == [2])
            await pipeline.stop()
        finally:
            await application.shutdown()
    assert started == [1, 1, 2]
    async with db.read() as conn:
        rows = await conn.fetch_all("SELECT update_id, attempts FROM inbox")
    assert [tuple(row) for row in rows] == [(1, 3)], "only the one that kept failing"
    await db.close()


async def test_a_handled_updates_key_is_deleted_and_its_sealed_copy_opens_for_nobody(
    tmp_path,
    database_url,
) -> None:
    """Each batch of updates is sealed under a key of its own, stored wrapped. Once the
    batch's updates are handled the key is deleted: a copy of a sealed row (in the WAL, in a
    backup) then opens for nobody, not even with the master key."""
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(update: Update, _: object) -> None:
        await release.wait()
        handled.append(update.update_id)

    async def inbox_rows() -> list[tuple[bytes, str]]:
        async with db.read() as conn:
            rows = await conn.fetch_all("SELECT sealed, key_window FROM inbox")
        return [(bytes(row[0]), row[1]) for row in rows]

    async def stored(name: str) -> bool:
        async with db.read() as conn:
            rows = await conn.fetch_all("SELECT 1 FROM window_keys WHERE name = ?", [name])
        return bool(list(rows))

    async with FakeTelegram() as fake:
        application = _application(fake, slow)
        vault = _vault()
        await application.initialize()
        pipeline = UpdatePipeline(application, db, vault, poll_timeout=1)
        try:
            await pipeline.start()
            fake.inject_update(_private_text(1, 8_500_000_001))
            for _ in range(1000):
                rows = await inbox_rows()
                if rows:
                    break
                await asyncio.sleep(0.01)
            [(sealed, key_name)] = rows
            assert key_name is not None and await stored(key_name), "sealed under a stored key"
            release.set()
            await _wait_until(lambda: handled == [1])
            for _ in range(1000):  # the key goes about a second after its batch was handled
                if not await stored(key_name):
                    break
                await asyncio.sleep(0.01)
            assert not await stored(key_name), "the batch's key is deleted once it is handled"
            await pipeline.stop()
        finally:
            await application.shutdown()
    assert b"8500000001" not in sealed
    with pytest.raises(VaultError):  # the master key alone opens nothing
        vault.open_transient("inbox", "1", sealed)
    async with db.read() as conn:
        assert not list(await conn.fetch_all("SELECT * FROM window_keys"))
        assert not list(await conn.fetch_all("SELECT * FROM inbox"))
    await db.close()
