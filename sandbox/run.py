"""One sandbox: the emulator, the real bot (`bot.app.serve`) talking HTTP to it, and the page.

Start-up: the sandbox folder (its key and policy made if missing), the emulator with the chats
it had (or the demo cast on a fresh folder), the page on 127.0.0.1, then `serve()` exactly as
`tipline run` calls it, only with settings that point at the emulator and into the folder.
Once the bot is ready the demo tips are seeded, on the first start or when asked. While it
runs, the emulator's state is saved to the folder a second after each change, and at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.app import serve
from bot.config import Settings
from sandbox import people
from sandbox.emulator import FakeTelegram, snapshot
from sandbox.folder import Folder
from sandbox.seed import Seeder
from sandbox.web import Page

log = logging.getLogger(__name__)

READY_SECONDS = 60.0
STOP_SECONDS = 30.0
SAVE_EVERY_SECONDS = 1.0
# The emulator keeps only about the last calls it recorded (a sandbox may run for days).
KEEP_CALLS = 500


class SandboxError(Exception):
    """The sandbox cannot start; the message says why in one line."""


def build_emulator() -> FakeTelegram:
    fake = FakeTelegram(
        people.TOKEN,
        bot_id=people.BOT_ID,
        bot_username=people.BOT_USERNAME,
        keep_requests=False,
        keep_calls=KEEP_CALLS,
    )
    fake.bot_first_name = people.BOT_NAME
    return fake


def cast(fake: FakeTelegram) -> None:
    """The citizen, the staff and their two groups (what is there already stays as it is)."""
    for persona in (people.CITIZEN, *people.REVIEW_PEOPLE, *people.FINANCE_PEOPLE):
        if persona.user_id not in fake.users:
            fake.add_user(persona.user_id, persona.name, language_code="en")
    for chat_id, title, members in (
        (people.REVIEW_CHAT, people.REVIEW_TITLE, people.REVIEW_PEOPLE),
        (people.FINANCE_CHAT, people.FINANCE_TITLE, people.FINANCE_PEOPLE),
    ):
        if chat_id not in fake.chats:
            fake.add_group(chat_id, title)
        bot_status = "administrator" if chat_id == people.REVIEW_CHAT else "member"
        fake.set_member(chat_id, fake.bot_id, bot_status)
        for persona in members:
            fake.set_member(chat_id, persona.user_id, persona.role)


class SandboxSettings(Settings):
    """The bot's settings from the values given here only: never the environment or a .env
    file, so a real deployment's settings cannot leak into the sandbox (nor the other way)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def sandbox_settings(folder: Folder, api_url: str) -> Settings:
    """Settings that point the bot at the emulator and into the sandbox folder."""
    return SandboxSettings(
        bot_token=SecretStr(people.TOKEN),
        api_url=api_url,
        review_chat_id=people.REVIEW_CHAT,
        finance_chat_id=people.FINANCE_CHAT,
        data_dir=folder.data_dir,
        master_key=SecretStr(folder.master_key()),
        key_file=None,
        staff_language="en",
        policy_file=folder.policy_file,
        log_level="INFO",
    )


class Sandbox:
    """Start, seed and stop one sandbox on a folder."""

    def __init__(self, folder: Folder, *, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.clock = clock
        self.fake = build_emulator()
        self.page = Page(self.fake)
        self.seeded: list[str] = []
        self._stop = asyncio.Event()
        self._bot: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()

    @property
    def url(self) -> str:
        return self.page.url

    async def start(self, port: int, *, seed: bool | None = None) -> None:
        """Start everything; `seed` None seeds demo tips on a fresh folder only, True seeds
        them (again), False never."""
        self.folder.prepare()
        snapshot.load(self.fake, self.folder.emulator_file)
        cast(self.fake)
        await self.fake.start()
        try:
            await self.page.start(port)
        except OSError as exc:
            await self.fake.stop()
            raise SandboxError(
                f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): choose another"
                " port with --port or TIPLINE_SANDBOX_PORT"
            ) from None
        try:
            await self._start_bot()
            if seed or (seed is None and self.folder.seed_rounds() == 0):
                self.seeded = await Seeder(self.fake, self.folder.seed_rounds() + 1).run()
                self.folder.record_seed()
            await self._save()
        except BaseException:
            await self.stop()
            raise
        self.fake.add_listener(self._dirty.set)
        self._saver = asyncio.create_task(self._save_changes(), name="sandbox-saver")

    async def _start_bot(self) -> None:
        settings = sandbox_settings(self.folder, self.fake.url)
        ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._bot = asyncio.create_task(
            serve(settings, self._stop, ready=ready, clock=self.clock), name="sandbox-bot"
        )
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {self._bot, waiter}, timeout=READY_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        if self._bot in done:
            waiter.cancel()
            stopped, self._bot = self._bot, None
            stopped.result()  # raises the bot's StartupError
            raise SandboxError("the bot stopped while starting")
        if waiter not in done:
            waiter.cancel()
            raise SandboxError(f"the bot was not ready within {READY_SECONDS:.0f} s")

    async def wait(self) -> None:
        """Until the bot stops on its own (it should not): its error, if any, is raised."""
        if self._bot is not None:
            await self._bot

    async def stop(self) -> None:
        """Stop the bot (it finishes what it has in hand), save the chats, close the page."""
        self.fake.remove_listener(self._dirty.set)
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        if self._bot is not None:
            self._stop.set()
            try:
                await asyncio.wait_for(self._bot, STOP_SECONDS)
            except Exception:
                log.exception("the bot did not stop cleanly")
            self._bot = None
        with contextlib.suppress(OSError):
            await self._save()
        await self.page.stop()
        await self.fake.stop()

    async def _save(self) -> None:
        text = snapshot.encode(self.fake)
        await asyncio.to_thread(snapshot.write, self.folder.emulator_file, text)

    async def _save_changes(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(SAVE_EVERY_SECONDS)
            self._dirty.clear()
            try:
                await self._save()
            except OSError:
                log.exception("could not save the emulator's chats")
