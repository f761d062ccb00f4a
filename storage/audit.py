"""The audit chain table: append rows, read them back in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosqlite

from storage.db import fetch_one
from storage.records import AuditRecord

_COLUMNS = "id, at, actor_id, action, report_ref, details, key_id, prev_mac, mac"


def _record(row: aiosqlite.Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=row["at"],
        actor_id=row["actor_id"],
        action=row["action"],
        report_ref=row["report_ref"],
        details=row["details"],
        key_id=row["key_id"],
        prev_mac=bytes(row["prev_mac"]),
        mac=bytes(row["mac"]),
    )


async def last(conn: aiosqlite.Connection) -> AuditRecord | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT 1")
    return _record(row) if row else None


async def append(conn: aiosqlite.Connection, record: AuditRecord) -> None:
    await conn.execute(
        f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.at,
            record.actor_id,
            record.action,
            record.report_ref,
            record.details,
            record.key_id,
            record.prev_mac,
            record.mac,
        ),
    )


async def walk(conn: aiosqlite.Connection) -> AsyncIterator[AuditRecord]:
    async with conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id") as cursor:
        async for row in cursor:
            yield _record(row)
