"""What every use case is built from: one environment, given once by the composition root."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.crypto.vault import Vault
from bot.crypto.windows import WindowKeys, WindowSpec
from bot.domain.localtime import LocalTime
from bot.domain.policy import Policy
from bot.services.audit import AuditLog
from bot.services.holidays import local_time
from bot.services.notifier import Notifier
from bot.services.unit import Transactions
from storage.blobs import BlobStore
from storage.db import Database


def _nothing() -> None:
    return None


HOUR = 3600
DAY = 86_400
# Purposes of window keys (bot.crypto.windows), see docs/DECISIONS.md "Window keys".
DRAFT_WINDOW = "draft"  # finds a draft; the draft moves to the newest key when it is written
ANSWER_WINDOW = "answer"  # finds an open answer session
TIPS_WINDOW = "tips"  # the daily tip limit's counter
RECEIPT_WINDOW = "receipt"  # the hourly counter of wrong receipts


def window_specs(policy: Policy) -> list[WindowSpec]:
    """Each purpose's windows: a key is used for writing during its window, for look-ups until
    its grace is over too, and then deleted. A draft untouched for `draft_ttl_hours` is stale
    and an answer session lasts `answer_window_minutes`, so their keys last that much longer
    than their hour; a counter is only read in its own day or hour."""
    return [
        WindowSpec(DRAFT_WINDOW, HOUR, policy.intake.draft_ttl_hours * HOUR),
        WindowSpec(ANSWER_WINDOW, HOUR, policy.review.answer_window_minutes * 60),
        WindowSpec(TIPS_WINDOW, DAY),
        WindowSpec(RECEIPT_WINDOW, HOUR),
    ]


@dataclass(frozen=True)
class ServiceEnv:
    """The database, the vault, the sealed files, the policy, the staff chats, the time,
    whom to wake once outbox rows are committed (the sender), whom to tell once something was
    erased (the WAL checkpoints), the window keys (one set for the whole bot, made from the
    rest when not given) and the local time and official calendar (made from the policy's
    `[locale]` when not given)."""

    db: Database
    vault: Vault
    blobs: BlobStore
    policy: Policy
    review_chat_id: int
    finance_chat_id: int
    clock: Callable[[], float] = time.time
    on_outbox: Callable[[], None] = _nothing
    on_erased: Callable[[], None] = _nothing
    windows: WindowKeys | None = None
    local: LocalTime | None = None

    def __post_init__(self) -> None:
        if self.windows is None:
            keys = WindowKeys(self.vault, self.db, window_specs(self.policy), self.clock)
            object.__setattr__(self, "windows", keys)
        if self.local is None:
            object.__setattr__(self, "local", local_time(self.policy.locale))

    @property
    def window_keys(self) -> WindowKeys:
        assert self.windows is not None
        return self.windows

    @property
    def local_time(self) -> LocalTime:
        assert self.local is not None
        return self.local


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
        self._on_erased = env.on_erased
        self._windows = env.window_keys
        self._local = env.local_time

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def local(self) -> LocalTime:
        """The zone dates are shown and counted in, with the official calendar."""
        return self._local

    def now(self) -> int:
        return int(self._clock())
