"""Opening the vault against the database, and rotating the master key.

The index secret (for receipts, claim codes, update markers and audit MACs) is created once and
kept wrapped in `vault_keys`. Rotation puts a new master key first in the key file, re-wraps
every data key, every window key (pseudonyms, the inbox) and the index secret under it, and says
when the old key may be removed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.crypto.vault import (
    INDEX_KEY_NAME,
    KEY_BYTES,
    KeyRing,
    Vault,
    WrappedKey,
    new_master_key_text,
)
from bot.domain.outbox import NOTICE_PURPOSE, notice_context
from storage import inbox as inbox_repo
from storage import keys as keys_repo
from storage import outbox as outbox_repo
from storage.db import Database

_INDEX_UID = "vault:index"


async def open_vault(ring: KeyRing, db: Database) -> Vault:
    """The vault with its index secret, creating (and storing) the secret on first start."""
    bootstrap = Vault(ring)
    async with db.transaction() as conn:
        stored = await keys_repo.get_secret(conn, INDEX_KEY_NAME)
        if stored is None:
            material = secrets.token_bytes(KEY_BYTES)
            wrapped = bootstrap.wrap(_INDEX_UID, material)
            await keys_repo.put_secret(conn, INDEX_KEY_NAME, wrapped.key_id, wrapped.blob)
            return Vault(ring, material)
    key_id, blob = stored
    index = bootstrap.unwrap(_INDEX_UID, WrappedKey(key_id, blob))
    return Vault(ring, index.material)


@dataclass(frozen=True)
class Rotation:
    new_key_id: str
    rewrapped: int
    resealed: int
    retired_key_ids: tuple[str, ...]
    # Rows still under a retired key after the rotation (0 unless something wrote meanwhile).
    left_under_retired: int


def add_key_to_file(path: Path) -> KeyRing:
    """Put a new master key first in the key file (atomically, mode 0600); keep the others."""
    old = path.read_text("ascii").splitlines() if path.exists() else []
    lines = [new_master_key_text(), *[line for line in old if line.strip()]]
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)  # the rename itself survives a power cut
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return KeyRing.from_file(path)


async def rewrap_all(ring: KeyRing, db: Database) -> Rotation:
    """Re-wrap every data key, every window key and the index secret under the ring's primary
    key."""
    vault = Vault(ring)
    primary = ring.primary.key_id
    count = 0
    for table, id_column in keys_repo.WRAPPED_KEY_TABLES:
        while True:
            async with db.transaction() as conn:
                rows = await keys_repo.wrapped_not_under(conn, table, id_column, primary)
                for row_id, key_id, blob in rows:
                    fresh = vault.rewrap(row_id, WrappedKey(key_id, blob))
                    await keys_repo.rewrap(conn, table, id_column, row_id, fresh.key_id, fresh.blob)
            count += len(rows)
            if not rows:
                break
    async with db.transaction() as conn:
        stored = await keys_repo.get_secret(conn, INDEX_KEY_NAME)
        if stored is not None and stored[0] != primary:
            fresh = vault.rewrap(_INDEX_UID, WrappedKey(*stored))
            await keys_repo.put_secret(conn, INDEX_KEY_NAME, fresh.key_id, fresh.blob)
            count += 1
    resealed = await _reseal_transient(vault, db)
    await db.checkpoint()
    retired = tuple(key.key_id for key in ring.keys[1:])
    return Rotation(primary, count, resealed, retired, await _left_under_retired(db, primary))


def _sealed_by(sealed: bytes) -> str:
    return sealed.partition(b":")[0].decode("ascii", "replace")


async def _reseal_transient(vault: Vault, db: Database) -> int:
    """Re-seal what is sealed under a transient subkey (updates an earlier version put in the
    inbox, pending staff notices) under the primary key, so the retired key can go without
    losing them. Updates sealed under a window key need nothing: their key was re-wrapped."""
    primary = vault.ring.primary.key_id
    count = 0
    async with db.transaction() as conn:
        for update_id, sealed in await inbox_repo.all_sealed(conn):
            if _sealed_by(sealed) != primary:
                plain = vault.open_transient("inbox", str(update_id), sealed)
                await inbox_repo.reseal(
                    conn, update_id, vault.seal_transient("inbox", str(update_id), plain)
                )
                count += 1
        for row_id, chat_id, sealed in await outbox_repo.pending_notices(conn):
            if _sealed_by(sealed) != primary and not sealed.startswith(b"{"):
                context = notice_context(chat_id)
                plain = vault.open_transient(NOTICE_PURPOSE, context, sealed)
                await outbox_repo.reseal(
                    conn, row_id, vault.seal_transient(NOTICE_PURPOSE, context, plain)
                )
                count += 1
    return count


async def _left_under_retired(db: Database, primary: str) -> int:
    """Everything still sealed or wrapped by a key other than the primary."""
    left = 0
    async with db.read() as conn:
        for table, id_column in keys_repo.WRAPPED_KEY_TABLES:
            left += len(await keys_repo.wrapped_not_under(conn, table, id_column, primary))
        stored = await keys_repo.get_secret(conn, INDEX_KEY_NAME)
        left += int(stored is not None and stored[0] != primary)
        left += sum(_sealed_by(s) != primary for _, s in await inbox_repo.all_sealed(conn))
        left += sum(
            _sealed_by(s) != primary and not s.startswith(b"{")
            for _, _, s in await outbox_repo.pending_notices(conn)
        )
    return left
