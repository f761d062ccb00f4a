"""Shared fixtures: a quiet log setup for every test."""

from __future__ import annotations

from bot.logs import quiet_libraries

quiet_libraries()
