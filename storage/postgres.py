"""PostgreSQL behind storage (asyncpg), selected by a `postgresql://` URL.

One connection behind one lock, as on SQLite. A write is a READ COMMITTED transaction; the
compare-and-set updates keep racing writers apart, and what allocates an id as MAX() + 1 (a
tip's number in its year, an item's position, the audit chain's next row) first takes a
transaction-scoped advisory lock (`lock()`), so it stays right once there are several writers.
A read is a REPEATABLE READ, READ ONLY transaction: one snapshot, however many statements.
The schema version is kept in the table `schema_version`; migrations come from
storage/migrations/postgresql/, which mirrors SQLite's set file for file.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.db import (
    Database,
    DatabaseError,
    IntegrityError,
    Migration,
    Row,
    _newer_than_code,
    shipped_migrations,
)
from storage.dialect import POSTGRESQL, Dialect, postgres_placeholders

# Names of advisory locks are hashed to PostgreSQL's 64-bit lock keys under this prefix, so
# they do not collide with another application's keys on a shared server.
_LOCK_PREFIX = b"tipline:"
_MIGRATE_LOCK = "migrate"
_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version BIGINT NOT NULL)"
)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name`."""
    digest = hashlib.blake2b(_LOCK_PREFIX + name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _where(url: str) -> str:
    """host:port/database of a URL, without the user and password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}"


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresConnection:
    """storage's calls on an asyncpg connection; `?` becomes `$n`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            status = await self.raw.execute(postgres_placeholders(sql), *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        return _changed(str(status))

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(row) for row in rows]
        if not batch:
            return
        try:
            await self.raw.executemany(postgres_placeholders(sql), batch)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            new_id = await self.raw.fetchval(postgres_placeholders(sql) + " RETURNING id", *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc
        return int(new_id)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = await self.raw.fetchrow(postgres_placeholders(sql), *params)
        return row

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self.raw.fetch(postgres_placeholders(sql), *params))

    async def lock(self, name: str) -> None:
        await self.raw.execute("SELECT pg_advisory_xact_lock($1)", lock_key(name))


class PostgresDatabase(Database):
    """A PostgreSQL database; one connection, one lock."""

    dialect = POSTGRESQL

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._raw = conn
        self._conn = PostgresConnection(conn)
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        try:
            conn = await asyncpg.connect(url)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            # The URL may hold a password: the message names only where it points.
            where = _where(url)
            raise DatabaseError(
                f"cannot use the PostgreSQL database at {where} (TIPLINE_DATABASE_URL):"
                f" {type(exc).__name__}: {exc}"
            ) from None
        return cls(conn)

    async def close(self) -> None:
        async with self._lock:
            await self._raw.close()

    async def user_version(self) -> int:
        async with self._lock:
            return await self._version()

    async def _version(self) -> int:
        if await self._raw.fetchval("SELECT to_regclass('schema_version')") is None:
            return 0
        version = await self._raw.fetchval("SELECT version FROM schema_version")
        return int(version) if version is not None else 0

    async def migrate(self, migrations: Iterable[Migration] | None = None) -> int:
        available = list(migrations) if migrations is not None else shipped_migrations(POSTGRESQL)
        latest = available[-1].version if available else 0
        async with self._lock, self._raw.transaction():
            # Two processes starting at once: the second waits, then finds nothing pending.
            await self._raw.execute("SELECT pg_advisory_xact_lock($1)", lock_key(_MIGRATE_LOCK))
            current = await self._version()
            if current > latest:
                raise _newer_than_code(current, latest)
            pending = [m for m in available if m.version > current]
            if not pending:
                return current
            await self._raw.execute(_SCHEMA_TABLE)
            for migration in pending:
                await self._raw.execute(migration.sql)
            await self._raw.execute(
                "INSERT INTO schema_version (one, version) VALUES (TRUE, $1)"
                " ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                latest,
            )
            return latest

    async def _rollback(self) -> None:
        # A ROLLBACK with no transaction open only draws a warning from the server, so this is
        # safe whether or not the BEGIN before it ran.
        await self._raw.execute("ROLLBACK")

    @asynccontextmanager
    async def _within(self, begin: str) -> AsyncIterator[PostgresConnection]:
        async with self._lock:
            try:
                # Inside the try, as on SQLite: a cancel that lands on BEGIN still rolls back.
                await self._raw.execute(begin)
                yield self._conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            else:
                await self._raw.execute("COMMIT")

    def transaction(self) -> AbstractAsyncContextManager[PostgresConnection]:
        """BEGIN ... COMMIT (READ COMMITTED), rolled back on any exception."""
        return self._within("BEGIN")

    def read(self) -> AbstractAsyncContextManager[PostgresConnection]:
        """One snapshot for every statement inside, and no writes."""
        return self._within("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    async def checkpoint(self, wait_ms: int | None = None) -> bool:
        """Nothing to do: PostgreSQL's WAL is the server's. What an erasure leaves behind in it
        (and in dead tuples until VACUUM) is in the README."""
        return True
