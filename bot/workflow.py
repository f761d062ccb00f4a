"""Report states and the one table of allowed transitions between them."""

from __future__ import annotations

from enum import StrEnum


class ReportStatus(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    AWAITING_TIPSTER = "awaiting_tipster"
    VERIFIED = "verified"
    UNFOUNDED = "unfounded"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    CLOSED = "closed"


class TransitionError(Exception):
    """The report cannot move from its current state to the one asked for."""

    def __init__(self, current: ReportStatus, wanted: ReportStatus) -> None:
        super().__init__(f"{current} -> {wanted} is not allowed")
        self.current = current
        self.wanted = wanted


_DECIDED = frozenset(
    {ReportStatus.VERIFIED, ReportStatus.UNFOUNDED, ReportStatus.DUPLICATE, ReportStatus.SPAM}
)

TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.NEW: frozenset({ReportStatus.IN_REVIEW, ReportStatus.SPAM}),
    ReportStatus.IN_REVIEW: frozenset({ReportStatus.AWAITING_TIPSTER, ReportStatus.NEW}) | _DECIDED,
    ReportStatus.AWAITING_TIPSTER: frozenset({ReportStatus.IN_REVIEW}) | _DECIDED,
    ReportStatus.VERIFIED: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.UNFOUNDED: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.DUPLICATE: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.SPAM: frozenset({ReportStatus.CLOSED, ReportStatus.IN_REVIEW}),
    ReportStatus.CLOSED: frozenset(),
}


def check_transition(current: ReportStatus, wanted: ReportStatus) -> None:
    """Raise TransitionError unless `current -> wanted` is in the table."""
    if wanted not in TRANSITIONS[current]:
        raise TransitionError(current, wanted)
