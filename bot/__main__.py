"""Command line: `tipline [run|keygen|migrate|audit-verify|rotate-key|backup|stats|poster]`.

Also `python -m bot`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

from bot.app import StartupError, serve
from bot.config import (
    ConfigError,
    Settings,
    dotenv_exposed,
    load_key_ring,
    load_poster_settings,
    load_settings,
)
from bot.crypto import vault
from bot.crypto.keys import add_key_to_file, open_vault, rewrap_all
from bot.domain.policy import PolicyError, bot_username
from bot.domain.policy import load as load_policy
from bot.domain.stats import BadPeriod, parse_period
from bot.logs import configure_logging
from bot.services.audit import AuditLog
from bot.services.holidays import local_time
from bot.services.stats import finance_of, review_of, stats_csv
from bot.telegram import poster
from bot.telegram.i18n import Catalogue
from storage.db import DB_FILENAME, Database, DatabaseError
from storage.lock import DataDirInUse, DataDirLock

log = logging.getLogger("tipline")


async def _run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


async def _audit_verify(settings: Settings) -> int:
    ring = load_key_ring(settings)
    db = await Database.open(settings.data_dir, settings.database)
    try:
        await db.migrate()
        report = await AuditLog(await open_vault(ring, db)).verify(db)
    finally:
        await db.close()
    if report.intact:
        print(f"tipline: audit chain intact ({report.rows} rows)")
        return 0
    print(f"tipline: audit chain BROKEN at row {report.broken_at}: {report.reason}")
    return 1


async def _rotate_key(settings: Settings) -> int:
    if settings.master_key is not None:
        print(
            "tipline: the master key comes from TIPLINE_MASTER_KEY. To rotate: run"
            " 'tipline keygen', put the new key first and the old one second in a key file,"
            " point TIPLINE_KEY_FILE at it, unset TIPLINE_MASTER_KEY, and run rotate-key again.",
            file=sys.stderr,
        )
        return 2
    ring = load_key_ring(settings)
    db = await Database.open(settings.data_dir, settings.database)
    try:
        await db.migrate()
        await open_vault(ring, db)  # the index secret exists before anything is re-wrapped
        ring = add_key_to_file(settings.key_path)
        rotation = await rewrap_all(ring, db)
    finally:
        await db.close()
    print(
        f"tipline: new master key {rotation.new_key_id} is first in {settings.key_path};"
        f" {rotation.rewrapped} key(s) re-wrapped and {rotation.resealed} queued item(s)"
        " re-sealed under it. Back up the key file now, before you remove any old key."
    )
    if rotation.retired_key_ids and rotation.left_under_retired:
        print(
            f"tipline: {rotation.left_under_retired} item(s) are still under an older key:"
            " keep the older key(s) and run rotate-key again.",
            file=sys.stderr,
        )
        return 1
    if rotation.retired_key_ids:
        retired = ", ".join(rotation.retired_key_ids)
        print(
            f"tipline: checked: nothing is wrapped or sealed by the older key(s) ({retired})"
            " any more; once your backups made before now are destroyed or re-keyed, remove"
            " those lines from the key file."
        )
    return 0


def _backup_files(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = target / DB_FILENAME
    if database.exists():
        raise FileExistsError(database)
    with sqlite3.connect(source / DB_FILENAME) as src, sqlite3.connect(database) as dst:
        src.backup(dst)
    os.chmod(database, 0o600)
    blobs = source / "blobs"
    if blobs.exists():
        shutil.copytree(blobs, target / "blobs")


async def _backup(settings: Settings, target: Path) -> int:
    if settings.database is not None:
        print(
            "tipline: the database is PostgreSQL: back it up with PostgreSQL's tools (pg_dump,"
            " or base backups with WAL archiving), and the data directory's blobs/ with it",
            file=sys.stderr,
        )
        return 2
    if not (settings.data_dir / DB_FILENAME).exists():
        print("tipline: there is no database to back up yet", file=sys.stderr)
        return 2
    try:
        await asyncio.to_thread(_backup_files, settings.data_dir, target)
    except FileExistsError:
        print(
            f"tipline: {target} already holds a backup; choose an empty directory", file=sys.stderr
        )
        return 2
    print(
        f"tipline: backup written to {target} (database and encrypted attachments)."
        " It does not contain the master key: keep the key file's backup apart."
    )
    return 0


async def _stats(settings: Settings, month: str | None) -> int:
    """`tipline stats --month YYYY-MM --csv`: the aggregates /stats draws, as CSV on stdout,
    for every review chat and the reward scheme. Only reads (beside a running bot too)."""
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        print(f"tipline: {exc}", file=sys.stderr)
        return 2
    local = local_time(policy.locale)
    try:
        period = parse_period(month, int(time.time()), local.zone)
    except BadPeriod:
        print("tipline: usage: tipline stats --month YYYY-MM --csv", file=sys.stderr)
        return 2
    if settings.database is None and not (settings.data_dir / DB_FILENAME).exists():
        print(f"tipline: no database in {settings.data_dir}", file=sys.stderr)
        return 2
    db = await Database.open(settings.data_dir, settings.database)
    try:
        async with db.read() as conn:
            reviews = {
                chat: await review_of(conn, chat, period)
                for chat in policy.review.chats(settings.review_chat_id)
            }
            year, month_number = local.month_of(period.start)
            budget = policy.rewards.monthly_budget_minor
            finance = await finance_of(conn, year, month_number, budget, local)
    finally:
        await db.close()
    sys.stdout.write(stats_csv(reviews, finance))
    return 0


POSTER_USAGE = (
    "tipline poster --campaign KEY [--lang zh|en|both] [--format pdf|png] [--out PATH]"
    " [--bot USERNAME] [--dpi N]"
)


def _poster(args: argparse.Namespace) -> int:
    """`tipline poster --campaign KEY`: the campaign's printable A4 poster, as PDF or PNG.
    It needs the policy and the bot's username (`--bot`, else TIPLINE_BOT_USERNAME), never
    the token; nothing is written unless the whole poster is."""

    def refuse(message: str) -> int:
        print(f"tipline: {message}", file=sys.stderr)
        return 2

    if not args.campaign:
        return refuse(f"usage: {POSTER_USAGE}")
    try:
        config = load_poster_settings()
        policy = load_policy(config.policy_file)
    except (ConfigError, PolicyError) as exc:
        return refuse(str(exc))
    campaign = policy.campaign(args.campaign)
    if campaign is None:
        known = ", ".join(c.key for c in policy.campaigns)
        listed = f"it has: {known}" if known else "it has none"
        return refuse(f"no campaign {args.campaign!r} in the policy's [[campaigns]] ({listed})")
    if args.bot is not None:
        bot = bot_username(args.bot)
        if bot is None:
            return refuse(f"--bot {args.bot!r} is not a bot's username (it ends in bot)")
    elif config.bot_username is not None:
        bot = config.bot_username
    else:
        return refuse(
            "the poster's link needs the bot's username: give --bot USERNAME or set"
            " TIPLINE_BOT_USERNAME (the name @BotFather gave the bot, ending in bot)"
        )
    if not 72 <= args.dpi <= 600:
        return refuse("--dpi must be from 72 to 600 (300 prints well)")
    languages = poster.LANGUAGE_CHOICES[args.lang]
    if "zh" in languages and not poster.has_chinese_font():
        return refuse(
            "a Chinese poster needs the Noto Sans CJK font (Debian: apt-get install"
            " fonts-noto-cjk), or use --lang en"
        )
    out = Path(args.out or f"poster-{campaign.key}-{args.lang}.{args.format}")
    if not out.parent.is_dir():
        return refuse(f"there is no directory {out.parent} to write {out.name} into")
    text = poster.poster_text(Catalogue.load(), policy, campaign, bot, languages)
    try:
        page = poster.render(text, args.dpi)
    except poster.PosterError as exc:
        return refuse(str(exc))
    if args.format == "pdf":
        data = poster.pdf_bytes(page, f"tipline poster: {campaign.key}", args.dpi)
    else:
        data = poster.png_bytes(page, args.dpi)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return refuse(f"cannot write {out}: {exc.strerror}")
    print(
        f"tipline: the poster of campaign {campaign.key} is in {out} (A4, {args.dpi} dpi,"
        f" {args.format.upper()}); its QR code opens {campaign.link(bot)}"
    )
    return 0


async def _migrate(settings: Settings) -> int:
    db = await Database.open(settings.data_dir, settings.database)
    try:
        return await db.migrate()
    finally:
        await db.close()


def _command(command: str, settings: Settings) -> int:
    """A command that writes to the data directory (its lock is held)."""
    if command == "rotate-key":
        return asyncio.run(_rotate_key(settings))
    if command == "audit-verify":
        return asyncio.run(_audit_verify(settings))
    version = asyncio.run(_migrate(settings))
    print(f"tipline: database at schema version {version}")
    return 0


def _name_the_main_module() -> None:
    """Make the `tipline` console script look like `python -m bot` to multiprocessing.

    A child process re-runs a main module that was started as a plain script before it does
    its work; the file cleaning workers (bot.media.worker) would each import the whole bot
    that way. A main module named `*.__main__` is not re-run.
    """
    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is None:
        main_module.__spec__ = importlib.util.find_spec("bot.__main__")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tipline",
        description="An anonymous tip line bot.",
        epilog="tipline sandbox [--port N] [--reset] [--seed]: try the whole tip line in a"
        " browser, against a local Telegram emulator (nothing reaches Telegram).",
    )
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=[
            "run",
            "keygen",
            "migrate",
            "audit-verify",
            "rotate-key",
            "backup",
            "stats",
            "poster",
        ],
        help="run the bot (default), print a new master key, migrate the database, check the"
        " audit chain, rotate the master key, back up the data, print the statistics, or make"
        " a campaign's poster",
    )
    parser.add_argument("path", nargs="?", help="for backup: an empty directory to write to")
    parser.add_argument("--month", help="for stats: YYYY-MM (default: this month)")
    parser.add_argument(
        "--csv", action="store_true", help="for stats: write CSV to stdout (the only format)"
    )
    parser.add_argument("--campaign", help="for poster: the key of a [[campaigns]] entry")
    parser.add_argument(
        "--lang",
        choices=sorted(poster.LANGUAGE_CHOICES),
        default="zh",
        help="for poster: its language, or both (default zh)",
    )
    parser.add_argument(
        "--format", choices=["pdf", "png"], default="pdf", help="for poster (default pdf)"
    )
    parser.add_argument(
        "--out", help="for poster: the file to write (default poster-KEY-LANG.FORMAT)"
    )
    parser.add_argument(
        "--bot", help="for poster: the bot's username (default $TIPLINE_BOT_USERNAME)"
    )
    parser.add_argument(
        "--dpi",
        type=int,
        default=poster.DEFAULT_DPI,
        help=f"for poster: pixels per inch (default {poster.DEFAULT_DPI})",
    )
    args = parser.parse_args(argv)
    _name_the_main_module()
    # python-telegram-bot 22: report durations (retry_after) as timedeltas, without warnings.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # Everything tipline writes (database, WAL, blobs, keys, backups) is the owner's alone.
    os.umask(0o077)
    if args.command == "keygen":
        print(vault.new_master_key_text())
        return 0
    if args.command == "poster":
        return _poster(args)  # the policy and the bot's username only: no token, no data
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tipline: {exc}", file=sys.stderr)
        print("tipline: see .env.example for every setting (cp .env.example .env)", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=[settings.bot_token.get_secret_value()])
    if dotenv_exposed():
        log.warning(
            ".env can be read by other users of this machine (it holds the bot token):"
            " make it yours alone with 'chmod 600 .env'"
        )
    try:
        if args.command in ("rotate-key", "audit-verify", "migrate"):
            with DataDirLock(settings.data_dir):  # never beside a running bot
                return _command(args.command, settings)
        if args.command == "stats":
            if not args.csv:
                print("tipline: usage: tipline stats --month YYYY-MM --csv", file=sys.stderr)
                return 2
            return asyncio.run(_stats(settings, args.month))
        if args.command == "backup":
            if not args.path:
                print("tipline: usage: tipline backup DIRECTORY", file=sys.stderr)
                return 2
            return asyncio.run(_backup(settings, Path(args.path)))
        asyncio.run(_run(settings))
    except DataDirInUse:
        print(
            f"tipline: the data directory {settings.data_dir} is in use by another tipline"
            " process (a running bot?): stop it first",
            file=sys.stderr,
        )
        return 2
    except (StartupError, ConfigError, DatabaseError) as exc:
        log.error("cannot start: %s", exc)
        print(f"tipline: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
