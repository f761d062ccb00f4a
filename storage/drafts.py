"""Drafts of tips being written, and the content items shared by drafts and reports."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.records import DraftRecord, ItemRecord

_DRAFT_COLUMNS = (
    "owner, uid, key_id, wrapped_key, step, language, sealed_state, created_at, updated_at"
)


def _draft(row: Row) -> DraftRecord:
    return DraftRecord(
        owner=bytes(row["owner"]),
        uid=row["uid"],
        key_id=row["key_id"],
        wrapped_key=bytes(row["wrapped_key"]),
        step=row["step"],
        language=row["language"],
        sealed_state=bytes(row["sealed_state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def find(conn: Connection, owners: Sequence[bytes]) -> DraftRecord | None:
    """The draft keyed by any of these pseudonyms (a tipster has one draft at most)."""
    if not owners:
        return None
    marks = ", ".join("?" for _ in owners)
    row = await fetch_one(
        conn, f"SELECT {_DRAFT_COLUMNS} FROM drafts WHERE owner IN ({marks})", list(owners)
    )
    return _draft(row) if row else None


async def insert(conn: Connection, draft: DraftRecord) -> None:
    await conn.run(
        f"INSERT INTO drafts ({_DRAFT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            draft.owner,
            draft.uid,
            draft.key_id,
            draft.wrapped_key,
            draft.step,
            draft.language,
            draft.sealed_state,
            draft.created_at,
            draft.updated_at,
        ),
    )


async def update(
    conn: Connection,
    owner: bytes,
    *,
    step: str,
    sealed_state: bytes,
    now: int,
    new_owner: bytes | None = None,
) -> None:
    """Change the draft's step and state; `new_owner` re-keys it (a newer pseudonym)."""
    await conn.run(
        "UPDATE drafts SET owner = ?, step = ?, sealed_state = ?, updated_at = ? WHERE owner = ?",
        (new_owner or owner, step, sealed_state, now, owner),
    )


async def delete(conn: Connection, owner: bytes) -> None:
    await conn.run("DELETE FROM drafts WHERE owner = ?", (owner,))


async def list_stale(conn: Connection, updated_before: int) -> list[DraftRecord]:
    rows = await fetch_all(
        conn, f"SELECT {_DRAFT_COLUMNS} FROM drafts WHERE updated_at < ?", [updated_before]
    )
    return [_draft(row) for row in rows]


def _item(row: Row) -> ItemRecord:
    return ItemRecord(
        uid=row["uid"],
        position=row["position"],
        sealed=bytes(row["sealed"]),
        blob_name=row["blob_name"],
    )


async def items(conn: Connection, uid: str) -> list[ItemRecord]:
    rows = await fetch_all(
        conn,
        "SELECT uid, position, sealed, blob_name FROM items WHERE uid = ? ORDER BY position",
        [uid],
    )
    return [_item(row) for row in rows]


async def add_item(conn: Connection, uid: str, sealed: bytes, blob_name: str | None) -> int:
    """Append an item after the last one and return its position (no other writer appends
    to this uid until the transaction ends)."""
    await conn.lock(f"items:{uid}")
    row = await fetch_one(
        conn, "SELECT COALESCE(MAX(position), 0) + 1 FROM items WHERE uid = ?", [uid]
    )
    position = int(row[0]) if row else 1
    await conn.run(
        "INSERT INTO items (uid, position, sealed, blob_name) VALUES (?, ?, ?, ?)",
        (uid, position, sealed, blob_name),
    )
    return position


async def delete_items(conn: Connection, uid: str) -> None:
    await conn.run("DELETE FROM items WHERE uid = ?", (uid,))
