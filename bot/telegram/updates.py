"""Owning the update loop: fetch, store (sealed) in the inbox, confirm, then handle.

python-telegram-bot's own Updater confirms an update to Telegram as soon as it is fetched, so a
crash mid-handler loses it. Here an update is committed to the inbox before the next
getUpdates confirms it, then handled from the inbox. The first write transaction of its
handling records a keyed marker of the update id and deletes its inbox row; a redelivered
update then changes nothing twice (see bot.services.unit). An update whose handling writes
nothing has its row deleted afterwards.

Each batch of updates is sealed under a random key of its own (a window key, see
bot.crypto.windows), stored wrapped beside the rows. Once no row of a batch is left, its key is
deleted (with the next batch, or a second after the last of its updates was handled), so an
old copy of a handled update (in the WAL, in a backup) opens for nobody, the master key's
holder included. A row set aside as poison keeps its key until retention deletes the row.

Updates from different people are handled concurrently (128 at once); updates from one person
(or one chat, when there is no person) keep their order: a lock per sender, FIFO.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.crypto.vault import Vault, VaultError, WindowKey
from bot.crypto.windows import INBOX, WindowKeys, window_record
from bot.domain.outbox import StaffNotice
from bot.services.notifier import Notifier
from bot.services.unit import Inbound, handling
from storage import inbox
from storage import windows as window_keys
from storage.db import Database

log = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 25
WATCHDOG_SECONDS = 120
MAX_CONCURRENT = 128
# Updates in hand (handling or waiting for a slot or their sender's turn) before fetching
# pauses: Telegram keeps the rest for us, so a burst never grows the task set without bound.
MAX_IN_HAND = 2 * MAX_CONCURRENT
# Handlings an inbox row may start (the live one included) before it is set aside: an update
# whose handling kills the process would otherwise be replayed first at every start.
MAX_ATTEMPTS = 3
REPLAY_BATCH = 500
# How long after the last update of a batch was handled its key is deleted when no new batch
# came meanwhile (a new batch deletes spent keys in its own transaction): one small write a
# second at most, however many batches finish.
RETIRE_KEYS_SECONDS = 1.0


class UpdatePipeline:
    """One fetch loop, one watchdog, and a task per update (ordered per sender)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        vault: Vault,
        *,
        clock: Callable[[], float] = time.time,
        max_concurrent: int = MAX_CONCURRENT,
        max_in_hand: int = MAX_IN_HAND,
        poll_timeout: int = POLL_TIMEOUT_SECONDS,
        watchdog_seconds: float = WATCHDOG_SECONDS,
        alert_chat_id: int | None = None,
        windows: WindowKeys | None = None,
    ) -> None:
        self._app = application
        self._db = db
        self._vault = vault
        self._windows = windows or WindowKeys(vault, db, (), clock)
        self._keys_in_use: dict[str, int] = {}  # batch key name -> its updates in hand
        self._spent = False  # a batch key may seal no row any more
        self._retire_task: asyncio.Task[None] | None = None
        self._storing: asyncio.Future[bool] | None = None  # the batch going into the inbox
        self._clock = clock
        self._poll_timeout = poll_timeout
        self._watchdog_seconds = watchdog_seconds
        self._slots = asyncio.Semaphore(max_concurrent)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # sender -> (lock, users)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._max_in_hand = max_in_hand
        self._room = asyncio.Event()
        self._room.set()
        self._alert_chat_id = alert_chat_id
        self.most_in_hand = 0
        self._poll_task: asyncio.Task[None] | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self._offset: int | None = None
        self._stopping = False
        self.last_success = time.monotonic()
        self.restarts = 0

    async def start(self) -> None:
        """Handle everything the inbox still holds, in order, then start fetching. A row
        whose handling started MAX_ATTEMPTS times already is set aside instead."""
        after, replayed = 0, 0
        set_aside: list[int] = []
        while True:
            async with self._db.read() as conn:
                batch = await inbox.pending(conn, after, REPLAY_BATCH)
            if not batch:
                break
            poison = {row.update_id for row in batch if row.attempts >= MAX_ATTEMPTS}
            if poison:
                await self._set_aside(poison)
            set_aside += sorted(poison)
            keys = await self._windows.batch_keys(r.key_window for r in batch if r.key_window)
            for row in batch:
                if row.update_id in poison:
                    continue
                update = self._open(row, keys)
                if update is None:
                    await self._remove(row.update_id)
                    continue
                await self._room.wait()
                self._dispatch(update, row.key_window, replayed=True)
                replayed += 1
            after = batch[-1].update_id
        if after:
            log.info("handling %d update(s) left in the inbox", replayed)
            self._offset = after + 1
        if set_aside:
            log.error(
                "update(s) %s failed %d times and were set aside",
                ", ".join(map(str, set_aside)),
                MAX_ATTEMPTS,
            )
        self._poll_task = asyncio.create_task(self._poll_loop(), name="tipline-poll")
        self._watchdog_task = asyncio.create_task(self._watchdog(), name="tipline-watchdog")

    async def _set_aside(self, poison: set[int]) -> None:
        """Set the poison aside, and tell the review chat's admins in one line without
        content."""
        now = int(self._clock())
        async with self._db.transaction() as conn:
            for update_id in sorted(poison):
                await inbox.quarantine(conn, update_id, now)
            if poison and self._alert_chat_id is not None:
                notice = StaffNotice(
                    key="jobs.quarantined", params={"count": len(poison), "admins": True}
                )
                await Notifier(self._vault).notice(conn, self._alert_chat_id, notice, now)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop fetching, then let the updates in hand finish (up to the grace period)."""
        self._stopping = True
        for task in (self._watchdog_task, self._poll_task, self._retire_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._storing is not None:
            with contextlib.suppress(Exception):
                await self._storing
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d update(s) still in hand at stop stay in the inbox", len(pending))
        if self._spent:
            with contextlib.suppress(Exception):
                await self._retire_spent_keys()

    # ----- fetching ------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        pause = 1.0
        while not self._stopping:
            await self._room.wait()
            try:
                updates = await self._app.bot.get_updates(
                    offset=self._offset,
                    timeout=self._poll_timeout,
                    allowed_updates=Update.ALL_TYPES,
                )
            except RetryAfter as exc:
                retry = exc.retry_after
                await asyncio.sleep(retry if isinstance(retry, int) else retry.total_seconds())
                continue
            except InvalidToken:
                log.error("the Bot API refused the token while polling; retrying in 60 s")
                await asyncio.sleep(60)
                continue
            except TelegramError as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            self.last_success = time.monotonic()
            if not updates:
                continue
            # Storing and handing over are shielded: a cancel (the stop, the watchdog) that
            # lands here lets the batch reach the handlers instead of leaving it in the inbox
            # until a restart. `stop` waits for it.
            self._storing = asyncio.ensure_future(self._take(updates))
            if not await asyncio.shield(self._storing):
                await asyncio.sleep(1.0)

    async def _take(self, updates: tuple[Update, ...]) -> bool:
        """Store a fetched batch and hand it to the handlers; False if storing failed."""
        try:
            key_name = await self._store(updates)
        except Exception as exc:  # the loop must outlive anything; unconfirmed, they come again
            log.error("storing updates failed (%s); fetching them again", type(exc).__name__)
            return False
        self._offset = max(update.update_id for update in updates) + 1
        for update in updates:
            self._dispatch(update, key_name)
        return True

    async def _store(self, updates: tuple[Update, ...]) -> str:
        """Seal the batch under a fresh key and store both; spent batch keys are deleted in the
        same transaction. Returns the key's name."""
        key, wrapped = self._windows.new_batch_key()
        rows = [
            (
                update.update_id,
                key.seal(_update_field(update.update_id), json.dumps(update.to_dict()).encode()),
            )
            for update in updates
        ]
        spent, self._spent = self._spent, False  # this transaction deletes every spent key
        try:
            async with self._db.transaction() as conn:
                await window_keys.insert(conn, window_record(key, wrapped))
                await inbox.store(conn, rows, int(self._clock()), key.name)
                await window_keys.delete_unused_inbox_keys(conn, INBOX, keep=key.name)
        except BaseException:
            self._spent = self._spent or spent
            raise
        return key.name

    def _open(self, row: inbox.InboxRow, keys: dict[str, WindowKey]) -> Update | None:
        update_id = row.update_id
        try:
            if row.key_window is None:  # sealed by an earlier version under a master subkey
                plain = self._vault.open_transient("inbox", str(update_id), row.sealed)
            else:
                key = keys.get(row.key_window)
                if key is None:
                    raise VaultError("the key of this inbox row is gone")
                plain = key.open(_update_field(update_id), row.sealed)
            return Update.de_json(json.loads(plain), self._app.bot)
        except (VaultError, ValueError, KeyError, TypeError):
            log.error("inbox row %d cannot be read and is dropped", update_id)
            return None

    def _key_done(self, key_name: str | None) -> None:
        """One update of the batch sealed under `key_name` is no longer in hand."""
        if key_name is None:
            return
        left = self._keys_in_use.get(key_name, 1) - 1
        if left > 0:
            self._keys_in_use[key_name] = left
            return
        self._keys_in_use.pop(key_name, None)
        self._spent = True
        if not self._stopping and (self._retire_task is None or self._retire_task.done()):
            self._retire_task = asyncio.create_task(self._retire_soon(), name="tipline-inbox-keys")

    async def _retire_soon(self) -> None:
        await asyncio.sleep(RETIRE_KEYS_SECONDS)
        if self._spent:
            try:
                await self._retire_spent_keys()
            except Exception as exc:  # the next batch or the sweep deletes them
                log.warning("deleting spent inbox keys failed (%s)", type(exc).__name__)

    async def _retire_spent_keys(self) -> None:
        """Delete the batch keys that seal no inbox row any more."""
        self._spent = False
        async with self._db.transaction() as conn:
            await window_keys.delete_unused_inbox_keys(conn, INBOX)

    async def _watchdog(self) -> None:
        """Restart polling when getUpdates has not succeeded for a while."""
        while not self._stopping:
            await asyncio.sleep(min(10.0, self._watchdog_seconds / 4))
            silent = time.monotonic() - self.last_success
            if silent > self._watchdog_seconds and self._poll_task is not None:
                log.warning("getUpdates has not succeeded for %.0f s; restarting polling", silent)
                self._poll_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poll_task
                if self._storing is not None:  # its offset first, or the batch comes twice
                    with contextlib.suppress(Exception):
                        await self._storing
                self.restarts += 1
                self.last_success = time.monotonic()
                self._poll_task = asyncio.create_task(self._poll_loop(), name="tipline-poll")

    # ----- handling ------------------------------------------------------------------------

    @staticmethod
    def _sender_key(update: Update) -> int:
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
        return 0

    def _markers(self, update: Update) -> list[bytes]:
        """The update id's marker. Telegram delivers a message in one update only, and the
        update id names it; a marker of (chat, message id) would be a keyed hash of the
        tipster's user id (their private chat's id) kept for two days."""
        return [self._vault.marker(f"u:{update.update_id}")]

    def _dispatch(
        self, update: Update, key_name: str | None = None, *, replayed: bool = False
    ) -> None:
        if key_name is not None:
            self._keys_in_use[key_name] = self._keys_in_use.get(key_name, 0) + 1
        task = asyncio.create_task(
            self._handle(update, key_name, replayed), name=f"update-{update.update_id}"
        )
        self._in_flight.add(task)
        task.add_done_callback(self._done)
        self.most_in_hand = max(self.most_in_hand, len(self._in_flight))
        if len(self._in_flight) >= self._max_in_hand:
            self._room.clear()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if len(self._in_flight) < self._max_in_hand:
            self._room.set()

    async def _handle(
        self, update: Update, key_name: str | None = None, replayed: bool = False
    ) -> None:
        try:
            await self._handle_in_order(update, replayed)
        except Exception as exc:  # a failed update stays in the inbox for the next start
            log.error("update %d could not be handled: %s", update.update_id, type(exc).__name__)
        finally:
            self._key_done(key_name)

    async def _handle_in_order(self, update: Update, replayed: bool = False) -> None:
        key = self._sender_key(update)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock, self._slots:
                if replayed:
                    # Counted as its handling starts, not for the whole inbox at start: a row
                    # that only waited behind others across restarts is not poison.
                    async with self._db.transaction() as conn:
                        await inbox.count_attempt(conn, [update.update_id])
                inbound = Inbound(self._markers(update), int(self._clock()), update.update_id)
                try:
                    with handling(inbound):
                        await self._app.process_update(update)
                finally:
                    self._forget_people()
                if not inbound.recorded:  # nothing was written: the inbox row goes on its own
                    await self._remove(update.update_id)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def _forget_people(self) -> None:
        """Empty the sets of user and chat ids PTB collects for persistence. Without a
        persistence (tipline has none: it would store ids) nothing ever empties them, so they
        grew with every new tipster (found by the benchmark's 20,000-tip memory phase) and
        held every tipster's Telegram id in memory for the life of the process."""
        if self._app.persistence is not None:
            return
        for name in (
            "_user_ids_to_be_updated_in_persistence",
            "_chat_ids_to_be_updated_in_persistence",
        ):
            ids = getattr(self._app, name, None)
            if isinstance(ids, set):
                ids.clear()

    async def _remove(self, update_id: int) -> None:
        async with self._db.transaction() as conn:
            await inbox.remove(conn, update_id)


def _update_field(update_id: int) -> str:
    """What an inbox row's seal is bound to: its update id."""
    return f"update:{update_id}"
