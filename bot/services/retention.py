"""Retention: a closed tip's content is destroyed after the policy's period.

Destroying means crypto-shredding: the wrapped data key and every sealed field are deleted,
the attachment files removed, and the WAL checkpointed and truncated so no old page keeps a
copy (`secure_delete` zeroes freed space in the database file itself). What remains is the
reference, category, dates, states, and the ledger's amounts.

The outbox's record of a finished delivery (its payload was erased when it was sent) is
deleted after `[retention] outbox_days`, and so is an incoming update set aside as poison
(kept sealed that long so an operator can look into it), with the key that sealed it.
"""

from __future__ import annotations

import asyncio
import logging

from bot.crypto.windows import INBOX
from bot.domain.reward import IN_PROGRESS
from bot.domain.timing import coarse
from bot.services.base import ServiceEnv, UseCases
from storage import drafts, inbox, outbox, reports
from storage import outcomes as outcomes_repo
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage import windows as window_keys
from storage.db import Connection
from storage.records import ReportRecord

log = logging.getLogger(__name__)

PURGE_BATCH = 2000


async def shred(conn: Connection, report: ReportRecord, now: int) -> None:
    """Destroy everything of a tip that could say who sent it or what it said: its parts, its
    key and sealed fields, event texts, reward texts, questions, prompts and queued messages.
    Kept: reference, category, dates, states, amounts (the ledger must still add up)."""
    await drafts.delete_items(conn, report.uid)
    await reports.erase_content(conn, report.id, now)
    await review_repo.erase_for_report(conn, report.id)
    await rewards_repo.erase_sealed_for_report(conn, report.id)
    await outcomes_repo.erase_note(conn, report.id)
    await outbox.erase_for_report(conn, report.id, now)


class RetentionService(UseCases):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._days = env.policy.retention_days
        self._outbox_days = env.policy.outbox_days

    async def purge_due(self) -> int:
        """Shred every report closed longer ago than the retention period; return how many."""
        now = int(self._clock())
        cutoff = now - self._days * 86_400
        shredded = 0
        while True:
            async with self._db.transaction() as conn:
                due = await reports.due_for_shredding(conn, cutoff)
                names: list[str] = []
                for report in due:
                    items = await drafts.items(conn, report.uid)
                    names += [item.blob_name for item in items if item.blob_name]
                    await shred(conn, report, now)
            for name in names:
                await self._blobs.delete(name)
            shredded += len(due)
            if len(due) < 100:
                break
        if shredded:
            self._on_erased()  # a checkpoint soon, through the one that waits at most 200 ms
            log.info("retention: destroyed the content of %d closed tip(s)", shredded)
        return shredded

    async def expire_contacts(self) -> int:
        """Erase the contact of every tip past its time (`contact_days` after the last message
        to the tipster, or its close), unless a reward is in progress or a message to the
        tipster still waits; then checkpoint, so no old page keeps the sealed chat."""
        now = int(self._clock())
        async with self._db.transaction() as conn:
            due = await reports.contacts_expired(conn, now, sorted(IN_PROGRESS))
            for report_id in due:
                await reports.clear_contact(conn, report_id, coarse(now))
        if due:
            self._on_erased()  # a checkpoint soon, through the one that waits at most 200 ms
            log.info("retention: erased the contact of %d tip(s)", len(due))
        return len(due)

    async def purge_delivery_records(self) -> int:
        """Delete outbox rows finished longer ago than `outbox_days`, a batch per transaction
        so the database lock is never held for long (the first run after an upgrade may find
        millions), and updates set aside that long ago. Not run at start-up, so it never
        delays the bot becoming ready."""
        cutoff = int(self._clock()) - self._outbox_days * 86_400
        async with self._db.transaction() as conn:
            poison = await inbox.purge_quarantined(conn, cutoff)
            if poison:
                await window_keys.delete_unused_inbox_keys(conn, INBOX)
        if poison:  # it may hold a tip's text: no old page may keep a copy
            self._on_erased()  # a checkpoint soon, through the one that waits at most 200 ms
            log.info("retention: deleted %d update(s) set aside as poison", poison)
        deleted = 0
        while True:
            async with self._db.transaction() as conn:
                batch = await outbox.purge_finished(conn, cutoff, limit=PURGE_BATCH)
            deleted += batch
            if batch < PURGE_BATCH:
                break
            await asyncio.sleep(0)  # let waiting updates have the lock between batches
        if deleted:
            log.info("retention: deleted %d old delivery record(s)", deleted)
        return deleted
