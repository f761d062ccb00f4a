"""Command line: `tipline [run|keygen|migrate]` (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from bot import vault
from bot.app import StartupError, serve
from bot.audit import AuditLog
from bot.config import ConfigError, Settings, load_key_ring, load_settings
from bot.logs import configure_logging
from bot.vault import Vault
from storage.db import Database, DatabaseError

log = logging.getLogger("tipline")


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


async def _audit_verify(settings: Settings) -> int:
    vault = Vault(load_key_ring(settings))
    db = await Database.open(settings.data_dir)
    try:
        await db.migrate()
        report = await AuditLog(vault).verify(db)
    finally:
        await db.close()
    if report.intact:
        print(f"tipline: audit chain intact ({report.rows} rows)")
        return 0
    print(f"tipline: audit chain BROKEN at row {report.broken_at}: {report.reason}")
    return 1


async def _migrate(settings: Settings) -> int:
    db = await Database.open(settings.data_dir)
    try:
        return await db.migrate()
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tipline", description="An anonymous tip line bot.")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "keygen", "migrate", "audit-verify"],
        help="run the bot (default), print a new master key, migrate the database, or check"
        " the audit chain",
    )
    args = parser.parse_args(argv)
    # python-telegram-bot 22: report durations (retry_after) as timedeltas, without warnings.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    if args.command == "keygen":
        print(vault.new_master_key_text())
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tipline: {exc}", file=sys.stderr)
        print("tipline: see .env.example for every setting (cp .env.example .env)", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=[settings.bot_token.get_secret_value()])
    try:
        if args.command == "audit-verify":
            return asyncio.run(_audit_verify(settings))
        if args.command == "migrate":
            version = asyncio.run(_migrate(settings))
            print(f"tipline: database at schema version {version}")
            return 0
        asyncio.run(_run(settings))
    except (StartupError, ConfigError, DatabaseError) as exc:
        log.error("cannot start: %s", exc)
        print(f"tipline: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
