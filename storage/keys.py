"""Wrapped keys in the database: the vault's own secrets, every report's and draft's key, and the
window keys (pseudonyms, the inbox)."""

from __future__ import annotations

from storage.db import Connection, fetch_all, fetch_one

# (table, id column) of every table holding wrapped data keys; the id is what the wrap is bound
# to.
WRAPPED_KEY_TABLES = (("reports", "uid"), ("drafts", "uid"), ("window_keys", "name"))


async def get_secret(conn: Connection, name: str) -> tuple[str, bytes] | None:
    row = await fetch_one(conn, "SELECT key_id, wrapped_key FROM vault_keys WHERE name = ?", [name])
    return (row[0], bytes(row[1])) if row else None


async def put_secret(conn: Connection, name: str, key_id: str, wrapped: bytes) -> None:
    await conn.run(
        "INSERT INTO vault_keys (name, key_id, wrapped_key) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id,"
        " wrapped_key = excluded.wrapped_key",
        (name, key_id, wrapped),
    )


async def wrapped_not_under(
    conn: Connection, table: str, id_column: str, key_id: str, limit: int = 500
) -> list[tuple[str, str, bytes]]:
    """(id, key id, wrapped key) of rows whose data key is not wrapped by `key_id`."""
    assert (table, id_column) in WRAPPED_KEY_TABLES
    rows = await fetch_all(
        conn,
        f"SELECT {id_column}, key_id, wrapped_key FROM {table}"
        " WHERE wrapped_key IS NOT NULL AND key_id != ? LIMIT ?",
        [key_id, limit],
    )
    return [(row[0], row[1], bytes(row[2])) for row in rows]


async def rewrap(
    conn: Connection, table: str, id_column: str, row_id: str, key_id: str, wrapped: bytes
) -> None:
    assert (table, id_column) in WRAPPED_KEY_TABLES
    await conn.run(
        f"UPDATE {table} SET key_id = ?, wrapped_key = ? WHERE {id_column} = ?",
        (key_id, wrapped, row_id),
    )
