"""The update pipeline keeps no tipster's Telegram id after handling their update.

python-telegram-bot collects the user and chat id of every update for its persistence and
only a persistence ever empties those sets; tipline has none (it would store ids), so the
pipeline empties them. The benchmark's 20,000-tip memory phase found them growing with every
new tipster. This test names PTB's private sets on purpose: if an upgrade renames them, it
fails here instead of the fix going quiet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.telegram.updates import UpdatePipeline
from storage.db import Database
from tests.fake_telegram import FakeTelegram

PTB_ID_SETS = ("_user_ids_to_be_updated_in_persistence", "_chat_ids_to_be_updated_in_persistence")


def _private_text(update_id: int, user_id: int) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "T"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "T"},
            "from": person,
            "text": "hello",
        },
    }


async def test_no_user_or_chat_id_stays_in_memory_after_handling(tmp_path) -> None:
    db = await Database.open(tmp_path)
    await db.migrate()
    handled: list[int] = []

    async def note(update: Update, _: object) -> None:
        handled.append(update.update_id)

    async with FakeTelegram() as fake:
        application = (
            ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot").updater(None).build()
        )
        application.add_handler(MessageHandler(filters.TEXT, note))
        vault = Vault(KeyRing.from_texts([new_master_key_text()]))
        pipeline = UpdatePipeline(application, db, vault)
        await application.initialize()
        try:
            for n, user_id in enumerate((8_100_000_001, 8_100_000_002, 8_100_000_003), start=1):
                update = Update.de_json(_private_text(n, user_id), application.bot)
                await pipeline._handle_in_order(update)
        finally:
            await application.shutdown()
            await db.close()
    assert handled == [1, 2, 3]
    for name in PTB_ID_SETS:
        ids = getattr(application, name)
        assert isinstance(ids, set), f"python-telegram-bot no longer has {name}"
        assert ids == set(), f"{name} still holds ids"


async def test_one_senders_burst_never_takes_the_slots_of_others(tmp_path) -> None:
    """Why tipline keeps its own dispatcher rather than a PTB BaseUpdateProcessor: there the
    concurrency slot is taken before the processor sees the update, so a burst from one sender
    would hold every slot while it waits on its own per-sender lock. Here the sender's lock
    comes first: with two slots, a flood of one person's updates leaves a slot for another."""
    db = await Database.open(tmp_path)
    await db.migrate()
    release = asyncio.Event()
    other_handled = asyncio.Event()
    order: list[int] = []

    async def note(update: Update, _: object) -> None:
        assert update.effective_user is not None
        if update.effective_user.id == 8_100_000_001:
            order.append(update.update_id)
            await release.wait()
        else:
            other_handled.set()

    async with FakeTelegram() as fake:
        application = (
            ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot").updater(None).build()
        )
        application.add_handler(MessageHandler(filters.TEXT, note))
        vault = Vault(KeyRing.from_texts([new_master_key_text()]))
        pipeline = UpdatePipeline(application, db, vault, max_concurrent=2)
        await application.initialize()
        try:
            for n in range(1, 6):
                pipeline._dispatch(Update.de_json(_private_text(n, 8_100_000_001), application.bot))
            pipeline._dispatch(Update.de_json(_private_text(6, 8_100_000_002), application.bot))
            await asyncio.wait_for(other_handled.wait(), timeout=10)
            assert order == [1], "the flooding sender's later updates wait their turn"
            release.set()
            await pipeline.stop()
            assert order == [1, 2, 3, 4, 5], "and keep their order"
        finally:
            await application.shutdown()
            await db.close()
