"""End-to-end harness: the real Application, run by `bot.app.serve`, against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.app import serve
from bot.config import Settings
from bot.telegram.i18n import LANGUAGES, Catalogue
from storage.db import Database
from tests.fake_telegram import FakeTelegram

REVIEW_CHAT = -1001000000001
FINANCE_CHAT = -1001000000002
REVIEWER = 700000001
FINANCE_CLERK = 700000002


class Clock:
    """A clock the tests move forward (reward deadlines are months away)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RunningBot:
    """Starts `serve()` as a task; `restart()` stops it and starts a fresh Application."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        self._task = asyncio.create_task(
            serve(self.settings, self._stop, ready=ready, clock=self.clock)
        )
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {self._task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()  # raises the start-up error
            raise AssertionError("the bot stopped during start-up")
        if waiter not in done:
            waiter.cancel()
            raise AssertionError("the bot did not become ready in 15 s")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 20)
        self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


async def run_cli(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`python -m bot ARGS` in a subprocess: exit code, standard output, standard error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_policy(path: Path, extra: str = "") -> Path:
    path.write_text("[review]\npost_delay_max_seconds = 0\n" + extra, encoding="utf-8")
    return path


def make_settings(tmp_path: Path, fake: FakeTelegram, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": fake.token,
        "api_url": fake.url,
        "review_chat_id": REVIEW_CHAT,
        "finance_chat_id": FINANCE_CHAT,
        "data_dir": tmp_path / "data",
        "key_file": tmp_path / "secrets" / "master.key",
        "policy_file": write_policy(tmp_path / "policy.toml"),
        "master_key": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_group(
            REVIEW_CHAT, "Reviewers", {server.bot_id: "administrator", REVIEWER: "member"}
        )
        server.add_group(
            FINANCE_CHAT, "Finance", {server.bot_id: "member", FINANCE_CLERK: "member"}
        )
        yield server
        if not getattr(server, "apology_expected", False):
            assert_no_apology(server)


APOLOGIES = tuple(Catalogue.load().text(language, "error.internal") for language in LANGUAGES)


def assert_no_apology(server: FakeTelegram) -> None:
    """An invariant of every flow: the internal-error apology is never sent unless the test
    provoked an error on purpose (it sets `apology_expected`)."""
    sent = [str(call.params.get("text", "")) for call in server.calls_of("sendMessage")]
    apologies = [text for text in sent if text in APOLOGIES]
    assert not apologies, f"the bot apologised for an internal error {len(apologies)} time(s)"


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTelegram) -> Settings:
    return make_settings(tmp_path, fake)


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[RunningBot]:
    running = RunningBot(settings)
    await running.start()
    try:
        yield running
    finally:
        with contextlib.suppress(Exception):
            await running.stop()


async def stored(settings: Settings, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on the bot's database (the SQLite file or PostgreSQL), as tuples."""
    db = await Database.open(settings.data_dir, settings.database)
    try:
        async with db.read() as conn:
            return [tuple(row) for row in await conn.fetch_all(sql, params)]
    finally:
        await db.close()


async def change_stored(settings: Settings, *statements: str) -> None:
    """Change the bot's database behind its back (a tampering attacker, a test's set-up)."""
    db = await Database.open(settings.data_dir, settings.database)
    try:
        async with db.transaction() as conn:
            for sql in statements:
                await conn.run(sql)
    finally:
        await db.close()


def cli_database_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `tipline` command at the bot's database."""
    return {"TIPLINE_DATABASE_URL": settings.database} if settings.database else {}
