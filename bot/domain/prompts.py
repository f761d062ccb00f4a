"""Kinds of staff prompts: bot messages whose reply carries input (a question, a reason...)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict


class PromptKind(StrEnum):
    """PAID_CHECK and PAYOUT carry a model below; REWARD carries a tier's key, REFUSE a
    reward id, ASK, DUPLICATE and OUTCOME nothing."""

    ASK = "ask"
    DUPLICATE = "duplicate"
    REWARD = "reward"
    REFUSE = "refuse"
    PAID_CHECK = "paid_check"
    PAYOUT = "payout"
    OUTCOME = "outcome"


class PaidCheck(BaseModel):
    """A payout's first prompt: the offer found by its claim code, waiting for "ID checked"."""

    model_config = ConfigDict(frozen=True)
    reward: int
    amount: int


class Payout(BaseModel):
    """A payout's second prompt: the voucher is the reply."""

    model_config = ConfigDict(frozen=True)
    reward: int
    id_checked: bool


M = TypeVar("M", bound=BaseModel)


def load_prompt_payload(model: type[M], raw: str | None) -> M:
    """A structured prompt payload; ValueError when it is not one."""
    return model.model_validate_json(raw or "{}")
