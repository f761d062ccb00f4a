"""Logging that cannot leak: chatty libraries quieted, secrets redacted from every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

# python-telegram-bot logs whole updates at DEBUG; httpx logs request URLs (token included)
# at INFO. Neither may ever reach a log, whatever level the operator picks. aiohttp (the HTTP
# client, bot/telegram/transport.py) is held at WARNING too, so no future debug line can carry
# a URL.
QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp": logging.WARNING,
    "telegram": logging.INFO,
    "telegram.ext": logging.INFO,
    "apscheduler": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "PIL": logging.WARNING,
    "hpack": logging.WARNING,
}


class RedactingFilter(logging.Filter):
    """Replaces each secret (the bot token) in the formatted message with a marker."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def quiet_libraries() -> None:
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Root handler to stderr at `level`, libraries quieted, secrets redacted."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
