"""Payouts: a clerk finds an offer by the claim code the claimant presents, checks identity
where the policy asks, and records the payout against its voucher. The code stops working,
its schedules are cancelled, the tipster, finance and review chats are told, all in one
commit. Wrong codes are rate limited per clerk.

The payer is never one of the reward's approvers, and a payout is carried on ("ID checked",
the voucher) only by the clerk who started it with /paid: the one who met the claimant.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import codes, timing
from bot.domain.errors import (
    CodeMalformed,
    CodeRateLimited,
    CodeUnknown,
    IdNotChecked,
    RewardMovedOn,
    VoucherMissing,
)
from bot.domain.outbox import Param, RewardRefresh, StaffText, TipsterText
from bot.domain.policy import ClaimMode
from bot.domain.prompts import PaidCheck, Payout, PromptKind, load_prompt_payload
from bot.domain.reward import (
    MAX_VOUCHER_CHARS,
    RewardStatus,
    check_payer,
    check_reward_move,
    check_same_clerk,
)
from bot.domain.staff import Actor
from bot.services.base import ServiceEnv, UseCases
from bot.services.review import consume_prompt
from bot.services.reward_book import reward_of_chat
from storage import ratelimit, reports, schedules
from storage import review as review_repo
from storage import rewards as rewards_repo
from storage.records import PromptRecord, RewardRecord


@dataclass(frozen=True)
class Offer:
    """An offered reward found by its claim code, for the payout confirmation."""

    reward: RewardRecord
    reference: str


class PayoutService(UseCases):
    """The finance chat's payout use cases."""

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._finance_chat = env.finance_chat_id

    async def find_offer(self, code_text: str, actor: Actor) -> Offer:
        """The offer a presented claim code belongs to. A look-up only reads; a wrong code is
        counted (its one write) against the clerk, then refused."""
        hour = timing.hour(self.now())
        subject = str(actor.user_id).encode()
        limit = self._policy.rewards.max_code_failures_per_hour
        normalized = codes.normalize_claim_code(code_text)
        async with self._db.read() as conn:
            if await ratelimit.count(conn, "code_fail", subject, hour) >= limit:
                raise CodeRateLimited()
            reward = (
                await rewards_repo.by_code_hash(conn, self._vault.claim_code_hashes(normalized))
                if normalized
                else None
            )
            offered = reward is not None and reward.status == RewardStatus.OFFERED
            report = await reports.by_id(conn, reward.report_id) if reward and offered else None
            approvers = (
                [a for a, _ in await rewards_repo.approvals(conn, reward.id)] if reward else []
            )
        if reward is not None and report is not None:
            check_payer(actor.user_id, approvers)
            return Offer(reward, report.reference)
        async with self._db.transaction() as conn:
            await ratelimit.increment(conn, "code_fail", subject, hour)
        raise CodeMalformed() if normalized is None else CodeUnknown()

    def check_clerk(self, check: PromptRecord, actor: Actor) -> PaidCheck:
        """The offer a /paid check found, for the clerk who ran that /paid; NotYourPayout for
        anyone else. Only reads."""
        check_same_clerk(actor.user_id, check.actor_id)
        return load_prompt_payload(PaidCheck, check.payload)

    async def continue_payout(
        self, check: PromptRecord, message_id: int, actor: Actor, *, id_checked: bool
    ) -> None:
        """Close the /paid check and open the voucher prompt (bot message `message_id`), in one
        commit; only the clerk who ran /paid may."""
        details = self.check_clerk(check, actor)
        payload = Payout(reward=details.reward, id_checked=id_checked).model_dump_json()
        async with self._db.transaction() as conn:
            await consume_prompt(conn, check)
            await review_repo.add_prompt(
                conn,
                PromptRecord(
                    check.chat_id,
                    message_id,
                    PromptKind.PAYOUT,
                    check.report_id,
                    actor.user_id,
                    self.now(),
                    payload,
                ),
            )

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
        `prompt`, the voucher prompt replied to, closes in the same commit; only the clerk who
        ran /paid may reply to it, and nobody who approved the reward may pay it."""
        cleaned = " ".join(voucher.split())
        if not cleaned or len(cleaned) > MAX_VOUCHER_CHARS:
            raise VoucherMissing(limit=MAX_VOUCHER_CHARS)
        if self._policy.rewards.claim_mode is ClaimMode.CODE_AND_ID and not id_checked:
            raise IdNotChecked()
        if prompt is not None:
            check_same_clerk(actor.user_id, prompt.actor_id)
        now = self.now()
        async with self._db.transaction() as conn:
            if prompt is not None:
                await consume_prompt(conn, prompt)
            reward, report = await reward_of_chat(conn, reward_id, self._finance_chat)
            check_reward_move(reward.status, RewardStatus.PAID)
            check_payer(
                actor.user_id, [a for a, _ in await rewards_repo.approvals(conn, reward.id)]
            )
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
            amount: dict[str, Param] = {"amount": reward.amount_minor}
            await self._notify.to_tipster(
                conn, report, TipsterText(key="notice.reward_paid", params=amount), now
            )
            await self._notify.to_staff(
                conn, report, self._finance_chat, RewardRefresh(reward=reward.id), now
            )
            await self._notify.to_staff(
                conn,
                report,
                report.review_chat_id,
                StaffText(key="reward.review_paid", params=amount, reward=reward.id),
                now,
            )
            await self._notify.card(conn, report, now)
            updated = await rewards_repo.by_id(conn, reward.id)
        assert updated is not None
        self._on_outbox()
        return updated
