"""Kinds of staff prompts: bot messages whose reply carries input (a question, a reason...)."""

from __future__ import annotations

from enum import StrEnum


class PromptKind(StrEnum):
    ASK = "ask"
    DUPLICATE = "duplicate"
    REWARD = "reward"
    REFUSE = "refuse"
    PAID_CHECK = "paid_check"
    PAYOUT = "payout"
