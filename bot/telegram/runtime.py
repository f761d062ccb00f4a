"""The services one running bot holds, built in start-up and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.crypto.vault import Vault
from bot.crypto.windows import WindowKeys
from bot.domain.localtime import LocalTime
from bot.domain.policy import Policy
from bot.media.worker import MediaWorkers
from bot.services.answers import AnswerService
from bot.services.audit import AuditLog
from bot.services.checkpoints import Checkpoints
from bot.services.intake import IntakeService
from bot.services.jobs import Jobs
from bot.services.outcomes import OutcomeService
from bot.services.payouts import PayoutService
from bot.services.receipts import ReceiptService
from bot.services.retention import RetentionService
from bot.services.review import ReviewService
from bot.services.reward_book import RewardBook
from bot.services.rewards import RewardService
from bot.services.stats import StatsService
from bot.telegram.i18n import Catalogue
from bot.telegram.sender import Sender
from storage.blobs import BlobStore
from storage.db import Database


@dataclass
class Runtime:
    settings: Settings
    policy: Policy
    local: LocalTime
    catalogue: Catalogue
    db: Database
    vault: Vault
    blobs: BlobStore
    intake: IntakeService
    receipts: ReceiptService
    review: ReviewService
    answers: AnswerService
    rewards: RewardService
    payouts: PayoutService
    book: RewardBook
    audit: AuditLog
    sender: Sender
    retention: RetentionService
    jobs: Jobs
    windows: WindowKeys
    checkpoints: Checkpoints
    outcomes: OutcomeService
    stats: StatsService
    media: MediaWorkers

    @property
    def review_chats(self) -> frozenset[int]:
        return frozenset(self.policy.review.chats(self.settings.review_chat_id))


class BotData:
    """Typed `bot_data`: holds the runtime once start-up has built it."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None
        # (chat id, user id) -> (member status, monotonic expiry); staff roles, never persisted.
        self.role_cache: dict[tuple[int, int], tuple[str, float]] = {}

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def detach(self) -> Runtime | None:
        runtime, self._runtime = self._runtime, None
        return runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the bot is not started")
        return self._runtime


Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
