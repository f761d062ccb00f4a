"""Window keys: a random key per purpose and window of time, deleted when the window is over.

A Telegram user id has about 2^33 possible values, so a keyed hash of it under a long-lived key
is only as private as that key: whoever holds the database and the master key recomputes the
hash of every id in minutes. Pseudonyms of tipsters are therefore keyed under window keys
instead: a random key for one purpose and one window (an hour, a day), created when the window
opens, stored wrapped by the master key, used for look-ups while the window and its grace last,
then deleted. A row keyed under a deleted key names nobody, even to someone holding every file
and every master key.

The update inbox uses the same keys per batch of updates: a batch is sealed under a key of its
own, which is deleted once no inbox row it sealed is left (a row set aside as poison keeps its
key until retention deletes the row).

One `WindowKeys` serves the whole bot. It keeps the unwrapped keys of open windows in memory;
the database is the truth (a key is created with `INSERT OR IGNORE` and read back), so two
callers racing to open a window get the same key. A key is created in a short transaction of
its own, never inside the caller's: callers ask for their keys before they open their
transaction.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.crypto.vault import Vault, WindowKey, WrappedKey
from storage import windows as repo
from storage.db import Database

INBOX = "inbox"


@dataclass(frozen=True)
class WindowSpec:
    """A purpose's windows: each is `seconds` long (aligned to the epoch, so days are UTC days)
    and its key is still used for look-ups `grace` seconds after the window closed."""

    purpose: str
    seconds: int
    grace: int = 0


class WindowKeys:
    def __init__(
        self,
        vault: Vault,
        db: Database,
        specs: Iterable[WindowSpec],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._vault = vault
        self._db = db
        self._specs = {spec.purpose: spec for spec in specs}
        self._clock = clock
        self._cache: dict[str, WindowKey] = {}
        self._loaded = False
        self._opening = asyncio.Lock()

    @property
    def vault(self) -> Vault:
        return self._vault

    def _now(self) -> int:
        return int(self._clock())

    async def _load(self) -> None:
        async with self._opening:
            if self._loaded:
                return
            records = []
            if self._specs:
                async with self._db.read() as conn:
                    records = await repo.live(conn, list(self._specs), self._now())
            for record in records:
                self._cache[record.name] = self._vault.unwrap_window_key(
                    record.name,
                    record.purpose,
                    WrappedKey(record.key_id, record.wrapped_key),
                    record.opens_at,
                    record.expires_at,
                )
            self._loaded = True

    async def current(self, purpose: str) -> WindowKey:
        """The key of the window open now, created (and stored) if this is its first use."""
        if not self._loaded:
            await self._load()
        spec = self._specs[purpose]
        now = self._now()
        opens = now - now % spec.seconds
        name = f"{purpose}:{opens}"
        key = self._cache.get(name)
        if key is not None:
            return key
        async with self._opening:
            key = self._cache.get(name)
            if key is not None:
                return key
            expires = opens + spec.seconds + spec.grace
            fresh, wrapped = self._vault.new_window_key(name, purpose, opens, expires)
            async with self._db.transaction() as conn:
                await repo.insert(conn, window_record(fresh, wrapped))
                stored = await repo.by_names(conn, [name])
            record = stored[0]
            key = self._vault.unwrap_window_key(
                name, purpose, WrappedKey(record.key_id, record.wrapped_key), opens, expires
            )
            self._cache[name] = key
            return key

    async def live(self, purpose: str) -> list[WindowKey]:
        """Keys of the purpose still used for look-ups, the newest first."""
        if not self._loaded:
            await self._load()
        now = self._now()
        keys = [
            key
            for key in self._cache.values()
            if key.purpose == purpose and key.opens_at <= now < key.expires_at
        ]
        return sorted(keys, key=lambda key: key.opens_at, reverse=True)

    async def pseudonyms(self, purpose: str, user_id: int) -> list[bytes]:
        """The user's pseudonym under every live key of the purpose, the newest first."""
        return [key.pseudonym(user_id) for key in await self.live(purpose)]

    async def expire(self) -> int:
        """Delete the keys whose time is over, and inbox keys that seal no row any more;
        how many were deleted."""
        now = self._now()
        timed = [purpose for purpose in self._specs if purpose != INBOX]
        async with self._db.transaction() as conn:
            gone = await repo.delete_expired(conn, timed, now) if timed else []
            unused = await repo.delete_unused_inbox_keys(conn, INBOX)
        for name in gone:
            self._cache.pop(name, None)
        for name in [name for name, key in self._cache.items() if key.expires_at <= now]:
            del self._cache[name]
        return len(gone) + unused

    # ----- the inbox: one key per batch of updates --------------------------------------------

    def new_batch_key(self) -> tuple[WindowKey, WrappedKey]:
        """A fresh key for one batch of updates (stored by the caller with its rows)."""
        now = self._now()
        return self._vault.new_window_key(f"{INBOX}:{secrets.token_hex(8)}", INBOX, now, now)

    async def batch_keys(self, names: Iterable[str]) -> dict[str, WindowKey]:
        """The stored inbox keys of these names (a name whose key is gone is left out)."""
        async with self._db.read() as conn:
            records = await repo.by_names(conn, sorted(set(names)))
        return {
            record.name: self._vault.unwrap_window_key(
                record.name,
                record.purpose,
                WrappedKey(record.key_id, record.wrapped_key),
                record.opens_at,
                record.expires_at,
            )
            for record in records
        }


def window_record(key: WindowKey, wrapped: WrappedKey) -> repo.WindowKeyRecord:
    """The row that stores a window key wrapped."""
    return repo.WindowKeyRecord(
        name=key.name,
        purpose=key.purpose,
        key_id=wrapped.key_id,
        wrapped_key=wrapped.blob,
        opens_at=key.opens_at,
        expires_at=key.expires_at,
    )
