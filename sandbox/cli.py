"""The `tipline` command: `tipline sandbox` starts the sandbox, anything else is the bot's CLI.

The dispatch lives here, above the bot, because the bot never imports the sandbox (a contract
in pyproject.toml): `bot/__main__.py` stays the real bot's command line (`python -m bot`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot.__main__ import main as bot_main
from bot.app import StartupError
from bot.config import ConfigError
from bot.logs import RedactingFilter, quiet_libraries
from sandbox import people
from sandbox.folder import DEFAULT_FOLDER, Folder, FolderError
from sandbox.run import Sandbox, SandboxError
from sandbox.seed import SeedError
from storage.db import DatabaseError

DEFAULT_PORT = 8080
PORT_VARIABLE = "TIPLINE_SANDBOX_PORT"
FOLDER_VARIABLE = "TIPLINE_SANDBOX_DIR"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["sandbox"]:
        return sandbox_main(args[1:])
    return bot_main(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tipline sandbox",
        description="Try the whole tip line in a browser: the real bot against a local Bot API"
        " emulator, with demo people and demo tips. Nothing reaches Telegram.",
    )
    parser.add_argument(
        "--port",
        type=int,
        help=f"the page's port on 127.0.0.1 (default {DEFAULT_PORT}, or ${PORT_VARIABLE})",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        help=f"the sandbox folder (default {DEFAULT_FOLDER}, or ${FOLDER_VARIABLE})",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete the sandbox folder first and start clean"
    )
    parser.add_argument("--seed", action="store_true", help="seed the demo tips again")
    return parser


def _port(given: int | None) -> int:
    if given is not None:
        return given
    raw = os.environ.get(PORT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SandboxError(f"{PORT_VARIABLE} is not valid: it should be a port, like 8080")
    return int(raw)


def _log_to(folder: Folder) -> None:
    """The bot's log and the sandbox's go to the folder; errors are also shown on stderr."""
    secrets = RedactingFilter([people.TOKEN])
    file_handler = logging.FileHandler(folder.log_file, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    errors = logging.StreamHandler()
    errors.setLevel(logging.ERROR)
    errors.setFormatter(logging.Formatter("tipline sandbox: %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = []
    for handler in (file_handler, errors):
        handler.addFilter(secrets)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    quiet_libraries()


async def _serve(folder: Folder, port: int, seed_again: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(folder)
    await sandbox.start(port, seed=True if seed_again else None)
    print(
        f"tipline sandbox: open {sandbox.url} (demo data in {folder.root};"
        " nothing reaches Telegram; Ctrl+C stops it)",
        flush=True,
    )
    bot = asyncio.create_task(sandbox.wait())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({bot, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        await sandbox.stop()
    if bot.done():
        bot.result()


def sandbox_main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    os.umask(0o077)
    raw_folder = args.folder or os.environ.get(FOLDER_VARIABLE, "").strip() or DEFAULT_FOLDER
    folder = Folder(Path(raw_folder))
    try:
        port = _port(args.port)
        if args.reset:
            folder.reset()
        folder.prepare()
        _log_to(folder)
        asyncio.run(_serve(folder, port, args.seed))
    except (SandboxError, FolderError, SeedError, StartupError, ConfigError, DatabaseError) as exc:
        print(f"tipline sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
