"""Test helpers: services built as the running bot builds them, from one ServiceEnv, and the
tipster's side as one object (the draft, then what its receipt does), so rule tests read as
the tipster's steps in order."""

from __future__ import annotations

from typing import Any

from bot.domain.media import Outcome
from bot.media.files import clean_file
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


class InProcessCleaner:
    """Cleans files in the test's own process: the same cleaning the workers run, without
    the pool (its own tests are tests/unit/test_media_worker.py)."""

    def __init__(self, max_pixels: int = 50_000_000) -> None:
        self.max_pixels = max_pixels

    async def clean(self, data: bytes) -> Outcome:
        return clean_file(data, self.max_pixels)


class TipsterSide:
    def __init__(self, env: ServiceEnv) -> None:
        self.drafts = IntakeService(env)
        self.receipts = ReceiptService(env)

    def __getattr__(self, name: str) -> Any:
        for service in (self.drafts, self.receipts):
            if hasattr(service, name):
                return getattr(service, name)
        raise AttributeError(name)
