"""The database: pragmas, ordered migrations in one transaction, newer schemas refused. The
tests taking `database_url` run on SQLite and on PostgreSQL (tests/postgres.py)."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest

from bot.services.checkpoints import Checkpoints
from storage import reports
from storage.db import Database, DatabaseError, Migration, shipped_migrations
from storage.dialect import POSTGRESQL, postgres_placeholders


async def _tables(db: Database) -> list[str]:
    async with db.read() as conn:
        if db.dialect.name == "sqlite":
            rows = await conn.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = await conn.fetch_all(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_name != 'schema_version'"
            )
    return sorted(row[0] for row in rows)


async def _set_version(db: Database, version: int) -> None:
    async with db.transaction() as conn:
        if db.dialect.name == "sqlite":
            await conn.run(f"PRAGMA user_version = {version}")
        else:
            await conn.run("UPDATE schema_version SET version = ?", [version])


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


async def test_shipped_migrations_apply_once_and_set_user_version(tmp_path, database_url) -> None:
    latest = shipped_migrations()[-1].version
    db = await Database.open(tmp_path, database_url)
    try:
        assert await db.migrate() == latest
        assert await db.migrate() == latest
        assert await db.user_version() == latest
    finally:
        await db.close()


async def test_a_failing_migration_leaves_nothing_behind(tmp_path, database_url) -> None:
    good = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    bad = Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;")
    db = await Database.open(tmp_path, database_url)
    try:
        with pytest.raises((sqlite3.OperationalError, asyncpg.PostgresSyntaxError)):
            await db.migrate([good, bad])
        assert await db.user_version() == 0
        assert await _tables(db) == []
        assert await db.migrate([good]) == 1
        assert await _tables(db) == ["a"]
    finally:
        await db.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path, database_url) -> None:
    db = await Database.open(tmp_path, database_url)
    try:
        await db.migrate()
        newer = len(shipped_migrations()) + 1
        await _set_version(db, newer)
        with pytest.raises(DatabaseError, match="upgrade tipline"):
            await db.migrate()
    finally:
        await db.close()


async def test_transaction_rolls_back_on_error(tmp_path, database_url) -> None:
    db = await Database.open(tmp_path, database_url)
    try:
        await db.migrate([Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")])
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.run("INSERT INTO a VALUES (?)", [1])
                raise RuntimeError("boom")
        async with db.read() as conn:
            assert (await conn.fetch_one("SELECT COUNT(*) FROM a"))[0] == 0
        async with db.transaction() as conn:
            assert await conn.run("INSERT INTO a VALUES (?)", [2]) == 1
        async with db.read() as conn:
            assert [row[0] for row in await conn.fetch_all("SELECT x FROM a")] == [2]
    finally:
        await db.close()


@pytest.mark.parametrize("stage", ["begin", "body", "commit"])
async def test_a_transaction_cancelled_at_any_await_leaves_no_transaction_open(
    tmp_path, stage, database_url
) -> None:
    """A stop cancels tasks wherever they are. A cancel that lands while BEGIN or COMMIT is on
    its way to the database thread must not leave the one connection inside a transaction:
    every later write would fail, and the closing checkpoint with "table is locked"."""
    db = await Database.open(tmp_path, database_url)
    try:
        await db.migrate([Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")])
        inside = asyncio.Event()

        async def write() -> None:
            async with db.transaction() as conn:
                if stage == "body":
                    inside.set()
                    await asyncio.sleep(3600)
                await conn.run("INSERT INTO a VALUES (1)")
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
                await conn.run("DELETE FROM a")
            assert await db.checkpoint()
    finally:
        await db.close()


async def test_an_applied_update_cannot_apply_twice(tmp_path, database_url) -> None:
    from bot.services.unit import Inbound, SecondWrite, Transactions, handling
    from storage.inbox import AlreadyApplied

    db = await Database.open(tmp_path, database_url)
    try:
        await db.migrate()
        await db.migrate([*shipped_migrations(db.dialect)])
        async with db.transaction() as conn:
            await conn.run("CREATE TABLE effects (x INTEGER)")
        units = Transactions(db)
        with handling(Inbound([b"update-7"], 1)):
            with pytest.raises(ValueError):  # a refusal rolls back and does not count
                async with units.transaction() as conn:
                    await conn.run("INSERT INTO effects VALUES (0)")
                    raise ValueError
            async with units.transaction() as conn:
                await conn.run("INSERT INTO effects VALUES (1)")
            with pytest.raises(SecondWrite):  # one update, one write transaction
                async with units.transaction() as conn:
                    await conn.run("INSERT INTO effects VALUES (2)")
            async with units.read() as conn:  # reads after the write are fine
                assert [tuple(r) for r in await conn.fetch_all("SELECT x FROM effects")] == [(1,)]
        with handling(Inbound([b"update-7"], 2)):  # the update comes again
            with pytest.raises(AlreadyApplied):
                async with units.transaction() as conn:
                    await conn.run("INSERT INTO effects VALUES (3)")
        async with db.read() as conn:
            rows = await conn.fetch_all("SELECT x FROM effects ORDER BY x")
            assert [row[0] for row in rows] == [1]
    finally:
        await db.close()


async def test_a_task_started_while_an_update_is_handled_is_not_that_update(
    tmp_path, database_url
) -> None:
    """PTB's job queue schedules its wake-ups from inside handlers, so its job tasks inherit
    the handling's context. Their writes are their own: they neither take the update's
    markers (and inbox row) nor count as its write."""
    import asyncio

    from bot.services.unit import Inbound, Transactions, handling

    db = await Database.open(tmp_path, database_url)
    try:
        await db.migrate()
        units = Transactions(db)
        async with db.transaction() as conn:
            await conn.run("CREATE TABLE effects (x INTEGER)")

        async def job() -> None:
            async with units.transaction() as conn:
                await conn.run("INSERT INTO effects VALUES (9)")

        inbound = Inbound([b"update-8"], 1)
        with handling(inbound):
            spawned = asyncio.create_task(job())
            await spawned
            assert not inbound.recorded, "the job's commit is not the update's write"
            async with units.transaction() as conn:
                await conn.run("INSERT INTO effects VALUES (1)")
        assert inbound.recorded
        async with db.read() as conn:
            markers = await conn.fetch_one("SELECT COUNT(*) FROM applied_updates")
            assert markers is not None and markers[0] == 1
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


def test_sqlite_and_postgresql_migrations_must_name_the_same_files(tmp_path) -> None:
    """A migration added for one database only is refused, for both, naming what is missing."""
    (tmp_path / "postgresql").mkdir()
    for name in ("0001_init.sql", "0002_more.sql"):
        (tmp_path / name).write_text("CREATE TABLE x (y INTEGER);")
    (tmp_path / "postgresql" / "0001_init.sql").write_text("CREATE TABLE x (y BIGINT);")
    for dialect in (None, POSTGRESQL):
        with pytest.raises(DatabaseError, match=r"postgresql/ lacks 0002_more\.sql"):
            shipped_migrations(*([dialect] if dialect else []), folder=tmp_path)
    (tmp_path / "postgresql" / "0002_more.sql").write_text("CREATE TABLE z (y BIGINT);")
    assert [m.name for m in shipped_migrations(POSTGRESQL, folder=tmp_path)] == [
        "0001_init.sql",
        "0002_more.sql",
    ]
    (tmp_path / "postgresql" / "0003_extra.sql").write_text("SELECT 1;")
    with pytest.raises(DatabaseError, match=r"storage/migrations/ lacks 0003_extra\.sql"):
        shipped_migrations(folder=tmp_path)


async def test_postgresql_schema_has_the_tables_and_columns_of_sqlites(
    tmp_path, postgres_url
) -> None:
    """The two migration sets build the same tables with the same columns, the same
    primary keys and the same nullability."""
    lite = await Database.open(tmp_path)
    pg = await Database.open(tmp_path, postgres_url)
    try:
        await lite.migrate()
        await pg.migrate()
        assert await _tables(lite) == await _tables(pg)
        for table in await _tables(lite):
            async with lite.read() as conn:
                rows = await conn.fetch_all(f"PRAGMA table_info({table})")
            lite_columns = [(row["name"], bool(row["notnull"] or row["pk"])) for row in rows]
            async with pg.read() as conn:
                rows = await conn.fetch_all(
                    "SELECT column_name, is_nullable FROM information_schema.columns"
                    " WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                )
            pg_columns = [(row[0], row[1] == "NO") for row in rows]
            assert lite_columns == pg_columns, table
    finally:
        await lite.close()
        await pg.close()


def test_placeholders_become_numbered_outside_quotes_and_comments() -> None:
    sql = "SELECT '?', \"a?\" FROM t -- why?\nWHERE a = ? AND b IN (?, ?)"
    assert postgres_placeholders(sql) == (
        "SELECT '?', \"a?\" FROM t -- why?\nWHERE a = $1 AND b IN ($2, $3)"
    )


async def _report(conn, year: int, seq: int) -> int:
    return await reports.insert(
        conn,
        uid=f"u{year}-{seq}",
        reference=f"T-{year}-{seq}",
        year=year,
        seq=seq,
        receipt_hash=f"h{year}-{seq}".encode(),
        category="other",
        alias="Blue Fox",
        language="en",
        status="new",
        key_id="k",
        wrapped_key=b"w",
        sealed_area=None,
        sealed_contact=None,
        review_chat_id=-100,
        now=1,
    )


async def test_two_writers_on_postgresql_never_take_the_same_tip_number(
    tmp_path, postgres_url
) -> None:
    """A tip's number is MAX(seq) + 1 in its year. With a second writer (another process) the
    second must wait for the first's commit, not read the same MAX and collide."""
    first = await Database.open(tmp_path, postgres_url)
    second = await Database.open(tmp_path, postgres_url)
    watcher = await asyncpg.connect(postgres_url)
    try:
        await first.migrate()
        taken: list[int] = []

        async def take(db: Database) -> None:
            async with db.transaction() as conn:
                seq = await reports.next_sequence(conn, 2026)
                await _report(conn, 2026, seq)
                taken.append(seq)

        async with first.transaction() as conn:
            seq = await reports.next_sequence(conn, 2026)
            await _report(conn, 2026, seq)
            taken.append(seq)
            other = asyncio.create_task(take(second))
            # The second writer is waiting for a lock before this one commits.
            while not await watcher.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ):
                assert not other.done(), other
                await asyncio.sleep(0.01)
        await other
        assert taken == [1, 2]
    finally:
        await watcher.close()
        await first.close()
        await second.close()


async def test_a_read_on_postgresql_is_one_snapshot_and_writes_nothing(
    tmp_path, postgres_url
) -> None:
    db = await Database.open(tmp_path, postgres_url)
    other = await Database.open(tmp_path, postgres_url)
    try:
        await db.migrate([Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")])
        async with db.read() as conn:
            assert (await conn.fetch_one("SELECT COUNT(*) FROM a"))[0] == 0
            async with other.transaction() as writer:
                await writer.run("INSERT INTO a VALUES (1)")
            assert (await conn.fetch_one("SELECT COUNT(*) FROM a"))[0] == 0, "one snapshot"
        async with db.read() as conn:
            assert (await conn.fetch_one("SELECT COUNT(*) FROM a"))[0] == 1
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            async with db.read() as conn:
                await conn.run("INSERT INTO a VALUES (2)")
    finally:
        await db.close()
        await other.close()
