"""WAL checkpoints: what was deleted leaves the write-ahead log soon, not at some later time.

`secure_delete` zeroes freed space in the database file, but the WAL keeps every page as it was
written until a checkpoint folds it into the database file and truncates it: a deleted draft,
a contact erased by `/forget`, an erased outbox payload. So after such an erasure a checkpoint
(TRUNCATE) follows, coalesced: at most one every `min_interval` seconds however many erasures
came (a checkpoint per submission would cost the busiest minutes too much, see
docs/DECISIONS.md), and the hourly sweep runs one whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from storage.db import Database

log = logging.getLogger(__name__)

CHECKPOINT_AFTER_ERASURE_SECONDS = 2.0
# A reader in another process (`tipline backup`) keeps a checkpoint from completing; it is not
# waited for longer than this, because the database lock is held meanwhile. The next one
# catches up.
CHECKPOINT_WAIT_MS = 200


class Checkpoints:
    def __init__(
        self,
        db: Database,
        min_interval: float = CHECKPOINT_AFTER_ERASURE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._interval = min_interval
        self._monotonic = monotonic
        self._wanted = False
        self._task: asyncio.Task[None] | None = None
        self._last = float("-inf")
        self.completed = 0

    def request(self) -> None:
        """Something was erased and committed: a checkpoint follows within `min_interval`."""
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._soon(), name="tipline-checkpoint")

    async def _soon(self) -> None:
        while self._wanted:
            wait = self._last + self._interval - self._monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wanted = False
            try:
                await self.run()
            except Exception as exc:  # the next erasure or the hourly sweep tries again
                log.warning("checkpoint failed (%s)", type(exc).__name__)

    async def run(self) -> bool:
        """Checkpoint now; False if a reader elsewhere kept it from completing."""
        self._last = self._monotonic()
        done = await self._db.checkpoint(wait_ms=CHECKPOINT_WAIT_MS)
        if done:
            self.completed += 1
        else:
            log.warning("the WAL could not be truncated: another process is reading the database")
        return done

    async def stop(self) -> None:
        """Stop waiting; a checkpoint still wanted runs now (before the database closes)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._wanted:
            self._wanted = False
            await self.run()
