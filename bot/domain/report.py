"""Report states, the one table of allowed transitions, and the staff actions that make them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import DomainError


class ReportStatus(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    AWAITING_TIPSTER = "awaiting_tipster"
    VERIFIED = "verified"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    CLOSED = "closed"


class Action(StrEnum):
    """What a reviewer can do to a tip; each one names the state it leads to."""

    CLAIM = "claim"
    ASK = "ask"
    VERIFY = "verify"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    REOPEN = "reopen"
    CLOSE = "close"


class TransitionError(DomainError):
    """The report cannot move from its current state to the one asked for."""

    key = "staff.error.not_now"

    def __init__(self, current: ReportStatus, wanted: ReportStatus) -> None:
        super().__init__(reference="", status=current.value)
        self.current = current
        self.wanted = wanted


DECIDED = frozenset(
    {ReportStatus.VERIFIED, ReportStatus.UNFOUNDED, ReportStatus.DUPLICATE, ReportStatus.SPAM}
)
OPEN = frozenset({ReportStatus.NEW, ReportStatus.IN_REVIEW, ReportStatus.AWAITING_TIPSTER})

TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.NEW: frozenset(
        {ReportStatus.IN_REVIEW, ReportStatus.DUPLICATE, ReportStatus.SPAM}
    ),
    ReportStatus.IN_REVIEW: frozenset({ReportStatus.AWAITING_TIPSTER}) | DECIDED,
    ReportStatus.AWAITING_TIPSTER: frozenset({ReportStatus.IN_REVIEW}) | DECIDED,
    ReportStatus.VERIFIED: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.UNFOUNDED: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.DUPLICATE: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.SPAM: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.CLOSED: frozenset(),
}

TARGET: dict[Action, ReportStatus] = {
    Action.CLAIM: ReportStatus.IN_REVIEW,
    Action.ASK: ReportStatus.AWAITING_TIPSTER,
    Action.VERIFY: ReportStatus.VERIFIED,
    Action.UNFOUNDED: ReportStatus.UNFOUNDED,
    Action.DUPLICATE: ReportStatus.DUPLICATE,
    Action.SPAM: ReportStatus.SPAM,
    Action.REOPEN: ReportStatus.IN_REVIEW,
    Action.CLOSE: ReportStatus.CLOSED,
}

# Which actions reach each target from where: claim only from new, reopen only from a decision.
_SOURCES: dict[Action, frozenset[ReportStatus]] = {
    Action.CLAIM: frozenset({ReportStatus.NEW}),
    Action.REOPEN: DECIDED,
}


def check_transition(current: ReportStatus, wanted: ReportStatus) -> None:
    """Raise TransitionError unless `current -> wanted` is in the table."""
    if wanted not in TRANSITIONS[current]:
        raise TransitionError(current, wanted)


def allowed_actions(current: ReportStatus) -> list[Action]:
    """The actions a reviewer may take now, in button order."""
    return [
        action
        for action in Action
        if TARGET[action] in TRANSITIONS[current]
        and current in _SOURCES.get(action, frozenset(ReportStatus))
    ]


def needs_holder(current: ReportStatus, action: Action) -> bool:
    """Claimed work belongs to its holder (or an admin); triage of new tips is open to all."""
    return current is not ReportStatus.NEW and action is not Action.CLAIM


@dataclass(frozen=True)
class Move:
    """A checked move of a report: from, to, and the timestamps the new state records."""

    current: ReportStatus
    target: ReportStatus
    verified_at: int | None
    closed_at: int | None


def plan_move(current: ReportStatus, target: ReportStatus, now: int) -> Move:
    """The one gate every state move passes (staff, tipster and jobs alike)."""
    check_transition(current, target)
    return Move(
        current,
        target,
        verified_at=now if target is ReportStatus.VERIFIED else None,
        closed_at=now if target is ReportStatus.CLOSED else None,
    )
