"""Rewards: propose on a verified tip, approve with four eyes, offer a claim code, pay.

Money is integer minor units. A claim code exists only as a keyed hash (to find the offer when
the claimant presents it) and sealed to the tipster's receipt (so `/status` can show it to
whoever holds the receipt). While a message carrying it waits in the outbox it is sealed there,
and erased once sent. Nobody approves a reward they proposed, nor one for a tip they held or
verified; above the policy threshold two different people must. Every move passes the reward
table (bot.domain.reward) and a compare-and-set in the database; every step is audited.
Deadlines are run by bot.services.jobs; reading (the tipster's view, the budget, the ledger)
is RewardBook's.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.crypto.vault import seal_to_receipt
from bot.domain import codes
from bot.domain.errors import (
    AlreadyRewarded,
    CaseAlreadyRewarded,
    HeldByOther,
    JustificationMissing,
    NoRewardToRepost,
    NotVerified,
    OverBudget,
    RewardMovedOn,
    TipNotFound,
    UnknownTier,
)
from bot.domain.outbox import Param, RewardPost, RewardRefresh, StaffText, TipsterText
from bot.domain.policy import Tier
from bot.domain.report import ReportStatus
from bot.domain.reward import (
    MAX_JUSTIFICATION_CHARS,
    Budget,
    RewardStatus,
    approvals_needed,
    case_workers,
    check_approver,
    check_reward_move,
    parse_proposal,
)
from bot.domain.schedule import ScheduleKind
from bot.domain.staff import Actor
from bot.services.base import ServiceEnv, UseCases
from bot.services.review import consume_prompt
from bot.services.reward_book import active_reward, committed, reward_of_chat
from storage import outcomes as outcomes_repo
from storage import reports, schedules
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.db import Connection
from storage.records import PromptRecord, ReportRecord, RewardRecord


@dataclass(frozen=True)
class ApprovalOutcome:
    reward: RewardRecord
    approvals: int
    needed: int


async def case_rewarded(conn: Connection, report: ReportRecord) -> None:
    """One reward per case: CaseAlreadyRewarded when another tip of the tip's police case (the
    same case number in its outcome) has a reward that was not refused. The other tip is named
    only to its own review chat."""
    outcome = await outcomes_repo.for_report(conn, report.id)
    if outcome is None:
        return
    for other_id, reference, chat in await outcomes_repo.same_case(
        conn, outcome.case_number, report.id
    ):
        if await active_reward(conn, other_id) is not None:
            raise CaseAlreadyRewarded(
                reference=report.reference,
                case=outcome.case_number,
                other=reference if chat == report.review_chat_id else "—",
            )


class RewardService(UseCases):
    """The reward scheme's use cases, for the review and finance chats."""

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._finance_chat = env.finance_chat_id

    # ----- propose ---------------------------------------------------------------------------

    async def _proposable(
        self, conn: Connection, reference: str, chat_id: int, actor: Actor
    ) -> ReportRecord:
        report = await reports.by_reference(conn, reference.strip().upper())
        if report is None or report.review_chat_id != chat_id:
            raise TipNotFound(reference=reference)
        if report.status != ReportStatus.VERIFIED:
            raise NotVerified(reference=report.reference)
        if report.holder_id not in (None, actor.user_id) and not actor.is_admin:
            raise HeldByOther(reference=report.reference, holder_id=report.holder_id)
        active = await active_reward(conn, report.id)
        if active is not None:
            raise AlreadyRewarded(reference=report.reference, reward_status=active.status)
        await case_rewarded(conn, report)
        return report

    async def check_proposable(self, reference: str, chat_id: int, actor: Actor) -> ReportRecord:
        async with self._db.read() as conn:
            return await self._proposable(conn, reference, chat_id, actor)

    def parse_proposal(self, tier: Tier, text: str) -> tuple[int, str]:
        """Amount and justification from the reviewer's reply ("5000 why" or just "why")."""
        return parse_proposal(self._policy, tier, text)

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
            reward_id = await rewards_repo.insert(
                conn,
                report_id=report.id,
                tier=tier.key,
                amount_minor=amount,
                currency=self._policy.rewards.currency,
                proposer_id=actor.user_id,
                proposed_at=now,
                sealed_justification=self._notify.key(report).seal_text(
                    "justification", justification
                ),
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
            await self._notify.to_staff(
                conn, report, self._finance_chat, RewardPost(reward=reward_id), now
            )
            await self._notify.card(conn, report, now)
            await self._refresh_case(conn, report, now)
            reward = await rewards_repo.by_id(conn, reward_id)
        assert reward is not None
        self._on_outbox()
        return reward

    async def _refresh_case(self, conn: Connection, report: ReportRecord, now: int) -> None:
        """The cards of the tip's case in its chat (their 💰 button comes and goes with it)."""
        outcome = await outcomes_repo.for_report(conn, report.id)
        if outcome is None:
            return
        for other_id, _, chat in await outcomes_repo.same_case(
            conn, outcome.case_number, report.id
        ):
            other = await reports.by_id(conn, other_id)
            if other is not None and chat == report.review_chat_id:
                await self._notify.card(conn, other, now)

    async def _review_text(
        self,
        conn: Connection,
        report: ReportRecord,
        reward: RewardRecord,
        key: str,
        params: dict[str, Param],
        now: int,
    ) -> None:
        """Tell the tip's review chat what became of its reward."""
        await self._notify.to_staff(
            conn,
            report,
            report.review_chat_id,
            StaffText(key=key, params=params, reward=reward.id),
            now,
        )

    # ----- approve / refuse ------------------------------------------------------------------

    async def approve(self, reward_id: int, actor: Actor) -> ApprovalOutcome:
        """One approval; the last one needed issues the claim code and tells the tipster."""
        now = self.now()
        async with self._db.transaction() as conn:
            reward, report = await reward_of_chat(conn, reward_id, self._finance_chat)
            check_reward_move(reward.status, RewardStatus.OFFERED)
            needed = approvals_needed(self._policy, reward.amount_minor)
            approvers = [a for a, _ in await rewards_repo.approvals(conn, reward.id)]
            events = await review_repo.events(conn, report.id)
            check_approver(
                actor.user_id,
                proposer=reward.proposer_id,
                workers=case_workers(
                    report.holder_id, ((e.actor_id, e.action, e.to_status) for e in events)
                ),
                approvers=approvers,
                needed=needed,
            )
            final = len(approvers) + 1 >= needed
            if final:
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
            if final:
                await self._offer(conn, reward, report, now)
            await self._notify.to_staff(
                conn, report, self._finance_chat, RewardRefresh(reward=reward.id), now
            )
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return ApprovalOutcome(updated, len(approvers) + 1, needed)

    async def _check_budget(self, conn: Connection, reward: RewardRecord, now: int) -> None:
        year, month = self._local.month_of(now)
        budget = Budget(
            year,
            month,
            self._policy.rewards.monthly_budget_minor,
            await committed(conn, year, month, self._local),
        )
        if not budget.allows(reward.amount_minor):
            raise OverBudget(remaining=budget.remaining_minor)

    async def _offer(
        self, conn: Connection, reward: RewardRecord, report: ReportRecord, now: int
    ) -> None:
        code = codes.new_claim_code()
        normalized = codes.normalize_claim_code(code)
        assert normalized is not None
        expires = self._local.add_months(now, self._policy.rewards.claim_months)
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
                    kind=ScheduleKind.CLAIM_REMINDER,
                    due_at=due,
                    report_id=report.id,
                    reward_id=reward.id,
                )
        await schedules.add(
            conn,
            kind=ScheduleKind.OFFER_EXPIRY,
            due_at=expires,
            report_id=report.id,
            reward_id=reward.id,
        )
        params: dict[str, Param] = {"amount": reward.amount_minor, "expires": expires, "code": code}
        await self._notify.to_tipster(
            conn, report, TipsterText(key="notice.reward_offered", params=params), now
        )
        await self._review_text(
            conn, report, reward, "reward.review_approved", {"amount": reward.amount_minor}, now
        )
        await self._notify.card(conn, report, now)

    async def refuse(self, prompt: PromptRecord, actor: Actor, reason: str) -> RewardRecord:
        """Refuse a proposal; the reason goes back to the review chat."""
        cleaned = reason.strip()
        if not cleaned or len(cleaned) > MAX_JUSTIFICATION_CHARS:
            raise JustificationMissing(limit=MAX_JUSTIFICATION_CHARS)
        reward_id = int(prompt.payload or 0)
        now = self.now()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, prompt)
            reward, report = await reward_of_chat(conn, reward_id, prompt.chat_id)
            check_reward_move(reward.status, RewardStatus.REFUSED)
            sealed_reason = self._notify.key(report).seal_text("refusal", cleaned)
            if not await rewards_repo.refuse(conn, reward.id, actor.user_id, now, sealed_reason):
                raise RewardMovedOn(status=reward.status)
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_refuse",
                report_ref=report.reference,
                details={"reward": reward.id},
            )
            await self._notify.to_staff(
                conn, report, self._finance_chat, RewardRefresh(reward=reward.id), now
            )
            await self._review_text(
                conn,
                report,
                reward,
                "reward.review_refused",
                {"reason": cleaned, "by": actor.user_id},
                now,
            )
            await self._notify.card(conn, report, now)
            await self._refresh_case(conn, report, now)
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return updated

    async def repost(self, reference: str, chat_id: int, actor: Actor) -> ReportRecord:
        """Post the tip's reward in progress again in this finance chat (its post was set
        aside, or deleted); the old post, if any, stops being refreshed."""
        now = self.now()
        async with self._db.transaction() as conn:
            report = await reports.by_reference(conn, reference.strip().upper())
            reward = await active_reward(conn, report.id) if report is not None else None
            if report is None or reward is None or reward.finance_chat_id != chat_id:
                raise NoRewardToRepost(reference=reference)
            self._notify.key(report)  # a shredded tip has nothing left to post
            await rewards_repo.forget_finance_message(conn, reward.id)
            await self._audit.append(
                conn,
                at=now,
                actor_id=actor.user_id,
                action="reward_repost",
                report_ref=report.reference,
                details={"reward": reward.id},
            )
            await self._notify.to_staff(conn, report, chat_id, RewardPost(reward=reward.id), now)
        self._on_outbox()
        return report

    async def check_proposal(self, reward_id: int, chat_id: int) -> RewardRecord:
        async with self._db.read() as conn:
            reward = await rewards_repo.by_id(conn, reward_id)
        if reward is None or reward.finance_chat_id != chat_id:
            raise RewardMovedOn(status="?")
        if reward.status != RewardStatus.PROPOSED:
            raise RewardMovedOn(status=reward.status)
        return reward
