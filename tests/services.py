"""Test helpers: services built as the running bot builds them, from one ServiceEnv, and the
tipster's side as one object (the draft, then what its receipt does), so rule tests read as
the tipster's steps in order."""

from __future__ import annotations

from typing import Any

from bot.services.base import ServiceEnv
from bot.services.intake import IntakeService
from bot.services.receipts import ReceiptService


def service_env(
    db: Any,
    vault: Any,
    blobs: Any,
    policy: Any,
    *,
    review_chat_id: int = -1_001,
    finance_chat_id: int = -1_002,
    **options: Any,
) -> ServiceEnv:
    return ServiceEnv(db, vault, blobs, policy, review_chat_id, finance_chat_id, **options)


class TipsterSide:
    def __init__(self, env: ServiceEnv) -> None:
        self.drafts = IntakeService(env)
        self.receipts = ReceiptService(env)

    def __getattr__(self, name: str) -> Any:
        for service in (self.drafts, self.receipts):
            if hasattr(service, name):
                return getattr(service, name)
        raise AttributeError(name)
