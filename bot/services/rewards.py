"""Rewards: propose on a verified tip, approve with four eyes, offer a claim code, pay, expire.

Money is integer minor units. A claim code exists only as a keyed hash (to find the offer when
the claimant presents it) and sealed to the tipster's receipt (so `/status` can show it to
whoever holds the receipt). While a message carrying it waits in the outbox it is sealed there,
and erased once sent. The proposer never approves; above the policy threshold two different
people must. Every step is audited; due times live in the `schedules` table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.crypto.vault import (
    DataKey,
    Vault,
    VaultError,
    WrappedKey,
    open_with_receipt,
    seal_to_receipt,
)
from bot.domain import codes
from bot.domain.deadlines import add_months, add_working_days, month_bounds
from bot.domain.errors import (
    AlreadyApproved,
    AlreadyRewarded,
    AmountOutOfRange,
    CodeMalformed,
    CodeRateLimited,
    CodeUnknown,
    HeldByOther,
    IdNotChecked,
    JustificationMissing,
    NotVerified,
    OverBudget,
    ProposerCannotApprove,
    RewardMovedOn,
    TipNotFound,
    UnknownTier,
    VoucherMissing,
)
from bot.domain.money import AmountError, parse_amount
from bot.domain.policy import ClaimMode, Policy, Tier
from bot.domain.report import ReportStatus
from bot.services.audit import AuditLog
from bot.services.review import Actor, consume_prompt
from storage import outbox as outbox_repo
from storage import ratelimit, reports, schedules
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Database
from storage.records import PromptRecord, ReportRecord, RewardRecord, ScheduleRecord

MAX_JUSTIFICATION_CHARS = 1000
MAX_VOUCHER_CHARS = 64


class RewardStatus:
    PROPOSED = "proposed"
    REFUSED = "refused"
    OFFERED = "offered"
    PAID = "paid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Offer:
    """An offered reward found by its claim code, for the payout confirmation."""

    reward: RewardRecord
    reference: str


@dataclass(frozen=True)
class ApprovalOutcome:
    reward: RewardRecord
    approvals: int
    needed: int


@dataclass(frozen=True)
class TipsterReward:
    """What `/status` tells the receipt holder about the reward."""

    status: str
    amount_minor: int
    currency: str
    expires_at: int | None
    claim_code: str | None


@dataclass(frozen=True)
class LedgerRow:
    reference: str
    tier: str
    amount_minor: int
    currency: str
    status: str
    proposer_id: int
    approver_ids: tuple[int, ...]
    proposed_at: int
    approved_at: int | None
    paid_at: int | None
    expired_at: int | None
    payout_reference: str | None
    id_checked: bool | None


@dataclass(frozen=True)
class Budget:
    year: int
    month: int
    budget_minor: int
    committed_minor: int

    @property
    def remaining_minor(self) -> int:
        return self.budget_minor - self.committed_minor


def approvals_needed(policy: Policy, amount_minor: int) -> int:
    return 2 if amount_minor > policy.rewards.second_approval_above_minor else 1


class RewardService:
    """The reward scheme's use cases, for the review and finance chats and the scheduler."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        policy: Policy,
        audit: AuditLog,
        *,
        finance_chat_id: int,
        on_outbox: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._vault = vault
        self._policy = policy
        self._audit = audit
        self._finance_chat = finance_chat_id
        self._on_outbox = on_outbox
        self._clock = clock

    @property
    def policy(self) -> Policy:
        return self._policy

    def now(self) -> int:
        return int(self._clock())

    def _key(self, report: ReportRecord) -> DataKey:
        if report.key_id is None or report.wrapped_key is None:
            raise TipNotFound(reference=report.reference)
        return self._vault.unwrap(report.uid, WrappedKey(report.key_id, report.wrapped_key))

    # ----- propose ---------------------------------------------------------------------------

    async def _proposable(
        self, conn: aiosqlite.Connection, reference: str, chat_id: int, actor: Actor
    ) -> ReportRecord:
        report = await reports.by_reference(conn, reference.strip().upper())
        if report is None or report.review_chat_id != chat_id:
            raise TipNotFound(reference=reference)
        if report.status != ReportStatus.VERIFIED:
            raise NotVerified(reference=report.reference)
        if report.holder_id not in (None, actor.user_id) and not actor.is_admin:
            raise HeldByOther(reference=report.reference, holder_id=report.holder_id)
        active = await rewards_repo.active_for_report(conn, report.id)
        if active is not None:
            raise AlreadyRewarded(reference=report.reference, reward_status=active.status)
        return report

    async def check_proposable(self, reference: str, chat_id: int, actor: Actor) -> ReportRecord:
        async with self._db.read() as conn:
            return await self._proposable(conn, reference, chat_id, actor)

    def parse_proposal(self, tier: Tier, text: str) -> tuple[int, str]:
        """Amount and justification from the reviewer's reply ("5000 why" or just "why")."""
        words = text.strip().split(maxsplit=1)
        if tier.fixed:
            amount, justification = tier.min_minor, text.strip()
            if words:
                try:
                    if parse_amount(words[0], self._policy.rewards.minor_per_major) == amount:
                        justification = words[1] if len(words) > 1 else ""
                except AmountError:
                    pass
        else:
            try:
                amount = parse_amount(
                    words[0] if words else "", self._policy.rewards.minor_per_major
                )
            except AmountError:
                raise AmountOutOfRange(
                    low=tier.min_minor, high=tier.max_minor if tier.max_minor else 0
                ) from None
            justification = words[1] if len(words) > 1 else ""
            if not tier.allows(amount):
                raise AmountOutOfRange(
                    low=tier.min_minor, high=tier.max_minor if tier.max_minor else 0
                )
        justification = justification.strip()
        if not justification or len(justification) > MAX_JUSTIFICATION_CHARS:
            raise JustificationMissing(limit=MAX_JUSTIFICATION_CHARS)
        return amount, justification

    async def propose(self, prompt: PromptRecord, actor: Actor, text: str) -> RewardRecord:
        """Record a proposal and post it to the finance chat (never the tip's content)."""
        tier = self._policy.rewards.tier(prompt.payload or "")
        if tier is None:
            raise UnknownTier()
        amount, justification = self.parse_proposal(tier, text)
        now = self.now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            report = await reports.by_id(conn, prompt.report_id)
            if report is None:
                raise TipNotFound(reference="?")
            report = await self._proposable(conn, report.reference, prompt.chat_id, actor)
            key = self._key(report)
            reward_id = await rewards_repo.insert(
                conn,
                report_id=report.id,
                tier=tier.key,
                amount_minor=amount,
                currency=self._policy.rewards.currency,
                proposer_id=actor.user_id,
                proposed_at=now,
                sealed_justification=key.seal_text("justification", justification),
                finance_chat_id=self._finance_chat,
            )
            await review_repo.add_event(
                conn, report_id=report.id, at=now, actor_id=actor.user_id, action="reward_proposed"
            )
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_propose",
                report_ref=report.reference,
                details={"reward": reward_id, "tier": tier.key, "amount_minor": amount},
            )
            await self._staff(conn, self._finance_chat, "reward_post", report, now, reward_id)
            await self._card(conn, report, now)
            reward = await rewards_repo.by_id(conn, reward_id)
        assert reward is not None
        self._on_outbox()
        return reward

    # ----- outbox helpers --------------------------------------------------------------------

    def seal_outbox(self, report: ReportRecord, payload: dict[str, object]) -> bytes:
        return self._key(report).seal("outbox", json.dumps(payload).encode())

    async def _staff(
        self,
        conn: aiosqlite.Connection,
        chat_id: int,
        kind: str,
        report: ReportRecord,
        now: int,
        reward_id: int,
        text_key: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        payload = {"reward": reward_id, "key": text_key, "params": params or {}}
        await outbox_repo.enqueue(
            conn,
            target="staff",
            kind=kind,
            report_id=report.id,
            chat_id=chat_id,
            now=now,
            not_before=now,
            sealed_payload=self._key(report).seal("outbox", json.dumps(payload).encode()),
        )

    async def _card(self, conn: aiosqlite.Connection, report: ReportRecord, now: int) -> None:
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

    async def _tipster(
        self,
        conn: aiosqlite.Connection,
        report: ReportRecord,
        now: int,
        text_key: str,
        params: dict[str, object],
    ) -> None:
        if report.sealed_contact is None:
            return
        payload = {"key": text_key, "params": params}
        await outbox_repo.enqueue(
            conn,
            target="tipster",
            kind="tipster_text",
            report_id=report.id,
            now=now,
            not_before=now,
            sealed_payload=self._key(report).seal("outbox", json.dumps(payload).encode()),
        )

    # ----- approve / refuse ------------------------------------------------------------------

    async def _load(
        self, conn: aiosqlite.Connection, reward_id: int, finance_chat: int
    ) -> tuple[RewardRecord, ReportRecord]:
        """A reward of this finance chat, with its report."""
        reward = await rewards_repo.by_id(conn, reward_id)
        report = await reports.by_id(conn, reward.report_id) if reward else None
        if reward is None or report is None or reward.finance_chat_id != finance_chat:
            raise RewardMovedOn(status="?")
        return reward, report

    async def approve(self, reward_id: int, actor: Actor) -> ApprovalOutcome:
        """One approval; the last one needed issues the claim code and tells the tipster."""
        now = self.now()
        async with self._db.transaction() as conn:
            reward, report = await self._load(conn, reward_id, self._finance_chat)
            if reward.status != RewardStatus.PROPOSED:
                raise RewardMovedOn(status=reward.status)
            if reward.proposer_id == actor.user_id:
                raise ProposerCannotApprove()
            needed = approvals_needed(self._policy, reward.amount_minor)
            approvers = [a for a, _ in await rewards_repo.approvals(conn, reward.id)]
            if actor.user_id in approvers:
                raise AlreadyApproved(needed=needed)
            if len(approvers) + 1 >= needed:
                await self._check_budget(conn, reward, now)
            await rewards_repo.add_approval(conn, reward.id, actor.user_id, now)
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_approve",
                report_ref=report.reference,
                details={"reward": reward.id, "approval": len(approvers) + 1, "needed": needed},
            )
            if len(approvers) + 1 >= needed:
                await self._offer(conn, reward, report, now)
            await self._staff(conn, self._finance_chat, "reward_refresh", report, now, reward.id)
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return ApprovalOutcome(updated, len(approvers) + 1, needed)

    async def _check_budget(
        self, conn: aiosqlite.Connection, reward: RewardRecord, now: int
    ) -> None:
        budget = self._policy.rewards.monthly_budget_minor
        if not budget:
            return
        moment = datetime.fromtimestamp(now, UTC)
        start, end = month_bounds(moment.year, moment.month)
        committed = await rewards_repo.committed_between(conn, start, end)
        if committed + reward.amount_minor > budget:
            raise OverBudget(remaining=budget - committed)

    async def _offer(
        self, conn: aiosqlite.Connection, reward: RewardRecord, report: ReportRecord, now: int
    ) -> None:
        code = codes.new_claim_code()
        normalized = codes.normalize_claim_code(code)
        assert normalized is not None
        expires = add_months(now, self._policy.rewards.claim_months)
        sealed = (
            seal_to_receipt(report.receipt_box, report.uid, code.encode())
            if report.receipt_box
            else None
        )
        offered = await rewards_repo.offer(
            conn,
            reward.id,
            at=now,
            expires_at=expires,
            code_hash=self._vault.claim_code_hashes(normalized)[0],
            code_for_receipt=sealed,
        )
        if not offered:
            raise RewardMovedOn(status=reward.status)
        for days in self._policy.rewards.reminder_days:
            due = expires - days * 86_400
            if due > now:
                await schedules.add(
                    conn,
                    kind="claim_reminder",
                    due_at=due,
                    report_id=report.id,
                    reward_id=reward.id,
                )
        await schedules.add(
            conn, kind="offer_expiry", due_at=expires, report_id=report.id, reward_id=reward.id
        )
        await self._tipster(
            conn,
            report,
            now,
            "notice.reward_offered",
            {"amount": reward.amount_minor, "expires": expires, "code": code},
        )
        await self._staff(
            conn,
            report.review_chat_id,
            "staff_text",
            report,
            now,
            reward.id,
            "reward.review_approved",
            {"amount": reward.amount_minor},
        )
        await self._card(conn, report, now)

    async def refuse(self, prompt: PromptRecord, actor: Actor, reason: str) -> RewardRecord:
        """Refuse a proposal; the reason goes back to the review chat."""
        cleaned = reason.strip()
        if not cleaned or len(cleaned) > MAX_JUSTIFICATION_CHARS:
            raise JustificationMissing(limit=MAX_JUSTIFICATION_CHARS)
        reward_id = int(prompt.payload or 0)
        now = self.now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            reward, report = await self._load(conn, reward_id, prompt.chat_id)
            key = self._key(report)
            if not await rewards_repo.refuse(
                conn, reward.id, actor.user_id, now, key.seal_text("refusal", cleaned)
            ):
                raise RewardMovedOn(status=reward.status)
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_refuse",
                report_ref=report.reference,
                details={"reward": reward.id},
            )
            await self._staff(conn, self._finance_chat, "reward_refresh", report, now, reward.id)
            await self._staff(
                conn,
                report.review_chat_id,
                "staff_text",
                report,
                now,
                reward.id,
                "reward.review_refused",
                {"reason": cleaned, "by": actor.user_id},
            )
            await self._card(conn, report, now)
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return updated

    async def check_proposal(self, reward_id: int, chat_id: int) -> RewardRecord:
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, reward_id)
        if reward is None or reward.finance_chat_id != chat_id:
            raise RewardMovedOn(status="?")
        if reward.status != RewardStatus.PROPOSED:
            raise RewardMovedOn(status=reward.status)
        return reward

    # ----- pay -------------------------------------------------------------------------------

    async def find_offer(self, code_text: str, actor: Actor) -> Offer:
        """The offer a presented claim code belongs to; wrong codes are rate limited."""
        hour = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H")
        subject = str(actor.user_id).encode()
        limit = self._policy.rewards.max_code_failures_per_hour
        normalized = codes.normalize_claim_code(code_text)
        async with self._db.transaction() as conn:
            if await ratelimit.count(conn, "code_fail", subject, hour) >= limit:
                raise CodeRateLimited()
            reward = (
                await rewards_repo.by_code_hash(conn, self._vault.claim_code_hashes(normalized))
                if normalized
                else None
            )
            if reward is None or reward.status != RewardStatus.OFFERED:
                await ratelimit.increment(conn, "code_fail", subject, hour)
                reward = None
            report = await reports.by_id(conn, reward.report_id) if reward else None
        if normalized is None:
            raise CodeMalformed()
        if reward is None or report is None:
            raise CodeUnknown()
        return Offer(reward, report.reference)

    async def pay(
        self,
        reward_id: int,
        actor: Actor,
        voucher: str,
        *,
        id_checked: bool,
        prompt: PromptRecord | None = None,
    ) -> RewardRecord:
        """Record the payout against its voucher; the code stops working; the tipster is told.
        `prompt`, the voucher prompt replied to, closes in the same commit."""
        cleaned = " ".join(voucher.split())
        if not cleaned or len(cleaned) > MAX_VOUCHER_CHARS:
            raise VoucherMissing(limit=MAX_VOUCHER_CHARS)
        if self._policy.rewards.claim_mode is ClaimMode.CODE_AND_ID and not id_checked:
            raise IdNotChecked()
        now = self.now()
        async with self._db.transaction() as conn:
            if prompt is not None:
                await consume_prompt(conn, prompt)
            reward, report = await self._load(conn, reward_id, self._finance_chat)
            if not await rewards_repo.pay(
                conn,
                reward.id,
                by=actor.user_id,
                at=now,
                payout_reference=cleaned,
                id_checked=id_checked,
            ):
                raise RewardMovedOn(status=reward.status)
            await schedules.cancel(conn, reward_id=reward.id)
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_pay",
                report_ref=report.reference,
                details={
                    "reward": reward.id,
                    "amount_minor": reward.amount_minor,
                    "voucher": cleaned,
                    "id_checked": id_checked,
                },
            )
            await self._tipster(
                conn, report, now, "notice.reward_paid", {"amount": reward.amount_minor}
            )
            await self._staff(conn, self._finance_chat, "reward_refresh", report, now, reward.id)
            await self._staff(
                conn,
                report.review_chat_id,
                "staff_text",
                report,
                now,
                reward.id,
                "reward.review_paid",
                {"amount": reward.amount_minor},
            )
            await self._card(conn, report, now)
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return updated

    # ----- schedules -------------------------------------------------------------------------

    def schedule_nudge_due(self, verified_at: int) -> int:
        rewards = self._policy.rewards
        days = max(0, rewards.notify_within_working_days - rewards.nudge_working_days_before)
        return add_working_days(verified_at, days)

    async def run_job(self, conn: aiosqlite.Connection, job: ScheduleRecord, now: int) -> None:
        """The effects of a due reward schedule, inside the transaction that claimed it."""
        report = await reports.by_id(conn, job.report_id) if job.report_id else None
        reward = await rewards_repo.by_id(conn, job.reward_id) if job.reward_id else None
        if report is None or report.wrapped_key is None:
            return
        if job.kind == "reward_nudge":
            if report.status == ReportStatus.VERIFIED and (
                await rewards_repo.active_for_report(conn, report.id) is None
            ):
                deadline = add_working_days(
                    report.verified_at or job.due_at,
                    self._policy.rewards.notify_within_working_days,
                )
                await self._staff(
                    conn,
                    report.review_chat_id,
                    "staff_text",
                    report,
                    now,
                    0,
                    "reward.nudge",
                    {"deadline": deadline},
                )
        elif reward is not None and reward.status == RewardStatus.OFFERED:
            if job.kind == "claim_reminder" and reward.expires_at:
                days = max(1, round((reward.expires_at - now) / 86_400))
                await self._tipster(
                    conn,
                    report,
                    now,
                    "notice.reward_reminder",
                    {"amount": reward.amount_minor, "expires": reward.expires_at, "days": days},
                )
            elif job.kind == "offer_expiry" and await rewards_repo.expire(conn, reward.id, now):
                await self._audit.append(
                    conn,
                    at=now,
                    actor_id=0,
                    action="reward_expire",
                    report_ref=report.reference,
                    details={"reward": reward.id},
                )
                await self._tipster(conn, report, now, "notice.reward_expired", {})
                for chat in (self._finance_chat, report.review_chat_id):
                    await self._staff(
                        conn,
                        chat,
                        "staff_text",
                        report,
                        now,
                        reward.id,
                        "reward.expired",
                        {"amount": reward.amount_minor},
                    )
                await self._staff(
                    conn, self._finance_chat, "reward_refresh", report, now, reward.id
                )
                await self._card(conn, report, now)

    # ----- reading ---------------------------------------------------------------------------

    async def for_tipster(
        self, report: ReportRecord, normalized_receipt: str
    ) -> TipsterReward | None:
        """The latest reward of a tip, with its claim code opened by the receipt."""
        async with self._db.read() as conn:
            reward = await rewards_repo.latest_for_report(conn, report.id)
        if reward is None or reward.status in (RewardStatus.PROPOSED, RewardStatus.REFUSED):
            return None
        code: str | None = None
        if reward.status == RewardStatus.OFFERED and reward.code_for_receipt:
            try:
                code = open_with_receipt(
                    normalized_receipt, report.uid, reward.code_for_receipt
                ).decode()
            except VaultError:
                code = None
        return TipsterReward(
            reward.status, reward.amount_minor, reward.currency, reward.expires_at, code
        )

    async def active_for(self, report: ReportRecord) -> RewardRecord | None:
        async with self._db.read() as conn:
            return await rewards_repo.active_for_report(conn, report.id)

    async def budget(self, year: int, month: int) -> Budget:
        start, end = month_bounds(year, month)
        async with self._db.read() as conn:
            committed = await rewards_repo.committed_between(conn, start, end)
        return Budget(year, month, self._policy.rewards.monthly_budget_minor, committed)

    async def ledger(self, year: int, month: int) -> list[LedgerRow]:
        start, end = month_bounds(year, month)
        rows: list[LedgerRow] = []
        async with self._db.read() as conn:
            for reward in await rewards_repo.for_ledger(conn, start, end):
                report = await reports.by_id(conn, reward.report_id)
                approvers = tuple(a for a, _ in await rewards_repo.approvals(conn, reward.id))
                rows.append(
                    LedgerRow(
                        reference=report.reference if report else "?",
                        tier=reward.tier,
                        amount_minor=reward.amount_minor,
                        currency=reward.currency,
                        status=reward.status,
                        proposer_id=reward.proposer_id,
                        approver_ids=approvers,
                        proposed_at=reward.proposed_at,
                        approved_at=reward.approved_at,
                        paid_at=reward.paid_at,
                        expired_at=reward.expired_at,
                        payout_reference=reward.payout_reference,
                        id_checked=reward.id_checked,
                    )
                )
        return rows
