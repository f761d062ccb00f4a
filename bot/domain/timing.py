"""When what a tipster does may be known: times kept coarse, posts held back at random.

A tip and each answer to a question reach the reviewers after a random delay, so that a post
in the review chat cannot be matched to the moment someone was seen using their phone. The
times the bot stores of what a tipster did (submitting, answering, /forget, the messages sent
to them) are rounded down to the hour; reviewers are shown only the date. Pure rules: the
services decide where they apply.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

TIPSTER_TIME_SECONDS = 3600
"""How precisely a tipster's own actions are stored: rounded down to the hour (UTC)."""


def coarse(at: int) -> int:
    """`at` rounded down to the hour, the precision kept of anything a tipster did."""
    return at - at % TIPSTER_TIME_SECONDS


def post_delay(max_seconds: int) -> int:
    """A random delay of 0 to `max_seconds` seconds before staff see a tipster's message."""
    return secrets.randbelow(max_seconds + 1) if max_seconds > 0 else 0


def day(at: int) -> str:
    """The date (UTC) of a moment, as a daily window is named. What people are shown is the
    local date (bot.domain.localtime)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def hour(at: int) -> str:
    """The hour (UTC) of a moment, as an hourly window is named ("2026-12-02T14")."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H")
