"""Builds the outbox rows a change causes, in the change's own transaction.

Every payload is a typed model of bot.domain.outbox, sealed under the tip's data key (or, for
notices about no tip, under a short-lived subkey of the master key), so the outbox holds only
sealed bytes. A tipster's message is queued only when their contact is stored, and its row
keeps only the hour it was queued (the sender coarsens its other times once it is sent).
"""

from __future__ import annotations

from bot.crypto.vault import DataKey, Vault, WrappedKey
from bot.domain.errors import TipNotFound
from bot.domain.outbox import (
    NOTICE_PURPOSE,
    CardRefresh,
    DeleteDialogue,
    Payload,
    Receipt,
    Recipient,
    StaffNotice,
    TipPosted,
    notice_context,
)
from bot.domain.timing import coarse
from storage import outbox, reports
from storage.db import Connection
from storage.records import ReportRecord


class Notifier:
    def __init__(self, vault: Vault, contact_seconds: int | None = None) -> None:
        """`contact_seconds`: how long after a message to the tipster their contact is kept
        (only the services, which send to tipsters, need it)."""
        self._vault = vault
        self._contact_seconds = contact_seconds

    def key(self, report: ReportRecord) -> DataKey:
        """The tip's data key; a shredded tip has none and is not found."""
        if report.key_id is None or report.wrapped_key is None:
            raise TipNotFound(reference=report.reference)
        return self._vault.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))

    async def _enqueue(
        self,
        conn: Connection,
        report: ReportRecord,
        payload: Payload,
        now: int,
        *,
        chat_id: int | None = None,
        not_before: int | None = None,
        sealed: bool = True,
    ) -> None:
        tipster = payload.recipient is Recipient.TIPSTER
        await outbox.enqueue(
            conn,
            target=payload.recipient,
            kind=payload.kind,
            report_id=report.id,
            chat_id=chat_id,
            now=coarse(now) if tipster else now,
            not_before=now if not_before is None else not_before,
            sealed_payload=self.key(report).seal("outbox", payload.dump()) if sealed else None,
        )

    async def post_tip(
        self, conn: Connection, report: ReportRecord, now: int, *, not_before: int
    ) -> None:
        """The tip's post in its review chat, after the post delay."""
        await self._enqueue(
            conn,
            report,
            TipPosted(),
            now,
            chat_id=report.review_chat_id,
            not_before=not_before,
            sealed=False,
        )

    async def card(self, conn: Connection, report: ReportRecord, now: int) -> None:
        """Refresh the tip's card; a post still on its way will show the current state."""
        if report.review_message_id is not None:
            await self._enqueue(
                conn, report, CardRefresh(), now, chat_id=report.review_chat_id, sealed=False
            )

    async def to_staff(
        self,
        conn: Connection,
        report: ReportRecord,
        chat_id: int,
        payload: Payload,
        now: int,
        *,
        not_before: int | None = None,
    ) -> None:
        assert payload.recipient is Recipient.STAFF
        await self._enqueue(conn, report, payload, now, chat_id=chat_id, not_before=not_before)

    async def to_tipster(
        self,
        conn: Connection,
        report: ReportRecord,
        payload: Payload,
        now: int,
        *,
        not_before: int | None = None,
    ) -> None:
        """A message to the tipster; nothing when they chose no contact or erased it. A
        receipt and a dialogue deletion carry their chat and go out either way."""
        assert payload.recipient is Recipient.TIPSTER
        if report.sealed_contact is None and not isinstance(payload, Receipt | DeleteDialogue):
            return
        await self._enqueue(conn, report, payload, now, not_before=not_before)
        if report.sealed_contact is not None:  # news keeps the contact a while longer
            assert self._contact_seconds is not None, "a tipster's notifier needs contact_days"
            # To the hour: the receipt is queued the moment the tipster sends the tip.
            await reports.extend_contact(conn, report.id, coarse(now) + self._contact_seconds)

    async def notice(self, conn: Connection, chat_id: int, payload: StaffNotice, now: int) -> None:
        """A staff notice about no tip in particular (digests)."""
        sealed = self._vault.seal_transient(NOTICE_PURPOSE, notice_context(chat_id), payload.dump())
        await outbox.enqueue(
            conn,
            target=payload.recipient,
            kind=payload.kind,
            chat_id=chat_id,
            now=now,
            not_before=now,
            sealed_payload=sealed,
        )
