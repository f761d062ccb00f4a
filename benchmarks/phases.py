"""One load phase: a fresh fake, a fresh bot process, a crowd, and what was measured."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchmarks.fake import REVIEW_CHAT, BenchTelegram
from benchmarks.process import BotProcess
from benchmarks.report import latency_summary
from benchmarks.traffic import Crowd, LoadResult, baseline_script, tipline_script
from bot.crypto.vault import new_master_key_text

BotKind = Literal["tipline", "baseline"]


@dataclass(frozen=True)
class PhaseSpec:
    """What to run: which bot, how many people at once, how many tips, for how long at most."""

    key: str
    label: str
    bot: BotKind
    tips: int
    concurrency: int
    max_seconds: float
    paced_rate: float = 0.0  # updates/s offered (open loop) instead of a fixed crowd
    drain_seconds: float = 0.0  # paced: how long people already in may finish after the window
    sequential_bot: bool = False  # baseline only: PTB handling one update at a time


@dataclass(frozen=True)
class RunOptions:
    latency: float
    photo: bytes
    step_timeout: float
    workdir: Path
    flood_limits: bool = False  # tipline: Telegram's flood limits on (labelled in the table)
    cprofile: bool = False
    py_spy: Path | None = None
    profile_dir: Path = Path(tempfile.gettempdir()) / "tipline-bench-profiles"


def _bot_arguments(spec: PhaseSpec, fake: BenchTelegram, options: RunOptions) -> list[str]:
    arguments = [spec.bot, "--api-url", fake.url, "--token", fake.token]
    if spec.bot == "tipline":
        data_dir = options.workdir / spec.key / "data"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        arguments += ["--data-dir", str(data_dir), "--master-key", new_master_key_text()]
        if options.flood_limits:
            arguments.append("--flood-limits")
    elif spec.sequential_bot:
        arguments.append("--sequential")
    if options.cprofile:
        options.profile_dir.mkdir(parents=True, exist_ok=True)
        arguments += ["--cprofile", str(options.profile_dir / f"{spec.key}.prof")]
    return arguments


def _wrapper(spec: PhaseSpec, options: RunOptions) -> Sequence[str]:
    """py-spy, sampling the running threads of the bot without pausing it (see stacks.py)."""
    if options.py_spy is None:
        return ()
    out = options.profile_dir / f"{spec.key}.stacks.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    return (
        str(options.py_spy),
        "record",
        "--nonblocking",
        "--threads",
        "--format",
        "raw",
        "-o",
        str(out),
        "--",
    )


async def run_phase(spec: PhaseSpec, options: RunOptions) -> dict[str, Any]:
    """Run one phase and summarise it (all rates over the measured window)."""
    async with BenchTelegram(latency=options.latency) as fake:
        fake.add_staff_groups()
        log_path = options.workdir / f"{spec.key}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        bot = await BotProcess.start(
            _bot_arguments(spec, fake, options), log_path, wrapper=_wrapper(spec, options)
        )
        try:
            script = (tipline_script if spec.bot == "tipline" else baseline_script)(fake)
            deadline = time.monotonic() + spec.max_seconds + spec.drain_seconds
            crowd = Crowd(
                fake, script, options.photo, step_timeout=options.step_timeout, deadline=deadline
            )
            bot_cpu_before = bot.cpu_seconds()
            harness_cpu_before = time.process_time()
            if spec.paced_rate:
                result = await crowd.paced(spec.paced_rate, spec.max_seconds)
            else:
                result = await crowd.closed_loop(spec.tips, spec.concurrency)
            bot_cpu = bot.cpu_seconds() - bot_cpu_before
            harness_cpu = time.process_time() - harness_cpu_before
            memory = bot.memory_kb()
            calls = fake.call_counts(since=result.started_at)
            review_messages = len(fake.messages_in(REVIEW_CHAT))
        finally:
            fake.latency = 0.0  # let a backlog drain quickly on the way out
            clean_stop = await bot.stop()
    return phase_summary(
        spec,
        options,
        len(script),
        result,
        bot,
        bot_cpu=bot_cpu,
        harness_cpu=harness_cpu,
        memory=memory,
        calls=calls,
        review_messages=review_messages,
        clean_stop=clean_stop,
    )


def phase_summary(
    spec: PhaseSpec,
    options: RunOptions,
    per_tip: int,
    result: LoadResult,
    bot: BotProcess,
    *,
    bot_cpu: float,
    harness_cpu: float,
    memory: dict[str, int],
    calls: Mapping[str, int],
    review_messages: int,
    clean_stop: bool,
    errors_logged: int | None = None,
) -> dict[str, Any]:
    """One phase's (or one stretch of a phase's) numbers, as the table and the JSON show them.

    `errors_logged` defaults to every ERROR line in the bot's log.
    """
    elapsed = max(result.elapsed, 1e-9)
    flood_limits = options.flood_limits and spec.bot == "tipline"
    tip_equivalents = result.updates_answered / per_tip
    return {
        "key": spec.key,
        "label": spec.label + (" (flood limits on)" if flood_limits else ""),
        "flood_limits": flood_limits,
        "bot": spec.bot,
        "baseline_handles_concurrently": (not spec.sequential_bot)
        if spec.bot == "baseline"
        else None,
        "concurrency": spec.concurrency if not spec.paced_rate else None,
        "paced_rate_updates_per_s": spec.paced_rate or None,
        "tips_target": spec.tips,
        "max_seconds": spec.max_seconds + spec.drain_seconds,
        "updates_per_tip": per_tip,
        "tips_started": result.tips_started,
        "tips_done": result.tips_done,
        "updates_answered": result.updates_answered,
        "elapsed_s": round(elapsed, 3),
        "updates_per_s": result.updates_answered / elapsed,
        "tips_per_s": result.tips_done / elapsed,
        "latency": latency_summary(result.latencies, result.censored),
        "latency_by_step": {
            step: latency_summary(values) for step, values in result.by_step.items()
        },
        "capped": result.capped,
        "timeouts": result.timeouts,
        "bot_cpu_s": round(bot_cpu, 3),
        "bot_cpu_percent": 100 * bot_cpu / elapsed,
        "bot_cpu_ms_per_update": (
            1000 * bot_cpu / result.updates_answered if result.updates_answered else None
        ),
        # Per tip-equivalent (answered updates / updates per tip), so partly walked tips
        # at a time cap count for what they cost.
        "bot_cpu_s_per_tip": bot_cpu / tip_equivalents if tip_equivalents else None,
        "bot_rss_mb": round(memory.get("VmRSS", 0) / 1024, 1),
        "bot_peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
        "bot_startup_s": round(bot.startup_seconds, 3),
        "bot_stopped_cleanly": clean_stop,
        "bot_errors_logged": bot.logged_errors() if errors_logged is None else errors_logged,
        "harness_cpu_s": round(harness_cpu, 3),
        "harness_cpu_percent": 100 * harness_cpu / elapsed,
        "api_calls": dict(sorted(calls.items())),
        "api_calls_per_tip": {
            method: round(count / tip_equivalents, 2)
            for method, count in sorted(calls.items())
            if tip_equivalents
        },
        "review_chat_messages": review_messages if spec.bot == "tipline" else None,
    }
