"""Shared fixtures: a quiet log setup for every test."""

from __future__ import annotations

import os

from bot.logs import quiet_libraries

# python-telegram-bot 22 warns (an error under -W error) unless durations are timedeltas.
os.environ["PTB_TIMEDELTA"] = "1"
quiet_libraries()
