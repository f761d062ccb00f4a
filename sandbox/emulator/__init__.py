"""The Bot API emulator: a Telegram Bot API server on 127.0.0.1 that a real python-telegram-bot
application talks to over HTTP. The end-to-end tests, the benchmark and the sandbox all use it
(the tests still import it as `tests.fake_telegram`).

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

Like Telegram, the emulator rejects malformed HTML, over-long texts, callback_data over 64 bytes,
copy_text buttons whose text is not 1-256 characters, buttons with no action (and, stricter
than Telegram, with more than one), sends to unknown chats, replies to missing messages, edits
that change nothing and unreadable photos (all 400), and sends to users who blocked the bot
(403). `snapshot` keeps its chats in a file across restarts.
"""

from .models import Call, FakeChat, FakeUser, StoredFile
from .server import FakeTelegram

__all__ = ["Call", "FakeChat", "FakeTelegram", "FakeUser", "StoredFile"]
