"""Scheduled work, durable: due times live in the `schedules` table; this runs what is due.

PTB's JobQueue only triggers `sweep()` (every `[jobs] sweep_seconds`), and it also runs once at
start, so nothing that fell due while the bot was down is lost. Each row is claimed with a
compare-and-set update in the same transaction as its effects: two sweepers never run it twice.

Kinds (bot.domain.schedule): reward deadlines, SLA reminders for unclaimed tips and escalation
to the review chat's admins, unanswered questions returning to review, a tipster's answer
shown once its random delay is over, and the digests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.outbox import Param, RewardRefresh, StaffNotice, StaffText, TipsterText
from bot.domain.report import OPEN, ReportStatus
from bot.domain.reward import ACTIVE, RewardStatus, check_reward_move
from bot.domain.schedule import DIGEST_KINDS, REWARD_KINDS, UNCLAIMED_KINDS, ScheduleKind
from bot.services.answers import show_answer
from bot.services.base import ServiceEnv, UseCases
from bot.services.moves import move_report
from storage import reports, schedules
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Connection
from storage.records import ReportRecord, RewardRecord, ScheduleRecord

SYSTEM_ACTOR = 0
DIGEST_EXPIRING_DAYS = 14


class Jobs(UseCases):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._review_chats = env.policy.review.chats(env.review_chat_id)
        self._finance_chat = env.finance_chat_id

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
        kind = ScheduleKind(job.kind)
        async with self._db.transaction() as conn:
            if not await schedules.claim(conn, job.id, now):
                return False
            if kind in DIGEST_KINDS:
                await self._digest(conn, job, kind, now)
            else:
                report = await reports.by_id(conn, job.report_id) if job.report_id else None
                if report is not None and report.wrapped_key is not None:
                    if kind in REWARD_KINDS:
                        await self._reward(conn, job, kind, report, now)
                    elif kind in UNCLAIMED_KINDS:
                        await self._unclaimed(conn, job, kind, report, now)
                    elif kind is ScheduleKind.AWAITING_TIMEOUT:
                        await self._awaiting(conn, report, now)
                    elif kind is ScheduleKind.ANSWER_SHOWN:
                        await show_answer(conn, self._notify, report, now)
        self._on_outbox()
        return True

    async def _staff_text(
        self,
        conn: Connection,
        report: ReportRecord,
        chat_id: int,
        key: str,
        params: dict[str, Param],
        now: int,
        reward: int = 0,
    ) -> None:
        await self._notify.to_staff(
            conn, report, chat_id, StaffText(key=key, params=params, reward=reward), now
        )

    async def _unclaimed(
        self,
        conn: Connection,
        job: ScheduleRecord,
        kind: ScheduleKind,
        report: ReportRecord,
        now: int,
    ) -> None:
        if report.status != ReportStatus.NEW:
            return
        escalate = kind is ScheduleKind.SLA_ESCALATION
        # Counted from the tip's post (its due time is the post's plus these hours), not from
        # the stored submission, which keeps only the hour.
        review = self._policy.review
        waited = review.escalate_unclaimed_hours if escalate else review.remind_unclaimed_hours
        hours = waited + max(0, now - job.due_at) // 3600
        await self._staff_text(
            conn,
            report,
            report.review_chat_id,
            "jobs.escalation" if escalate else "jobs.unclaimed",
            {"hours": hours, "admins": escalate},
            now,
        )

    async def _awaiting(self, conn: Connection, report: ReportRecord, now: int) -> None:
        """A question unanswered for the policy's days: the tip goes back to review. An answer
        that came and is only held back by its random delay is an answer."""
        if report.status != ReportStatus.AWAITING_TIPSTER:
            return
        if await schedules.pending_for(conn, ScheduleKind.ANSWER_SHOWN, report.id):
            return
        moved = await move_report(
            conn,
            report,
            ReportStatus.IN_REVIEW,
            holder_id=report.holder_id,
            now=now,
            duplicate_of=report.duplicate_of,
        )
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
            conn, report, report.review_chat_id, "jobs.no_answer", {"days": days}, now
        )
        await self._notify.card(conn, moved, now)

    # ----- reward deadlines ------------------------------------------------------------------

    async def _reward(
        self,
        conn: Connection,
        job: ScheduleRecord,
        kind: ScheduleKind,
        report: ReportRecord,
        now: int,
    ) -> None:
        if kind is ScheduleKind.REWARD_NUDGE:
            await self._nudge(conn, job, report, now)
            return
        reward = await rewards_repo.by_id(conn, job.reward_id) if job.reward_id else None
        if reward is None or reward.status != RewardStatus.OFFERED:
            return
        if kind is ScheduleKind.CLAIM_REMINDER and reward.expires_at:
            days = max(1, round((reward.expires_at - now) / 86_400))
            params: dict[str, Param] = {
                "amount": reward.amount_minor,
                "expires": reward.expires_at,
                "days": days,
            }
            await self._notify.to_tipster(
                conn, report, TipsterText(key="notice.reward_reminder", params=params), now
            )
        elif kind is ScheduleKind.OFFER_EXPIRY:
            await self._expire(conn, reward, report, now)

    async def _nudge(
        self, conn: Connection, job: ScheduleRecord, report: ReportRecord, now: int
    ) -> None:
        """A verified tip with no reward proposed, close to the notice deadline."""
        if report.status != ReportStatus.VERIFIED:
            return
        latest = await rewards_repo.latest_for_report(conn, report.id)
        if latest is not None and latest.status in ACTIVE:
            return
        deadline = self._local.add_working_days(
            report.verified_at or job.due_at, self._policy.rewards.notify_within_working_days
        )
        await self._staff_text(
            conn, report, report.review_chat_id, "reward.nudge", {"deadline": deadline}, now
        )

    async def _expire(
        self, conn: Connection, reward: RewardRecord, report: ReportRecord, now: int
    ) -> None:
        check_reward_move(reward.status, RewardStatus.EXPIRED)
        if not await rewards_repo.expire(conn, reward.id, now):
            return  # not due yet (the offer was extended) or moved on
        await self._audit.append(
            conn,
            at=now,
            actor_id=SYSTEM_ACTOR,
            action="reward_expire",
            report_ref=report.reference,
            details={"reward": reward.id},
        )
        await self._notify.to_tipster(conn, report, TipsterText(key="notice.reward_expired"), now)
        for chat in (self._finance_chat, report.review_chat_id):
            await self._staff_text(
                conn,
                report,
                chat,
                "reward.expired",
                {"amount": reward.amount_minor},
                now,
                reward=reward.id,
            )
        await self._notify.to_staff(
            conn, report, self._finance_chat, RewardRefresh(reward=reward.id), now
        )
        await self._notify.card(conn, report, now)

    # ----- digests ---------------------------------------------------------------------------

    async def _digest(
        self, conn: Connection, job: ScheduleRecord, kind: ScheduleKind, now: int
    ) -> None:
        """A summary without tip content; the next one is scheduled in the same transaction."""
        if kind is ScheduleKind.DIGEST_FINANCE:
            proposed = await rewards_repo.by_status(conn, RewardStatus.PROPOSED)
            soon = now + DIGEST_EXPIRING_DAYS * 86_400
            expiring = [
                r
                for r in await rewards_repo.by_status(conn, RewardStatus.OFFERED)
                if r.expires_at is not None and r.expires_at <= soon
            ]
            references = await _references(conn, [r.report_id for r in proposed + expiring])
            params: dict[str, Param] = {
                "proposed": len(proposed),
                "expiring": len(expiring),
                "references": " ".join(references) or "—",
            }
            await self._notify.notice(
                conn,
                self._finance_chat,
                StaffNotice(key="jobs.digest_finance", params=params, chart="finance"),
                now,
            )
            await schedules.add(conn, kind=kind, due_at=job.due_at + 86_400)
        else:
            for chat in self._review_chats:
                counts: dict[str, Param] = {s.value: 0 for s in OPEN}
                for report in await reports.list_by_status(
                    conn, [s.value for s in OPEN], chat, limit=10_000
                ):
                    counts[report.status] = int(counts[report.status] or 0) + 1
                await self._notify.notice(
                    conn,
                    chat,
                    StaffNotice(key="jobs.digest_review", params=counts, chart="review"),
                    now,
                )
            await schedules.add(conn, kind=kind, due_at=job.due_at + 7 * 86_400)

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
            for kind, when in (
                (ScheduleKind.DIGEST_FINANCE, daily),
                (ScheduleKind.DIGEST_REVIEW, weekly),
            ):
                if not await schedules.pending_of_kind(conn, kind):
                    await schedules.add(conn, kind=kind, due_at=int(when.timestamp()))


async def _references(conn: Connection, report_ids: list[int]) -> list[str]:
    found = []
    for report_id in report_ids:
        report = await reports.by_id(conn, report_id)
        if report is not None:
            found.append(report.reference)
    return found
