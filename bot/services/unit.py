"""Transactions for the use cases, and the exactly-once markers of the inbound update.

The update loop (bot.telegram.updates) handles each update inside `handling(inbound)`. The
first write transaction a use case opens under it also records the update's markers and
deletes its inbox row, in the same commit as the use case's own change; if the markers are
already recorded, the update was applied before and AlreadyApplied aborts the transaction, so
a redelivered update changes nothing twice. Storage knows nothing of updates: it stores
opaque markers.

One update, one write transaction: once a write transaction of an update has committed, a
second one under the same update is refused (SecondWrite), always. A crash between two
commits would otherwise lose the second for good, since the markers of the first already say
"applied". A use case that needs two writes is one use case. A transaction that rolled back
(a refusal) does not count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from storage import inbox
from storage.db import Connection, Database


@dataclass
class Inbound:
    """The update being handled: keyed markers of it, and the inbox row it came from."""

    markers: list[bytes]
    now: int
    inbox_id: int | None = None
    recorded: bool = False
    task: asyncio.Task[Any] | None = None


class SecondWrite(RuntimeError):
    """A use case opened a second write transaction while handling one update (a bug)."""


_INBOUND: ContextVar[Inbound | None] = ContextVar("tipline_inbound", default=None)


def _current() -> Inbound | None:
    """The update this task is handling. A task started while an update was handled (PTB's
    job queue schedules its wake-ups from inside handlers) inherits the context variable but
    is not that update's handling: its writes are its own."""
    inbound = _INBOUND.get()
    if inbound is None or inbound.task is not asyncio.current_task():
        return None
    return inbound


@contextmanager
def handling(inbound: Inbound) -> Iterator[Inbound]:
    """Run the handling of one update (one asyncio task) with its markers."""
    inbound.task = asyncio.current_task()
    token = _INBOUND.set(inbound)
    try:
        yield inbound
    finally:
        _INBOUND.reset(token)


class Transactions:
    """`transaction()` for a use case's writes, `read()` for its consistent reads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        inbound = _current()
        if inbound is not None and inbound.recorded:
            raise SecondWrite("a second write transaction under one update")
        async with self._db.transaction() as conn:
            if inbound is not None and not inbound.recorded:
                await inbox.record_applied(conn, inbound.markers, inbound.now)
                if inbound.inbox_id is not None:
                    await inbox.remove(conn, inbound.inbox_id)
            yield conn
        if inbound is not None:
            inbound.recorded = True

    def read(self) -> AbstractAsyncContextManager[Connection]:
        return self._db.read()
