"""A fake Telegram Bot API server that a real python-telegram-bot application can talk to.

Usage::

    async with FakeTelegram() as fake:
        alice = fake.add_user(42, "Alice")
        app = (
            Application.builder()
            .token(fake.token)
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        ...  # start the app and its updater (polling)
        fake.user_sends_text(alice, "/start")
        reply = await fake.wait_for_message(42, lambda m: "Welcome" in m["_plain"])
        fake.user_presses(alice, reply, fake.button_data(reply)[0])

Like Telegram, the fake rejects malformed HTML, over-long texts, callback_data over 64 bytes,
sends to unknown chats, replies to missing messages, edits that change nothing and
unreadable photos (all 400), and sends to users who blocked the bot (403).
"""

from .models import Call, FakeChat, FakeUser, StoredFile
from .server import FakeTelegram

__all__ = ["Call", "FakeChat", "FakeTelegram", "FakeUser", "StoredFile"]
