"""The update inbox and the markers of applied updates."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite

from storage.db import fetch_all


class AlreadyApplied(Exception):
    """These markers are already committed: the work they name must change nothing again."""


async def store(conn: aiosqlite.Connection, rows: Sequence[tuple[int, bytes]], now: int) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO inbox (update_id, sealed, received_at) VALUES (?, ?, ?)",
        [(update_id, sealed, now) for update_id, sealed in rows],
    )


async def pending(conn: aiosqlite.Connection, limit: int = 500) -> list[tuple[int, bytes]]:
    rows = await fetch_all(
        conn, "SELECT update_id, sealed FROM inbox ORDER BY update_id LIMIT ?", [limit]
    )
    return [(int(row[0]), bytes(row[1])) for row in rows]


async def remove(conn: aiosqlite.Connection, update_id: int) -> None:
    await conn.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))


async def purge_applied(conn: aiosqlite.Connection, before: int) -> None:
    await conn.execute("DELETE FROM applied_updates WHERE at < ?", (before,))


async def record_applied(conn: aiosqlite.Connection, markers: Sequence[bytes], now: int) -> None:
    """Record markers of applied work; AlreadyApplied when any of them is already recorded."""
    try:
        await conn.executemany(
            "INSERT INTO applied_updates (marker, at) VALUES (?, ?)",
            [(marker, now) for marker in markers],
        )
    except sqlite3.IntegrityError:
        raise AlreadyApplied() from None
