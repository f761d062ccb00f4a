"""What the WAL checkpoints after erasures cost: tips written and submitted through the real
services as fast as one process can (no Telegram, no sender), 32 tipsters at once, with no
checkpoint, with a checkpoint awaited after every submission, and with tipline's coalesced
checkpoints (`bot.services.checkpoints`: at most one every 2 s).

    python -m benchmarks.checkpoint_cost              # 2,000 tips per variant
    python -m benchmarks.checkpoint_cost --tips 500   # a quick run

Each tip is what the dialogue writes: start, category, area, two texts, review, submit (seven
write transactions, each fsynced). Prints tips/s, the checkpoints run, the time spent in them
(waiting for the database lock included) and the WAL's largest size.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.crypto.keys import open_vault
from bot.crypto.vault import KeyRing, new_master_key_text
from bot.domain import policy as policy_module
from bot.services.base import ServiceEnv
from bot.services.checkpoints import Checkpoints
from bot.services.intake import IntakeService
from bot.services.receipts import ReceiptService
from storage.blobs import BlobStore
from storage.db import Database

VARIANTS = ("none", "every submission", "coalesced (2 s)")
CONCURRENT = 32


async def _variant(name: str, tips: int, directory: Path) -> dict[str, float]:
    db = await Database.open(directory)
    await db.migrate()
    vault = await open_vault(KeyRing.from_texts([new_master_key_text()]), db)
    blobs = BlobStore(directory / "blobs")
    blobs.ensure()
    spent = {"checkpoints": 0.0, "seconds": 0.0, "wal_bytes": 0.0}
    real_checkpoint = db.checkpoint

    async def timed_checkpoint(wait_ms: int | None = None) -> bool:
        started = time.perf_counter()
        try:
            return await real_checkpoint(wait_ms)
        finally:
            spent["checkpoints"] += 1
            spent["seconds"] += time.perf_counter() - started

    db.checkpoint = timed_checkpoint  # type: ignore[method-assign]
    checkpoints = Checkpoints(db)
    on_erased: Callable[[], None] = checkpoints.request if name.startswith("coalesced") else _none
    policy = policy_module.load(None)
    env = ServiceEnv(db, vault, blobs, policy, -1_001, -1_002, on_erased=on_erased)
    intake, receipts = IntakeService(env), ReceiptService(env)
    after_submit: Callable[[], Awaitable[object]] = (
        db.checkpoint if name == "every submission" else _nothing
    )
    wal = directory / "tipline.sqlite3-wal"
    queue = iter(range(1, tips + 1))

    async def tipster() -> None:
        for number in queue:
            user = 9_000_000_000 + number
            await intake.start(user, "en")
            await intake.choose_category(user, "other")
            await intake.choose_area(user, area_key=None, typed="Harbour street")
            await intake.add_text(user, "first part of the tip")
            await intake.add_text(user, "second part of the tip")
            await intake.review(user)
            await receipts.submit(user, user)
            await after_submit()
            if wal.exists():
                spent["wal_bytes"] = max(spent["wal_bytes"], wal.stat().st_size)

    started = time.perf_counter()
    await asyncio.gather(*(tipster() for _ in range(CONCURRENT)))
    await checkpoints.stop()
    wall = time.perf_counter() - started
    await db.close()
    return {"tips/s": tips / wall, "wall s": wall, **spent}


def _none() -> None:
    return None


async def _nothing() -> None:
    return None


async def main(tips: int) -> None:
    print(f"{tips} tips per variant, {CONCURRENT} tipsters at once")
    widths = (("checkpoints", -18), ("tips/s", 8), ("wall s", 8), ("runs", 6))
    widths += (("in them s", 10), ("WAL max", 11))
    print(" ".join(f"{title:<{-w}}" if w < 0 else f"{title:>{w}}" for title, w in widths))
    for name in VARIANTS:
        with tempfile.TemporaryDirectory(prefix="tipline-ckpt-") as directory:
            r = await _variant(name, tips, Path(directory))
        print(
            f"{name:<18} {r['tips/s']:>8.1f} {r['wall s']:>8.1f} {int(r['checkpoints']):>6}"
            f" {r['seconds']:>10.2f} {int(r['wal_bytes']) // 1024:>8} KB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=2000, help="tips per variant (2000)")
    asyncio.run(main(parser.parse_args().tips))
