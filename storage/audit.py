"""The audit chain table: append rows, read them back in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.records import AuditRecord

_COLUMNS = "id, at, actor_id, action, report_ref, details, key_id, prev_mac, mac"


def _record(row: Row) -> AuditRecord:
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


async def last(conn: Connection) -> AuditRecord | None:
    """The chain's last row; the next one is numbered after it, so until the transaction ends
    no other writer may append (`lock`)."""
    await conn.lock("audit")
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT 1")
    return _record(row) if row else None


async def append(conn: Connection, record: AuditRecord) -> None:
    await conn.run(
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


async def walk(conn: Connection, page: int = 1000) -> AsyncIterator[AuditRecord]:
    """Every row in order, a page at a time (the chain may be long)."""
    after = -1
    while True:
        rows = await fetch_all(
            conn, f"SELECT {_COLUMNS} FROM audit WHERE id > ? ORDER BY id LIMIT ?", [after, page]
        )
        for row in rows:
            yield _record(row)
        if len(rows) < page:
            return
        after = int(rows[-1]["id"])
