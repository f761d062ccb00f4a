"""Shared fixtures: a quiet log setup for every test, and a configuration directory of its
own (where the master key is created by default), so no test writes into the real home."""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.logs import quiet_libraries
from tests.postgres import PostgresServer, PostgresUnavailable

# python-telegram-bot 22 warns (an error under -W error) unless durations are timedeltas.
os.environ["PTB_TIMEDELTA"] = "1"
quiet_libraries()


@pytest.fixture(autouse=True)
def _own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Whatever a test leaves unclosed (a session, a socket) is finalised at its own teardown,
    so the ResourceWarning fails that test rather than whichever later test the collector
    happens to run in."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole run, started when a test first needs it.
    If it cannot start, every test that needs it fails with the reason (never a skip)."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL for the tests: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count(1)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database of the test cluster, dropped after the test."""
    import asyncpg

    name = f"test_{os.getpid()}_{next(_databases)}"
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    yield postgres_server.url(name)
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Run the test on each database: None opens the SQLite file in the data directory, a URL
    the test's own PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url
