"""The database behind storage: SQLite (the embedded default) or PostgreSQL.

`Database.open(data_dir)` opens the SQLite file in the data directory; with a PostgreSQL URL
(`TIPLINE_DATABASE_URL`) it connects there instead (`storage.postgres`). Either way there is one
connection guarded by a lock, so a transaction is never interleaved with another coroutine's
statements; `transaction()` writes (BEGIN IMMEDIATE on SQLite), `read()` reads consistently.
Storage's repositories take a `Connection`: the few calls they make, implemented for both.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from storage.dialect import SQLITE, Dialect

DB_FILENAME = "tipline.sqlite3"
BUSY_TIMEOUT_MS = 10_000
# After a checkpoint lets the WAL start again from its beginning, it is truncated to this size:
# the file stays bounded between the checkpoints that truncate it to nothing.
JOURNAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# PostgreSQL's migrations mirror SQLite's, file for file, in this folder of storage/migrations/.
POSTGRESQL_MIGRATIONS = "postgresql"


class DatabaseError(Exception):
    """The database cannot be used by this version of the code."""


class IntegrityError(Exception):
    """A statement broke a constraint (a unique key, a foreign key, a check), either database."""


class Row(Protocol):
    """A result row: by column name or by position (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...


class Connection(Protocol):
    """What storage's repositories ask of a connection; `?` placeholders on both databases."""

    @property
    def dialect(self) -> Dialect: ...

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement; how many rows it changed."""
        ...

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each of `rows`."""
        ...

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One INSERT into a table with an `id` column; the new row's id."""
        ...

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def lock(self, name: str) -> None:
        """Hold a lock named `name` until the transaction ends, against other writers (an
        id allocated as MAX() + 1, the audit chain's next row). SQLite needs none: BEGIN
        IMMEDIATE already lets one writer in at a time."""
        ...


class Migration:
    """One numbered SQL script from storage/migrations/."""

    def __init__(self, version: int, name: str, sql: str) -> None:
        self.version = version
        self.name = name
        self.sql = sql


def _read_migrations(folder: Traversable) -> list[Migration]:
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def shipped_migrations(
    dialect: Dialect = SQLITE, folder: Traversable | None = None
) -> list[Migration]:
    """The migrations packaged with the code (or in `folder`) for this database, in order.
    Numbering must have no gaps, and SQLite's and PostgreSQL's sets must name the same files:
    a migration added for one database only is refused here, loudly, for both."""
    if folder is None:
        folder = resources.files("storage").joinpath("migrations")
    sqlite_set = _read_migrations(folder)
    postgres_set = _read_migrations(folder.joinpath(POSTGRESQL_MIGRATIONS))
    for expected, migration in enumerate(sqlite_set, start=1):
        if migration.version != expected:
            raise DatabaseError(f"migration numbering has a gap before {migration.name}")
    only_sqlite = sorted({m.name for m in sqlite_set} - {m.name for m in postgres_set})
    only_postgres = sorted({m.name for m in postgres_set} - {m.name for m in sqlite_set})
    if only_sqlite or only_postgres:
        raise DatabaseError(
            "the SQLite and PostgreSQL migrations differ: "
            + "; ".join(
                part
                for part in (
                    only_sqlite
                    and f"storage/migrations/{POSTGRESQL_MIGRATIONS}/ lacks "
                    + ", ".join(only_sqlite),
                    only_postgres and "storage/migrations/ lacks " + ", ".join(only_postgres),
                )
                if part
            )
        )
    return postgres_set if dialect.name == "postgresql" else sqlite_set


class Database(ABC):
    """One connection, one lock; `transaction()` for writes, `read()` for consistent reads."""

    dialect: Dialect

    @classmethod
    async def open(cls, data_dir: Path, url: str | None = None) -> Database:
        """The SQLite file in `data_dir`, or with a PostgreSQL `url` that database (the data
        directory still holds the attachments and the lock)."""
        if url:
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(url)
        return await SqliteDatabase.open_file(data_dir)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def user_version(self) -> int:
        """The schema version the database is at (0: none applied)."""

    @abstractmethod
    async def migrate(self, migrations: Iterable[Migration] | None = None) -> int:
        """Apply pending migrations in one transaction; refuse a database newer than the code."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """BEGIN ... COMMIT, rolled back on any exception."""

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Connection]:
        """Consistent reads."""

    @abstractmethod
    async def checkpoint(self, wait_ms: int | None = None) -> bool:
        """Make erased rows leave the database's own log, where the database can; False if
        that could not complete now."""


def _newer_than_code(current: int, latest: int) -> DatabaseError:
    return DatabaseError(
        f"the database is at schema version {current} but this code knows only "
        f"{latest}: upgrade tipline before using this database"
    )


class SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection with storage's calls. Each is one trip to aiosqlite's thread
    (execute, fetch and close in one go): a trip costs about 30 microseconds of CPU, and the
    benchmark showed them adding up."""

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            cursor = await self.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return cursor.rowcount

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            cursor = await self.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.execute_fetchall(sql, tuple(params)))

    async def lock(self, name: str) -> None:
        return None


class SqliteDatabase(Database):
    """The SQLite file: WAL, one writer (BEGIN IMMEDIATE), pragmas in one place."""

    dialect = SQLITE

    def __init__(self, connection: SqliteConnection, path: Path) -> None:
        self._conn = connection
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open_file(cls, data_dir: Path) -> SqliteDatabase:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True, mode=0o700)
        path = data_dir / DB_FILENAME

        def connector() -> sqlite3.Connection:
            return sqlite3.connect(path, isolation_level=None)

        conn = SqliteConnection(connector, 64)
        await conn
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
                raise _newer_than_code(current, latest)
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
    async def transaction(self) -> AsyncIterator[SqliteConnection]:
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
    async def read(self) -> AsyncIterator[SqliteConnection]:
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


# Storage's repositories call these (or the connection's methods directly): each returns the
# connection's own awaitable, so the call adds no step of its own.


def fetch_one(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Awaitable[Row | None]:
    return conn.fetch_one(sql, params)


def fetch_all(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Awaitable[list[Row]]:
    return conn.fetch_all(sql, params)
