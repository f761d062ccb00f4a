"""The watchdog restarts polling when getUpdates has not succeeded for a while."""

from __future__ import annotations

import asyncio

from telegram.ext import ApplicationBuilder

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.telegram.updates import UpdatePipeline
from storage.db import Database


async def test_a_hanging_getupdates_is_restarted(fake, tmp_path) -> None:
    application = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
        .updater(None)
        .build()
    )
    await application.initialize()
    db = await Database.open(tmp_path)
    await db.migrate()
    pipeline = UpdatePipeline(
        application,
        db,
        Vault(KeyRing.from_texts([new_master_key_text()])),
        poll_timeout=0,
        watchdog_seconds=0.5,
    )
    try:
        fake.latency = 3.0  # every getUpdates now hangs far longer than the watchdog allows
        await pipeline.start()
        for _ in range(40):
            if pipeline.restarts >= 1:
                break
            await asyncio.sleep(0.1)
        assert pipeline.restarts >= 1
        fake.latency = 0.0
        user = fake.add_user(8900000001, "W")
        fake.user_sends_text(user, "/start")
        await fake.wait_until(lambda: fake.confirmed_offset > 0, timeout=10)
    finally:
        await pipeline.stop(grace_seconds=1)
        await application.shutdown()
        await db.close()
