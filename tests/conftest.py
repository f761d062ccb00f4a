"""Shared fixtures: a quiet log setup for every test, and a configuration directory of its
own (where the master key is created by default), so no test writes into the real home."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import quiet_libraries

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
