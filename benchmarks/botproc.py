"""Runs one bot under test in its own process, so its CPU time and memory are its own.

    python -m benchmarks.botproc tipline  --api-url URL --token T --data-dir D --master-key K
    python -m benchmarks.botproc baseline --api-url URL --token T [--sequential]

It prints one JSON line when the bot is ready to receive updates and one when it has stopped
(with its own resource usage). It stops when standard input closes, or on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import signal
import threading
import time
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")

STARTED = time.monotonic()

# Staff chats the tipline bot checks at start-up; benchmarks.fake registers the same two.
REVIEW_CHAT = -1001000000001
FINANCE_CHAT = -1001000000002

POLICY = """\
[review]
post_delay_max_seconds = 0

[intake]
max_tips_per_day = 1000000000
"""
# The benchmark runs with flood limits off; --flood-limits keeps Telegram's defaults.
FLOOD_LIMITS_OFF = """
[telegram]
messages_per_second = 0
group_messages_per_minute = 0
"""
FLOOD_LIMITS_ON = ""


def _emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` once the parent closes our standard input (or dies)."""

    def wait_eof() -> None:
        # os.read, not sys.stdin: a buffered reader's lock would stall interpreter shutdown.
        while os.read(0, 4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_eof, name="stdin-watch", daemon=True).start()


async def _run_tipline(args: argparse.Namespace, stop: asyncio.Event, ready: asyncio.Event) -> None:
    from pydantic import SecretStr

    from bot.app import serve
    from bot.config import Settings
    from bot.logs import configure_logging

    configure_logging("WARNING", [args.token])
    data_dir = Path(args.data_dir)
    policy = data_dir.parent / "bench-policy.toml"
    flood = FLOOD_LIMITS_ON if args.flood_limits else FLOOD_LIMITS_OFF
    policy.write_text(POLICY + flood, encoding="utf-8")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # never read a developer's .env here
        bot_token=SecretStr(args.token),
        api_url=args.api_url,
        review_chat_id=REVIEW_CHAT,
        finance_chat_id=FINANCE_CHAT,
        data_dir=data_dir,
        master_key=SecretStr(args.master_key),
        key_file=data_dir.parent / "unused.key",
        staff_language="en",
        policy_file=policy,
        log_level="WARNING",
    )
    await serve(settings, stop, ready=ready)


async def _run_baseline(
    args: argparse.Namespace, stop: asyncio.Event, ready: asyncio.Event
) -> None:
    from benchmarks.baseline import build_echo_application, serve_echo
    from bot.logs import configure_logging

    configure_logging("WARNING", [args.token])
    application = build_echo_application(args.token, args.api_url, concurrent=not args.sequential)
    await serve_echo(application, stop, ready)


async def _main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ready = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _watch_stdin(loop, stop)
    runner = _run_tipline if args.kind == "tipline" else _run_baseline
    bot = asyncio.create_task(runner(args, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({bot, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if bot.done():
        waiter.cancel()
        bot.result()  # raises the start-up error
        return
    profiler = cProfile.Profile() if args.cprofile else None
    if profiler is not None:
        profiler.enable()
    _emit("ready", pid=os.getpid(), startup_s=round(time.monotonic() - STARTED, 4))
    try:
        await bot
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.cprofile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["tipline", "baseline"])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--data-dir", help="tipline: the data directory")
    parser.add_argument("--master-key", help="tipline: base64 master key")
    parser.add_argument("--sequential", action="store_true", help="baseline: one update at a time")
    parser.add_argument("--cprofile", help="write cProfile stats of the serving time here")
    parser.add_argument(
        "--flood-limits", action="store_true", help="tipline: keep Telegram's flood limits"
    )
    args = parser.parse_args()
    if args.kind == "tipline" and not (args.data_dir and args.master_key):
        parser.error("tipline needs --data-dir and --master-key")
    asyncio.run(_main(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _emit(
        "stopped",
        cpu_user_s=usage.ru_utime,
        cpu_system_s=usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,
    )


if __name__ == "__main__":
    main()
