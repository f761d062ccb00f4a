"""The audit chain: every staff decision, each row MACed together with its predecessor's MAC.

Rows hold who (staff Telegram id), what, which tip (reference) and non-content details, never
tip text or anything about the tipster. The MAC is keyed (the audit subkey of the index secret), so
rewriting history needs the key, not just write access to the database file.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from bot.crypto.vault import AUDIT_KEY_ID, Vault, VaultError
from storage import audit as audit_repo
from storage.db import Connection, Database
from storage.records import AuditRecord

GENESIS = bytes(32)


def _content(
    row_id: int,
    at: int,
    actor_id: int,
    action: str,
    report_ref: str | None,
    details: str,
    key_id: str,
    prev_mac: bytes,
) -> bytes:
    fields = [row_id, at, actor_id, action, report_ref, details, key_id, prev_mac.hex()]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class AuditLog:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    async def append(
        self,
        conn: Connection,
        *,
        at: int,
        actor_id: int,
        action: str,
        report_ref: str | None,
        details: dict[str, object] | None = None,
    ) -> None:
        """Add one row inside the caller's transaction."""
        previous = await audit_repo.last(conn)
        row_id = previous.id + 1 if previous else 1
        prev_mac = previous.mac if previous else GENESIS
        detail_text = json.dumps(details or {}, ensure_ascii=False, sort_keys=True)
        key_id = AUDIT_KEY_ID
        content = _content(row_id, at, actor_id, action, report_ref, detail_text, key_id, prev_mac)
        await audit_repo.append(
            conn,
            AuditRecord(
                id=row_id,
                at=at,
                actor_id=actor_id,
                action=action,
                report_ref=report_ref,
                details=detail_text,
                key_id=key_id,
                prev_mac=prev_mac,
                mac=self._vault.audit_mac(key_id, content),
            ),
        )

    async def verify(self, db: Database) -> ChainReport:
        """Walk the chain from the first row; report the first row that does not check out."""
        expected_id, expected_prev, rows = 1, GENESIS, 0
        async with db.read() as conn:
            async for row in audit_repo.walk(conn):
                if row.id != expected_id:
                    return ChainReport(rows, row.id, f"row {expected_id} is missing")
                if row.prev_mac != expected_prev:
                    return ChainReport(rows, row.id, "does not follow the previous row")
                content = _content(
                    row.id,
                    row.at,
                    row.actor_id,
                    row.action,
                    row.report_ref,
                    row.details,
                    row.key_id,
                    row.prev_mac,
                )
                try:
                    mac = self._vault.audit_mac(row.key_id, content)
                except VaultError:
                    return ChainReport(rows, row.id, f"signed with unknown key {row.key_id}")
                if not hmac.compare_digest(mac, row.mac):
                    return ChainReport(rows, row.id, "content was changed")
                rows += 1
                expected_id, expected_prev = row.id + 1, row.mac
        return ChainReport(rows)
