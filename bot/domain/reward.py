"""Reward states with their one transition table, and the scheme's rules: how many approvals
an amount needs, who may approve and who may pay (four eyes between people, not accounts),
what counts against the monthly budget, how a proposal reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import (
    AlreadyApproved,
    AmountOutOfRange,
    ApproverCannotPay,
    CaseWorkerCannotApprove,
    JustificationMissing,
    NotYourPayout,
    ProposerCannotApprove,
    RewardMovedOn,
)
from bot.domain.money import AmountError, parse_amount
from bot.domain.policy import Policy, Tier

MAX_JUSTIFICATION_CHARS = 1000
MAX_VOUCHER_CHARS = 64


class RewardStatus(StrEnum):
    PROPOSED = "proposed"
    REFUSED = "refused"
    OFFERED = "offered"
    PAID = "paid"
    EXPIRED = "expired"


REWARD_TRANSITIONS: dict[RewardStatus, frozenset[RewardStatus]] = {
    RewardStatus.PROPOSED: frozenset({RewardStatus.REFUSED, RewardStatus.OFFERED}),
    RewardStatus.OFFERED: frozenset({RewardStatus.PAID, RewardStatus.EXPIRED}),
    RewardStatus.REFUSED: frozenset(),
    RewardStatus.PAID: frozenset(),
    RewardStatus.EXPIRED: frozenset(),
}

# A refused proposal leaves room for another; any other reward is the tip's one reward.
ACTIVE = frozenset(set(RewardStatus) - {RewardStatus.REFUSED})
# Approved money the month's budget carries (an expired offer gives its amount back).
COMMITTED = frozenset({RewardStatus.OFFERED, RewardStatus.PAID})
# A reward not yet settled: the tipster may still have to hear of it, be reminded, claim it.
IN_PROGRESS = frozenset({RewardStatus.PROPOSED, RewardStatus.OFFERED})
# Shown to the receipt holder on /status; a proposal is not news until finance approves it.
SHOWN_TO_TIPSTER = frozenset({RewardStatus.OFFERED, RewardStatus.PAID, RewardStatus.EXPIRED})


def check_reward_move(current: str, target: RewardStatus) -> RewardStatus:
    """The one gate every reward move passes; RewardMovedOn names the state it is in."""
    status = RewardStatus(current)
    if target not in REWARD_TRANSITIONS[status]:
        raise RewardMovedOn(status=status.value)
    return status


def approvals_needed(policy: Policy, amount_minor: int) -> int:
    """Four eyes always (the proposer never approves); six above the policy's threshold."""
    return 2 if amount_minor > policy.rewards.second_approval_above_minor else 1


# The moves on a tip's history that make someone one of its case workers: taking it (claim,
# reopen) and deciding it was verified.
HOLDING_ACTIONS = frozenset({"claim", "reopen"})
VERIFIED = "verified"


def case_workers(
    holder_id: int | None, moves: Iterable[tuple[int, str, str | None]]
) -> frozenset[int]:
    """Who worked the case: its holder now, whoever held it before (claimed or reopened it),
    and whoever moved it to verified. `moves` are (actor, action, status moved to)."""
    workers = {holder_id} if holder_id is not None else set()
    for actor, action, to_status in moves:
        if action in HOLDING_ACTIONS or to_status == VERIFIED:
            workers.add(actor)
    return frozenset(workers)


def check_approver(
    approver: int,
    *,
    proposer: int,
    workers: Collection[int],
    approvers: Collection[int],
    needed: int,
) -> None:
    """Four eyes between people: nobody approves a reward they proposed, nor one for a tip
    they held or verified, nor the same reward twice."""
    if approver == proposer:
        raise ProposerCannotApprove()
    if approver in workers:
        raise CaseWorkerCannotApprove()
    if approver in approvers:
        raise AlreadyApproved(needed=needed)


def check_payer(payer: int, approvers: Collection[int]) -> None:
    """Whoever approved a reward never records its payout: the money needs another pair of
    hands than the decision."""
    if payer in approvers:
        raise ApproverCannotPay()


def check_same_clerk(clerk: int, started_by: int) -> None:
    """A payout started with /paid is continued ("ID checked", the voucher) by the person who
    ran it, who met the claimant and is recorded as the payer."""
    if clerk != started_by:
        raise NotYourPayout()


@dataclass(frozen=True)
class Budget:
    year: int
    month: int
    budget_minor: int
    committed_minor: int

    @property
    def remaining_minor(self) -> int:
        return self.budget_minor - self.committed_minor

    def allows(self, amount_minor: int) -> bool:
        """No budget set (0) allows everything; otherwise the month must still hold it."""
        return not self.budget_minor or self.committed_minor + amount_minor <= self.budget_minor


def parse_proposal(policy: Policy, tier: Tier, text: str) -> tuple[int, str]:
    """Amount and justification from the reviewer's reply ("5000 why", or just "why" for a
    fixed tier, where a leading amount equal to the tier's is allowed)."""
    minor_per_major = policy.rewards.minor_per_major
    words = text.strip().split(maxsplit=1)
    if tier.fixed:
        amount, justification = tier.min_minor, text.strip()
        if words:
            try:
                if parse_amount(words[0], minor_per_major) == amount:
                    justification = words[1] if len(words) > 1 else ""
            except AmountError:
                pass
    else:
        out_of_range = AmountOutOfRange(
            low=tier.min_minor, high=tier.max_minor if tier.max_minor else 0
        )
        try:
            amount = parse_amount(words[0] if words else "", minor_per_major)
        except AmountError:
            raise out_of_range from None
        justification = words[1] if len(words) > 1 else ""
        if not tier.allows(amount):
            raise out_of_range
    justification = justification.strip()
    if not justification or len(justification) > MAX_JUSTIFICATION_CHARS:
        raise JustificationMissing(limit=MAX_JUSTIFICATION_CHARS)
    return amount, justification
