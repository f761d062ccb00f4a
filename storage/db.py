"""The SQLite connection: pragmas in one place, one writer, ordered migrations.

All access goes through one aiosqlite connection guarded by a lock, so a transaction is never
interleaved with another coroutine's statements. Writes use BEGIN IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

DB_FILENAME = "tipline.sqlite3"
BUSY_TIMEOUT_MS = 10_000
# After a checkpoint lets the WAL start again from its beginning, it is truncated to this size:
# the file stays bounded between the checkpoints that truncate it to nothing.
JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used by this version of the code."""


class Migration:
    """One numbered SQL script from storage/migrations/."""

    def __init__(self, version: int, name: str, sql: str) -> None:
        self.version = version
        self.name = name
        self.sql = sql


def shipped_migrations() -> list[Migration]:
    """The migrations packaged with the code, in order; numbering must have no gaps."""
    found: list[Migration] = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise DatabaseError(f"migration numbering has a gap before {migration.name}")
    return found


class Database:
    """One connection, one lock; `transaction()` for writes, `read()` for consistent reads."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, data_dir: Path) -> Database:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True, mode=0o700)
        path = data_dir / DB_FILENAME
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}")
            await conn.execute("PRAGMA trusted_schema = OFF")
        except BaseException:
            await conn.close()
            raise
        conn.row_factory = aiosqlite.Row
        return cls(conn, path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def user_version(self) -> int:
        async with self._lock:
            return await self._user_version()

    async def _user_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> int:
        """Apply pending migrations in one transaction; refuse a database newer than the code."""
        available = list(migrations) if migrations is not None else shipped_migrations()
        latest = available[-1].version if available else 0
        async with self._lock:
            current = await self._user_version()
            if current > latest:
                raise DatabaseError(
                    f"the database is at schema version {current} but this code knows only "
                    f"{latest}: upgrade tipline before using this database"
                )
            pending = [m for m in available if m.version > current]
            if not pending:
                return current
            body = "\n".join(m.sql for m in pending)
            script = f"BEGIN IMMEDIATE;\n{body}\nPRAGMA user_version = {latest};\nCOMMIT;"
            try:
                await self._conn.executescript(script)
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.rollback()
                raise
            return latest

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        async with self._lock:
            try:
                # Inside the try: a cancel that lands while BEGIN is on its way to the database
                # thread must still roll it back, or the connection stays in a transaction.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
            except BaseException:
                # The database thread runs requests in order, so this follows the BEGIN
                # whether or not it had run yet; shielded so a second cancel cannot skip it.
                await asyncio.shield(self._conn.rollback())
                raise
            else:
                await self._conn.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Consistent reads. The bot is the only writer of its data and every write holds this
        lock, so while it is held nothing changes between two statements: no BEGIN ... COMMIT
        is needed, which saves two trips to the database thread per read."""
        async with self._lock:
            yield self._conn

    async def checkpoint(self, wait_ms: int | None = None) -> bool:
        """Fold the WAL into the main file and truncate it; False if another connection's read
        kept it from completing. Never inside a transaction: it takes the lock. `wait_ms`
        bounds how long it waits for such a reader (the busy timeout otherwise), since the
        lock is held meanwhile."""
        async with self._lock:
            if wait_ms is not None:
                await self._conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
            try:
                rows = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                if wait_ms is not None:
                    await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = next(iter(rows), None)
        return row is not None and int(row[0]) == 0


# Each call below is one trip to aiosqlite's thread (execute, fetch and close in one go): a
# trip costs about 30 microseconds of CPU, and the benchmark showed them adding up.


async def fetch_one(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> aiosqlite.Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetch_all(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))
