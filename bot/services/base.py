"""What every use case is built from: one environment, given once by the composition root."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.crypto.vault import Vault
from bot.domain.policy import Policy
from bot.services.audit import AuditLog
from bot.services.notifier import Notifier
from bot.services.unit import Transactions
from storage.blobs import BlobStore
from storage.db import Database


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ServiceEnv:
    """The database, the vault, the sealed files, the policy, the staff chats, the time, and
    whom to wake once outbox rows are committed (the sender)."""

    db: Database
    vault: Vault
    blobs: BlobStore
    policy: Policy
    review_chat_id: int
    finance_chat_id: int
    clock: Callable[[], float] = time.time
    on_outbox: Callable[[], None] = _nothing


class UseCases:
    """Base of the services: transactions, the notifier and the audit chain over one env."""

    def __init__(self, env: ServiceEnv) -> None:
        self._db = Transactions(env.db)
        self._vault = env.vault
        self._blobs = env.blobs
        self._policy = env.policy
        self._audit = AuditLog(env.vault)
        self._notify = Notifier(env.vault, env.policy.contact_days * 86_400)
        self._clock = env.clock
        self._on_outbox = env.on_outbox

    @property
    def policy(self) -> Policy:
        return self._policy

    def now(self) -> int:
        return int(self._clock())
