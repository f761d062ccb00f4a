"""Receipts: a draft becomes a report with a receipt; the receipt finds it again.

`submit` is one transaction: the report (sealed under the tip's key; the chat id only if the
tipster allows contact), its post to the review chat after a random delay, the SLA reminders,
the receipt (sealed in the outbox, erased once sent) and the draft's deletion. `status` and
`forget` take the receipt from any Telegram account; wrong receipts are rate limited under an
hourly keyed pseudonym, never the user id. Pseudonyms are keyed under window keys
(bot.crypto.windows), deleted when their day or hour is over. After a submission or a
`/forget` the WAL is checkpointed soon (`on_erased`), so the deleted draft or contact leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.crypto.vault import DataKey, WindowKey, receipt_box_public
from bot.domain import alias, codes, timing
from bot.domain.errors import (
    DailyLimitReached,
    NoDraft,
    NothingToSubmit,
    ReceiptMalformed,
    ReceiptRateLimited,
    ReceiptUnknown,
    WrongStep,
)
from bot.domain.items import Step
from bot.domain.outbox import DeleteDialogue, Payload, Receipt
from bot.domain.report import ReportStatus
from bot.domain.schedule import ScheduleKind
from bot.domain.timing import coarse, post_delay
from bot.services.base import RECEIPT_WINDOW, TIPS_WINDOW, ServiceEnv, UseCases
from bot.services.intake import DraftState, draft_key, draft_owners
from bot.services.reward_book import RewardBook, TipsterReward
from storage import drafts, inbox, ratelimit, reports, schedules
from storage.db import Connection
from storage.records import DraftRecord, ReportRecord


@dataclass(frozen=True)
class Submission:
    receipt: str
    reference: str
    contact_allowed: bool
    language: str


@dataclass(frozen=True)
class StatusView:
    reference: str
    status: ReportStatus
    submitted_at: int
    contact_stored: bool
    reward: TipsterReward | None = None


class ReceiptService(UseCases):
    """Submitting a tip, and what its receipt can do afterwards."""

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._review_chat_id = env.review_chat_id
        self._rewards = RewardBook(env)

    def _day(self) -> str:
        return timing.day(self.now())

    def _hour(self) -> str:
        return timing.hour(self.now())

    async def submit(
        self, user_id: int, chat_id: int, last_message_id: int | None = None
    ) -> Submission:
        """Turn the draft into a report, queue its post to reviewers, return the receipt."""
        owners = await draft_owners(self._windows, user_id)
        tips_key = await self._windows.current(TIPS_WINDOW)
        receipt = codes.new_receipt()
        now = self.now()
        delay = post_delay(self._policy.review.post_delay_max_seconds)
        async with self._db.transaction() as conn:
            draft = await drafts.find(conn, owners)
            if draft is None:
                raise NoDraft()
            if Step(draft.step) is not Step.CONFIRM:
                raise WrongStep(step=draft.step)
            key = draft_key(self._vault, draft)
            state = DraftState.load(key.open("draft", draft.sealed_state))
            if not state.summaries or state.category is None:
                raise NothingToSubmit()
            await self._count_tip(conn, tips_key, user_id)
            report = await self._file_report(conn, draft, key, state, receipt, chat_id, now)
            await self._notify.post_tip(conn, report, report.submitted_at, not_before=now + delay)
            review = self._policy.review
            for kind, hours in (
                (ScheduleKind.SLA_REMINDER, review.remind_unclaimed_hours),
                (ScheduleKind.SLA_ESCALATION, review.escalate_unclaimed_hours),
            ):
                await schedules.add(
                    conn, kind=kind, due_at=now + delay + hours * 3600, report_id=report.id
                )
            # The receipt goes out through the outbox (sealed, erased once sent), so a crash
            # between this commit and the reply cannot lose it.
            messages: list[Payload] = [
                Receipt(chat=chat_id, receipt=receipt, contact=state.contact_allowed)
            ]
            if state.delete_after and state.first_message_id and last_message_id:
                messages.append(
                    DeleteDialogue(chat=chat_id, first=state.first_message_id, last=last_message_id)
                )
            for message in messages:
                await self._notify.to_tipster(
                    conn, report, message, report.submitted_at, not_before=now
                )
            await drafts.delete(conn, draft.owner)
        self._on_outbox()
        self._on_erased()
        return Submission(receipt, report.reference, state.contact_allowed, draft.language)

    async def _count_tip(self, conn: Connection, key: WindowKey, user_id: int) -> None:
        """Count the tip against the day's limit (a pseudonym under the day's key, never the
        id)."""
        day = timing.day(key.opens_at)
        subject = key.pseudonym(user_id)
        limit = self._policy.intake.max_tips_per_day
        if await ratelimit.count(conn, "tips", subject, day) >= limit:
            raise DailyLimitReached(limit=limit)
        await ratelimit.increment(conn, "tips", subject, day)

    async def _file_report(
        self,
        conn: Connection,
        draft: DraftRecord,
        key: DataKey,
        state: DraftState,
        receipt: str,
        chat_id: int,
        now: int,
    ) -> ReportRecord:
        """The report, under the draft's key, routed to its review chat. Its stored time is
        the hour, so it cannot pinpoint the moment someone was seen using their phone."""
        normalized = codes.normalize_receipt(receipt)
        assert normalized is not None and state.category is not None
        year = datetime.fromtimestamp(now, UTC).year
        area_key = state.area[4:] if state.area and state.area.startswith("key:") else None
        seq = await reports.next_sequence(conn, year)
        report_id = await reports.insert(
            conn,
            uid=draft.uid,
            reference=f"T-{year}-{seq:04d}",
            year=year,
            seq=seq,
            receipt_hash=self._vault.receipt_hash(normalized),
            category=state.category,
            alias=alias.new_alias(),
            language=draft.language,
            status=ReportStatus.NEW,
            key_id=draft.key_id,
            wrapped_key=draft.wrapped_key,
            sealed_area=key.seal_text("area", state.area) if state.area else None,
            sealed_contact=(
                key.seal_text("contact", str(chat_id)) if state.contact_allowed else None
            ),
            review_chat_id=self._policy.review.chat_for(
                self._review_chat_id, state.category, area_key
            ),
            now=coarse(now),
            receipt_box=receipt_box_public(normalized, draft.uid),
            contact_until=coarse(now) + self._policy.contact_days * 86_400,
            campaign=state.campaign,
        )
        report = await reports.by_id(conn, report_id)
        assert report is not None
        return report

    async def _find_by_receipt(self, user_id: int, text: str) -> ReportRecord:
        """The report a typed receipt belongs to. A look-up only reads; a wrong receipt is
        counted (its one write) against an hourly keyed pseudonym, then refused."""
        limit = self._policy.intake.max_receipt_failures_per_hour
        key = await self._windows.current(RECEIPT_WINDOW)
        hour = timing.hour(key.opens_at)
        subject = key.pseudonym(user_id)
        normalized = codes.normalize_receipt(text)
        async with self._db.read() as conn:
            if await ratelimit.count(conn, "receipt_fail", subject, hour) >= limit:
                raise ReceiptRateLimited()
            report = (
                await reports.by_receipt(conn, self._vault.receipt_hashes(normalized))
                if normalized
                else None
            )
        if report is not None:
            return report
        async with self._db.transaction() as conn:
            await ratelimit.increment(conn, "receipt_fail", subject, hour)
        raise ReceiptMalformed() if normalized is None else ReceiptUnknown()

    async def status(self, user_id: int, receipt_text: str) -> StatusView:
        report = await self._find_by_receipt(user_id, receipt_text)
        normalized = codes.normalize_receipt(receipt_text)
        reward = await self._rewards.for_tipster(report, normalized) if normalized else None
        return StatusView(
            reference=report.reference,
            status=ReportStatus(report.status),
            submitted_at=report.submitted_at,
            contact_stored=report.sealed_contact is not None,
            reward=reward,
        )

    async def forget(self, user_id: int, receipt_text: str) -> bool:
        """Erase the stored way to reach the tipster for this tip; False if none was stored."""
        report = await self._find_by_receipt(user_id, receipt_text)
        async with self._db.transaction() as conn:
            cleared = await reports.clear_contact(conn, report.id, coarse(self.now()))
        self._on_erased()
        return cleared

    async def purge_old_counters(self) -> None:
        """Drop abuse counters of past windows, and markers of updates too old to come again
        (Telegram keeps an unconfirmed update for 24 hours)."""
        async with self._db.transaction() as conn:
            await ratelimit.purge_other_windows(conn, "tips", [self._day()])
            for bucket in ("receipt_fail", "code_fail"):
                await ratelimit.purge_other_windows(conn, bucket, [self._hour()])
            await inbox.purge_applied(conn, self.now() - 2 * 86_400)
