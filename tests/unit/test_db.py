"""The database: pragmas, ordered migrations in one transaction, newer schemas refused."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.services.checkpoints import Checkpoints
from storage.db import Database, DatabaseError, Migration, shipped_migrations


async def test_connection_pragmas(tmp_path) -> None:
    db = await Database.open(tmp_path)
    try:
        async with db.read() as conn:
            values = {}
            for pragma in ("journal_mode", "synchronous", "foreign_keys", "secure_delete"):
                async with conn.execute(f"PRAGMA {pragma}") as cursor:
                    row = await cursor.fetchone()
                    values[pragma] = row[0]
    finally:
        await db.close()
    assert values == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "secure_delete": 1,
    }


async def test_shipped_migrations_apply_once_and_set_user_version(tmp_path) -> None:
    latest = shipped_migrations()[-1].version
    db = await Database.open(tmp_path)
    try:
        assert await db.migrate() == latest
        assert await db.migrate() == latest
        assert await db.user_version() == latest
    finally:
        await db.close()


async def test_a_failing_migration_leaves_nothing_behind(tmp_path) -> None:
    good = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    bad = Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;")
    db = await Database.open(tmp_path)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await db.migrate([good, bad])
        assert await db.user_version() == 0
        async with db.read() as conn:
            async with conn.execute("SELECT name FROM sqlite_master WHERE type='table'") as cur:
                assert await cur.fetchall() == []
        assert await db.migrate([good]) == 1
    finally:
        await db.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path) -> None:
    db = await Database.open(tmp_path)
    try:
        await db.migrate()
        newer = len(shipped_migrations()) + 1
        async with db.transaction() as conn:
            await conn.execute(f"PRAGMA user_version = {newer}")
        with pytest.raises(DatabaseError, match="upgrade tipline"):
            await db.migrate()
    finally:
        await db.close()


async def test_transaction_rolls_back_on_error(tmp_path) -> None:
    db = await Database.open(tmp_path)
    try:
        await db.migrate([Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")])
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO a VALUES (1)")
                raise RuntimeError("boom")
        async with db.read() as conn:
            async with conn.execute("SELECT COUNT(*) FROM a") as cursor:
                assert (await cursor.fetchone())[0] == 0
    finally:
        await db.close()


@pytest.mark.parametrize("stage", ["begin", "body", "commit"])
async def test_a_transaction_cancelled_at_any_await_leaves_no_transaction_open(
    tmp_path, stage
) -> None:
    """A stop cancels tasks wherever they are. A cancel that lands while BEGIN or COMMIT is on
    its way to the database thread must not leave the one connection inside a transaction:
    every later write would fail, and the closing checkpoint with "table is locked"."""
    db = await Database.open(tmp_path)
    try:
        await db.migrate([Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")])
        inside = asyncio.Event()

        async def write() -> None:
            async with db.transaction() as conn:
                if stage == "body":
                    inside.set()
                    await asyncio.sleep(3600)
                await conn.execute("INSERT INTO a VALUES (1)")
                if stage == "commit":
                    inside.set()

        for _ in range(50):  # where exactly the cancel lands varies from run to run
            task = asyncio.create_task(write())
            if stage == "begin":
                while not db._lock.locked():
                    await asyncio.sleep(0)
            else:
                await inside.wait()
                inside.clear()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with db.transaction() as conn:  # refused if a transaction was left open
                await conn.execute("DELETE FROM a")
            assert await db.checkpoint()
    finally:
        await db.close()


async def test_an_applied_update_cannot_apply_twice(tmp_path) -> None:
    from bot.services.unit import Inbound, SecondWrite, Transactions, handling
    from storage.inbox import AlreadyApplied

    db = await Database.open(tmp_path)
    try:
        await db.migrate()
        await db.migrate([*shipped_migrations()])
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE effects (x INTEGER)")
        units = Transactions(db)
        with handling(Inbound([b"update-7"], 1)):
            with pytest.raises(ValueError):  # a refusal rolls back and does not count
                async with units.transaction() as conn:
                    await conn.execute("INSERT INTO effects VALUES (0)")
                    raise ValueError
            async with units.transaction() as conn:
                await conn.execute("INSERT INTO effects VALUES (1)")
            with pytest.raises(SecondWrite):  # one update, one write transaction
                async with units.transaction() as conn:
                    await conn.execute("INSERT INTO effects VALUES (2)")
            async with units.read() as conn:  # reads after the write are fine
                assert [tuple(r) for r in await conn.execute_fetchall("SELECT x FROM effects")] == [
                    (1,)
                ]
        with handling(Inbound([b"update-7"], 2)):  # the update comes again
            with pytest.raises(AlreadyApplied):
                async with units.transaction() as conn:
                    await conn.execute("INSERT INTO effects VALUES (3)")
        async with db.read() as conn:
            async with conn.execute("SELECT x FROM effects ORDER BY x") as cursor:
                assert [row[0] for row in await cursor.fetchall()] == [1]
    finally:
        await db.close()


async def test_a_task_started_while_an_update_is_handled_is_not_that_update(tmp_path) -> None:
    """PTB's job queue schedules its wake-ups from inside handlers, so its job tasks inherit
    the handling's context. Their writes are their own: they neither take the update's
    markers (and inbox row) nor count as its write."""
    import asyncio

    from bot.services.unit import Inbound, Transactions, handling

    db = await Database.open(tmp_path)
    try:
        await db.migrate()
        units = Transactions(db)
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE effects (x INTEGER)")

        async def job() -> None:
            async with units.transaction() as conn:
                await conn.execute("INSERT INTO effects VALUES (9)")

        inbound = Inbound([b"update-8"], 1)
        with handling(inbound):
            spawned = asyncio.create_task(job())
            await spawned
            assert not inbound.recorded, "the job's commit is not the update's write"
            async with units.transaction() as conn:
                await conn.execute("INSERT INTO effects VALUES (1)")
        assert inbound.recorded
        async with db.read() as conn:
            markers = await conn.execute_fetchall("SELECT COUNT(*) FROM applied_updates")
            assert next(iter(markers))[0] == 1
    finally:
        await db.close()


async def test_checkpoints_after_erasures_are_coalesced_and_truncate_the_wal(tmp_path) -> None:
    """A burst of erasures gets one checkpoint now and one when the interval is over (here
    never: it is an hour), not one each; what is still wanted runs at stop."""
    db = await Database.open(tmp_path)
    await db.migrate()
    wal = tmp_path / "tipline.sqlite3-wal"
    checkpoints = Checkpoints(db, min_interval=3600)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO applied_updates (marker, at) VALUES (x'01', 1)")
    assert wal.stat().st_size > 0
    for _ in range(50):
        checkpoints.request()
    while checkpoints.completed < 1:
        await asyncio.sleep(0.01)
    assert wal.stat().st_size == 0, "TRUNCATE leaves an empty WAL"
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM applied_updates")
    for _ in range(50):
        checkpoints.request()
    await asyncio.sleep(0)
    assert checkpoints.completed == 1 and wal.stat().st_size > 0, "the next waits its turn"
    await checkpoints.stop()
    assert checkpoints.completed == 2 and wal.stat().st_size == 0
    await db.close()
