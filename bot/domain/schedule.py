"""Kinds of scheduled work; the due times live in the database (the `schedules` table)."""

from __future__ import annotations

from enum import StrEnum


class ScheduleKind(StrEnum):
    REWARD_NUDGE = "reward_nudge"
    CLAIM_REMINDER = "claim_reminder"
    OFFER_EXPIRY = "offer_expiry"
    SLA_REMINDER = "sla_reminder"
    SLA_ESCALATION = "sla_escalation"
    AWAITING_TIMEOUT = "awaiting_timeout"
    ANSWER_SHOWN = "answer_shown"
    DIGEST_FINANCE = "digest_finance"
    DIGEST_REVIEW = "digest_review"


REWARD_KINDS = frozenset(
    {ScheduleKind.REWARD_NUDGE, ScheduleKind.CLAIM_REMINDER, ScheduleKind.OFFER_EXPIRY}
)
UNCLAIMED_KINDS = frozenset({ScheduleKind.SLA_REMINDER, ScheduleKind.SLA_ESCALATION})
DIGEST_KINDS = frozenset({ScheduleKind.DIGEST_FINANCE, ScheduleKind.DIGEST_REVIEW})
