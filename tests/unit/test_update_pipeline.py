"""The update pipeline keeps no tipster's Telegram id after handling their update.

python-telegram-bot collects the user and chat id of every update for its persistence and
only a persistence ever empties those sets; tipline has none (it would store ids), so the
pipeline empties them. The benchmark's 20,000-tip memory phase found them growing with every
new tipster. This test names PTB's private sets on purpose: if an upgrade renames them, it
fails here instead of the fix going quiet.
"""

from __future__ import annotations

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
