"""Who acts in a staff chat: a person, by Telegram id, and whether they administer it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A staff member acting: their Telegram id, and whether they administer the chat."""

    user_id: int
    is_admin: bool = False
