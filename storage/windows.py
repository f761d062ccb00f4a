"""Window keys: short-lived random keys, wrapped by the master key, deleted when unused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Connection, Row, fetch_all

_COLUMNS = "name, purpose, key_id, wrapped_key, opens_at, expires_at"


@dataclass(frozen=True)
class WindowKeyRecord:
    name: str
    purpose: str
    key_id: str
    wrapped_key: bytes
    opens_at: int
    expires_at: int


def _record(row: Row) -> WindowKeyRecord:
    return WindowKeyRecord(
        name=row[0],
        purpose=row[1],
        key_id=row[2],
        wrapped_key=bytes(row[3]),
        opens_at=int(row[4]),
        expires_at=int(row[5]),
    )


async def insert(conn: Connection, record: WindowKeyRecord) -> None:
    """Store a key; a key of that name already stored is kept (it was first)."""
    await conn.run(
        f"INSERT INTO window_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            record.name,
            record.purpose,
            record.key_id,
            record.wrapped_key,
            record.opens_at,
            record.expires_at,
        ),
    )


async def by_names(conn: Connection, names: Sequence[str]) -> list[WindowKeyRecord]:
    if not names:
        return []
    marks = ", ".join("?" for _ in names)
    rows = await fetch_all(
        conn, f"SELECT {_COLUMNS} FROM window_keys WHERE name IN ({marks})", list(names)
    )
    return [_record(row) for row in rows]


async def live(conn: Connection, purposes: Sequence[str], now: int) -> list[WindowKeyRecord]:
    """Keys of these purposes whose time is not over."""
    marks = ", ".join("?" for _ in purposes)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM window_keys WHERE purpose IN ({marks}) AND expires_at > ?",
        [*purposes, now],
    )
    return [_record(row) for row in rows]


async def delete_expired(conn: Connection, purposes: Sequence[str], now: int) -> list[str]:
    """Delete the keys of these purposes whose time is over; their names."""
    marks = ", ".join("?" for _ in purposes)
    rows = await fetch_all(
        conn,
        f"DELETE FROM window_keys WHERE purpose IN ({marks}) AND expires_at <= ? RETURNING name",
        [*purposes, now],
    )
    return [str(row[0]) for row in rows]


async def delete_unused_inbox_keys(conn: Connection, purpose: str, keep: str | None = None) -> int:
    """Delete the inbox's keys (of `purpose`) that seal no inbox row any more, but `keep`."""
    changed = await conn.run(
        f"DELETE FROM window_keys WHERE purpose = ? AND name {conn.dialect.is_distinct} ?"
        " AND NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.key_window = window_keys.name)",
        (purpose, keep),
    )
    return changed
