"""Reading the reward scheme: the tip's one reward, what the month's budget carries, what the
receipt holder sees on /status, and the ledger finance exports."""

from __future__ import annotations

from dataclasses import dataclass

from bot.crypto.vault import VaultError, open_with_receipt
from bot.domain.errors import RewardMovedOn
from bot.domain.localtime import LocalTime
from bot.domain.reward import ACTIVE, COMMITTED, SHOWN_TO_TIPSTER, Budget, RewardStatus
from bot.services.base import UseCases
from storage import reports
from storage import rewards as rewards_repo
from storage.db import Connection
from storage.records import ReportRecord, RewardRecord


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


async def active_reward(conn: Connection, report_id: int) -> RewardRecord | None:
    """The tip's one reward, unless there is none or the last one was refused."""
    latest = await rewards_repo.latest_for_report(conn, report_id)
    return latest if latest is not None and latest.status in ACTIVE else None


async def reward_of_chat(
    conn: Connection, reward_id: int, finance_chat: int
) -> tuple[RewardRecord, ReportRecord]:
    """A reward of this finance chat, with its report; RewardMovedOn when there is none."""
    reward = await rewards_repo.by_id(conn, reward_id)
    report = await reports.by_id(conn, reward.report_id) if reward else None
    if reward is None or report is None or reward.finance_chat_id != finance_chat:
        raise RewardMovedOn(status="?")
    return reward, report


async def committed(conn: Connection, year: int, month: int, local: LocalTime) -> int:
    """What the month's budget carries: approved in that (local) month and not expired."""
    start, end = local.month_bounds(year, month)
    return await rewards_repo.amount_approved_between(conn, start, end, sorted(COMMITTED))


class RewardBook(UseCases):
    """Reading the scheme: the receipt holder's view, the month's budget, the ledger."""

    async def for_tipster(
        self, report: ReportRecord, normalized_receipt: str
    ) -> TipsterReward | None:
        """The latest reward of a tip, with its claim code opened by the receipt."""
        async with self._db.read() as conn:
            reward = await rewards_repo.latest_for_report(conn, report.id)
        if reward is None or reward.status not in SHOWN_TO_TIPSTER:
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

    async def budget(self, year: int, month: int) -> Budget:
        async with self._db.read() as conn:
            used = await committed(conn, year, month, self._local)
        return Budget(year, month, self._policy.rewards.monthly_budget_minor, used)

    async def ledger(self, year: int, month: int) -> list[LedgerRow]:
        start, end = self._local.month_bounds(year, month)
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
