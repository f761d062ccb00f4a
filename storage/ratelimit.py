"""Counters per (bucket, pseudonymous subject, time window)."""

from __future__ import annotations

from storage.db import Connection, fetch_one


async def count(conn: Connection, bucket: str, subject: bytes, window: str) -> int:
    row = await fetch_one(
        conn,
        'SELECT count FROM rate_counters WHERE bucket = ? AND subject = ? AND "window" = ?',
        [bucket, subject, window],
    )
    return int(row[0]) if row else 0


async def increment(conn: Connection, bucket: str, subject: bytes, window: str) -> int:
    await conn.run(
        'INSERT INTO rate_counters (bucket, subject, "window", count) VALUES (?, ?, ?, 1)'
        ' ON CONFLICT (bucket, subject, "window") DO UPDATE SET count = rate_counters.count + 1',
        (bucket, subject, window),
    )
    return await count(conn, bucket, subject, window)


async def purge_other_windows(conn: Connection, bucket: str, keep_windows: list[str]) -> None:
    marks = ", ".join("?" for _ in keep_windows)
    await conn.run(
        f'DELETE FROM rate_counters WHERE bucket = ? AND "window" NOT IN ({marks})',
        (bucket, *keep_windows),
    )
