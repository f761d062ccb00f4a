"""Test helper: the tipster's side as one object, the draft (IntakeService) and what the
receipt does (ReceiptService), so rule tests read as the tipster's steps in order."""

from __future__ import annotations

from typing import Any

from bot.services.intake import IntakeService
from bot.services.receipts import ReceiptService


class TipsterSide:
    def __init__(self, drafts: IntakeService, receipts: ReceiptService) -> None:
        self.drafts = drafts
        self.receipts = receipts

    def __getattr__(self, name: str) -> Any:
        for service in (self.drafts, self.receipts):
            if hasattr(service, name):
                return getattr(service, name)
        raise AttributeError(name)


def tipster_side(db: Any, vault: Any, blobs: Any, policy: Any, **options: Any) -> TipsterSide:
    """Both services on one database, as the running bot builds them."""
    clock = options.get("clock")
    drafts = IntakeService(db, vault, blobs, policy, **({"clock": clock} if clock else {}))
    return TipsterSide(drafts, ReceiptService(db, vault, policy, **options))
