"""Counters per (bucket, pseudonymous subject, time window)."""

from __future__ import annotations

import aiosqlite

from storage.db import fetch_one


async def count(conn: aiosqlite.Connection, bucket: str, subject: bytes, window: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT count FROM rate_counters WHERE bucket = ? AND subject = ? AND window = ?",
        [bucket, subject, window],
    )
    return int(row[0]) if row else 0


async def increment(conn: aiosqlite.Connection, bucket: str, subject: bytes, window: str) -> int:
    await conn.execute(
        "INSERT INTO rate_counters (bucket, subject, window, count) VALUES (?, ?, ?, 1)"
        " ON CONFLICT (bucket, subject, window) DO UPDATE SET count = count + 1",
        (bucket, subject, window),
    )
    return await count(conn, bucket, subject, window)


async def purge_other_windows(
    conn: aiosqlite.Connection, bucket: str, keep_windows: list[str]
) -> None:
    marks = ", ".join("?" for _ in keep_windows)
    await conn.execute(
        f"DELETE FROM rate_counters WHERE bucket = ? AND window NOT IN ({marks})",
        (bucket, *keep_windows),
    )
