"""The update inbox and the markers of applied updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Connection, IntegrityError, fetch_all


class AlreadyApplied(Exception):
    """These markers are already committed: the work they name must change nothing again."""


async def store(
    conn: Connection,
    rows: Sequence[tuple[int, bytes]],
    now: int,
    key_window: str | None = None,
) -> None:
    """Sealed updates as fetched (under the window key named `key_window`); their handling
    starts now (attempt 1)."""
    await conn.run_many(
        "INSERT INTO inbox (update_id, sealed, received_at, attempts, key_window)"
        " VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
        [(update_id, sealed, now, key_window) for update_id, sealed in rows],
    )


@dataclass(frozen=True)
class InboxRow:
    update_id: int
    sealed: bytes
    attempts: int
    key_window: str | None = None


async def pending(conn: Connection, after: int, limit: int) -> list[InboxRow]:
    """Rows not set aside, in update order, from after `after`."""
    rows = await fetch_all(
        conn,
        "SELECT update_id, sealed, attempts, key_window FROM inbox WHERE update_id > ?"
        " AND quarantined_at IS NULL ORDER BY update_id LIMIT ?",
        [after, limit],
    )
    return [InboxRow(int(row[0]), bytes(row[1]), int(row[2]), row[3]) for row in rows]


async def count_attempt(conn: Connection, update_ids: Sequence[int]) -> None:
    await conn.run_many(
        "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?",
        [(update_id,) for update_id in update_ids],
    )


async def quarantine(conn: Connection, update_id: int, now: int) -> None:
    await conn.run("UPDATE inbox SET quarantined_at = ? WHERE update_id = ?", (now, update_id))


async def purge_quarantined(conn: Connection, before: int) -> int:
    """Delete updates set aside before `before` (kept that long for the operator to look)."""
    changed = await conn.run(
        "DELETE FROM inbox WHERE quarantined_at IS NOT NULL AND quarantined_at < ?", (before,)
    )
    return changed


async def remove(conn: Connection, update_id: int) -> None:
    await conn.run("DELETE FROM inbox WHERE update_id = ?", (update_id,))


async def purge_applied(conn: Connection, before: int) -> None:
    await conn.run("DELETE FROM applied_updates WHERE at < ?", (before,))


async def record_applied(conn: Connection, markers: Sequence[bytes], now: int) -> None:
    """Record markers of applied work; AlreadyApplied when any of them is already recorded."""
    try:
        await conn.run_many(
            "INSERT INTO applied_updates (marker, at) VALUES (?, ?)",
            [(marker, now) for marker in markers],
        )
    except IntegrityError:
        raise AlreadyApplied() from None


async def all_sealed(conn: Connection) -> list[tuple[int, bytes]]:
    """Every row (set aside or not) sealed under a subkey of a master key (by an earlier
    version), for re-sealing under a new master key. Rows under a window key need none: the
    key itself is re-wrapped."""
    rows = await fetch_all(
        conn, "SELECT update_id, sealed FROM inbox WHERE key_window IS NULL ORDER BY update_id"
    )
    return [(int(row[0]), bytes(row[1])) for row in rows]


async def reseal(conn: Connection, update_id: int, sealed: bytes) -> None:
    await conn.run("UPDATE inbox SET sealed = ? WHERE update_id = ?", (sealed, update_id))
