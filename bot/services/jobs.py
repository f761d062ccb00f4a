"""Scheduled work, durable: due times live in the `schedules` table; this runs what is due.

PTB's JobQueue only triggers `sweep()` (every `[jobs] sweep_seconds`), and it also runs once at
start, so nothing that fell due while the bot was down is lost. Each row is claimed with a
compare-and-set update in the same transaction as its effects: two sweepers never run it twice.

Kinds: reward deadlines (bot.services.rewards), SLA reminders for unclaimed tips and
escalation to the review chat's admins, unanswered questions returning to review, and the digests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiosqlite

from bot.domain.policy import Policy
from bot.domain.report import OPEN, ReportStatus
from bot.services.rewards import RewardService
from storage import outbox as outbox_repo
from storage import reports, schedules
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Database
from storage.records import ScheduleRecord

REWARD_KINDS = frozenset({"reward_nudge", "claim_reminder", "offer_expiry"})
SYSTEM_ACTOR = 0


class Jobs:
    def __init__(
        self,
        db: Database,
        policy: Policy,
        rewards: RewardService,
        *,
        review_chat_id: int,
        finance_chat_id: int,
        on_outbox: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._policy = policy
        self._rewards = rewards
        self._review_chats = policy.review.chats(review_chat_id)
        self._finance_chat = finance_chat_id
        self._on_outbox = on_outbox
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    async def due(self) -> list[ScheduleRecord]:
        async with self._db.read() as conn:
            return await schedules.due(conn, self.now())

    async def sweep(self) -> int:
        """Run everything due now; return how many rows ran."""
        ran = 0
        for job in await self.due():
            if await self.run_due(job):
                ran += 1
        return ran

    async def run_due(self, job: ScheduleRecord) -> bool:
        """Claim one due row and apply its effects in one transaction; False if taken."""
        now = self.now()
        async with self._db.transaction() as conn:
            if not await schedules.claim(conn, job.id, now):
                return False
            if job.kind in REWARD_KINDS:
                await self._rewards.run_job(conn, job, now)
            elif job.kind in ("sla_reminder", "sla_escalation"):
                await self._unclaimed(conn, job, now)
            elif job.kind == "awaiting_timeout":
                await self._awaiting(conn, job, now)
            elif job.kind in ("digest_finance", "digest_review"):
                await self._digest(conn, job, now)
        self._on_outbox()
        return True

    async def _staff_text(
        self,
        conn: aiosqlite.Connection,
        report_id: int,
        chat_id: int,
        key: str,
        params: dict[str, object],
        now: int,
    ) -> None:
        report = await reports.by_id(conn, report_id)
        if report is None or report.wrapped_key is None:
            return
        sealed = self._rewards.seal_outbox(report, {"reward": 0, "key": key, "params": params})
        await outbox_repo.enqueue(
            conn,
            target="staff",
            kind="staff_text",
            report_id=report.id,
            chat_id=chat_id,
            now=now,
            not_before=now,
            sealed_payload=sealed,
        )

    async def _unclaimed(self, conn: aiosqlite.Connection, job: ScheduleRecord, now: int) -> None:
        report = await reports.by_id(conn, job.report_id) if job.report_id else None
        if report is None or report.status != ReportStatus.NEW:
            return
        hours = max(1, (now - report.submitted_at) // 3600)
        escalate = job.kind == "sla_escalation"
        await self._staff_text(
            conn,
            report.id,
            report.review_chat_id,
            "jobs.escalation" if escalate else "jobs.unclaimed",
            {"hours": hours, "admins": escalate},
            now,
        )

    async def _awaiting(self, conn: aiosqlite.Connection, job: ScheduleRecord, now: int) -> None:
        """A question unanswered for the policy's days: the tip goes back to review."""
        report = await reports.by_id(conn, job.report_id) if job.report_id else None
        if report is None or report.status != ReportStatus.AWAITING_TIPSTER:
            return
        moved = await reports.move(
            conn,
            report.id,
            expected=ReportStatus.AWAITING_TIPSTER.value,
            status=ReportStatus.IN_REVIEW.value,
            holder_id=report.holder_id,
            now=now,
            duplicate_of=report.duplicate_of,
        )
        if not moved:
            return
        await review_repo.add_event(
            conn,
            report_id=report.id,
            at=now,
            actor_id=SYSTEM_ACTOR,
            action="no_answer",
            from_status=ReportStatus.AWAITING_TIPSTER.value,
            to_status=ReportStatus.IN_REVIEW.value,
        )
        days = self._policy.review.awaiting_tipster_days
        await self._staff_text(
            conn, report.id, report.review_chat_id, "jobs.no_answer", {"days": days}, now
        )
        if report.review_message_id is not None:
            await outbox_repo.enqueue(
                conn,
                target="staff",
                kind="card_refresh",
                report_id=report.id,
                chat_id=report.review_chat_id,
                now=now,
                not_before=now,
            )

    async def _digest(self, conn: aiosqlite.Connection, job: ScheduleRecord, now: int) -> None:
        """A summary without tip content; the next one is scheduled in the same transaction."""
        if job.kind == "digest_finance":
            proposed = await rewards_repo.by_status(conn, "proposed")
            soon = now + 14 * 86_400
            expiring = [
                r
                for r in await rewards_repo.by_status(conn, "offered")
                if r.expires_at is not None and r.expires_at <= soon
            ]
            params: dict[str, object] = {
                "proposed": len(proposed),
                "expiring": len(expiring),
                "references": " ".join(
                    await _references(conn, [r.report_id for r in proposed + expiring])
                )
                or "—",
            }
            await self._notice(conn, self._finance_chat, "jobs.digest_finance", params, now)
            await schedules.add(conn, kind=job.kind, due_at=job.due_at + 86_400)
        else:
            for chat in self._review_chats:
                counts: dict[str, object] = {s.value: 0 for s in OPEN}
                for report in await reports.list_by_status(
                    conn, [s.value for s in OPEN], chat, limit=10_000
                ):
                    counts[report.status] = int(str(counts[report.status])) + 1
                await self._notice(conn, chat, "jobs.digest_review", counts, now)
            await schedules.add(conn, kind=job.kind, due_at=job.due_at + 7 * 86_400)

    async def _notice(
        self,
        conn: aiosqlite.Connection,
        chat_id: int,
        key: str,
        params: dict[str, object],
        now: int,
    ) -> None:
        payload = json.dumps({"key": key, "params": params}).encode()
        await outbox_repo.enqueue(
            conn,
            target="staff",
            kind="staff_notice",
            chat_id=chat_id,
            now=now,
            not_before=now,
            sealed_payload=payload,
        )

    async def ensure_digests(self) -> None:
        """Make sure the next daily and weekly digests are scheduled (idempotent)."""
        digests = self._policy.digests
        moment = datetime.fromtimestamp(self.now(), UTC)
        daily = moment.replace(hour=digests.finance_hour_utc, minute=0, second=0, microsecond=0)
        if daily <= moment:
            daily += timedelta(days=1)
        weekly = moment.replace(hour=digests.review_hour_utc, minute=0, second=0, microsecond=0)
        weekly += timedelta(days=(digests.review_weekday - moment.weekday()) % 7)
        if weekly <= moment:
            weekly += timedelta(days=7)
        async with self._db.transaction() as conn:
            for kind, when in (("digest_finance", daily), ("digest_review", weekly)):
                if not await schedules.pending_of_kind(conn, kind):
                    await schedules.add(conn, kind=kind, due_at=int(when.timestamp()))


async def _references(conn: aiosqlite.Connection, report_ids: list[int]) -> list[str]:
    found = []
    for report_id in report_ids:
        report = await reports.by_id(conn, report_id)
        if report is not None:
            found.append(report.reference)
    return found
