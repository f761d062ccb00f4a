"""Shared fixtures: a quiet log setup for every test, and a configuration directory of its
own (where the master key is created by default), so no test writes into the real home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.logs import quiet_libraries

# python-telegram-bot 22 warns (an error under -W error) unless durations are timedeltas.
os.environ["PTB_TIMEDELTA"] = "1"
quiet_libraries()


@pytest.fixture(autouse=True)
def _own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
