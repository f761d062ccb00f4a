"""The memory phase: tipline's resident memory over two runs of N tips in one bot process.

The issue asks for a peak RSS under 200 MB after 10,000 tips and no per-tip memory growth in
a second 10,000. One fresh bot serves a closed-loop crowd (`--tipsters` at once) for N tips
(`--memory-tips`), then, in the same process, another N. Every `sample_every` finished tips
the bot's VmRSS, VmHWM and RSS by kind (anonymous / file-backed) and the harness's own RSS go
into a curve.

After each half the bot is measured twice: when the last tip's receipt arrives ("end"), and
once it has settled ("settled": no Bot API call but getUpdates for `SETTLE_QUIET_SECONDS`, at
most `SETTLE_MAX_SECONDS`). The review posts trail the intake under load, so at the end of a
half the bot still holds a backlog of up to a thousand outbox rows with a task each; settled,
both halves are compared in the same state, and the second half starts, like the first, with
nothing queued.

- **peak RSS**: VmHWM after the first N tips (settled; it is a high-water mark, so it covers
  the whole half), goal < 200 MB.
- **growth**: settled VmRSS after 2N minus settled VmRSS after N. The first half is warm-up
  (caches and pools fill, code runs for the first time); the second is the steady state.
  Allocators do not give freed memory back page by page, so RSS wanders by a few MB even
  without a leak; the goal is at most 10 MB over the second 10,000 tips, about 1 KB a tip
  (1 KB a tip for longer halves). The growth between the two "end" points and a
  least-squares slope over the second half's samples are reported next to it.

The fake runs lean (see benchmarks/fake.py) so that the harness stays nearly flat over
20,000 tips and drives both halves alike.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.fake import REVIEW_CHAT, BenchTelegram
from benchmarks.phases import PhaseSpec, RunOptions, _bot_arguments, _wrapper, phase_summary
from benchmarks.process import BotProcess, memory_kb
from benchmarks.report import target
from benchmarks.traffic import Crowd, LoadResult, tipline_script

RSS_LIMIT_MB = 200.0
STATED_TIPS = 10_000  # the issue states both memory targets for 10,000 tips
GROWTH_FLOOR_MB = 10.0  # allowed RSS growth over the second half, at least ...
GROWTH_KB_PER_TIP = 1.0  # ... and 1 KB a tip for halves longer than 10,000 tips
SETTLE_QUIET_SECONDS = 3.0
SETTLE_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class MemorySpec:
    tips: int  # per half
    concurrency: int
    max_seconds: float  # both halves together, settling included
    sample_every: int = 500  # finished tips between two samples
    keep_finished: int = 1000  # the lean fake forgets a tipster this many tipsters later
    keep_group_messages: int = 1000  # ... and keeps this many of a group's last bot messages


def growth_limit_mb(tips: int) -> float:
    """RSS growth allowed over a second half of `tips` tips."""
    return max(GROWTH_FLOOR_MB, tips * GROWTH_KB_PER_TIP / 1024)


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


class _Sampler:
    """Memory of the bot and of this process, every `sample_every` finished tips."""

    def __init__(self, bot: BotProcess, total: int, sample_every: int) -> None:
        self.bot = bot
        self.total = total
        self.sample_every = sample_every
        # About twenty progress lines over the run, on sample boundaries (1,000 for 2 x 10,000).
        self.progress_every = sample_every * max(1, round(total / 20 / sample_every))
        self.began = time.monotonic()
        self.done = 0
        self.samples: list[dict[str, Any]] = []
        self._last_progress = (self.began, 0)

    def point(self) -> dict[str, Any]:
        bot = self.bot.memory_kb()
        harness = memory_kb(os.getpid())
        return {
            "tips": self.done,
            "t_s": round(time.monotonic() - self.began, 1),
            "bot_rss_kb": bot.get("VmRSS", 0),
            "bot_rss_mb": _mb(bot.get("VmRSS", 0)),
            "bot_peak_rss_mb": _mb(bot.get("VmHWM", 0)),
            "bot_anon_mb": _mb(bot.get("RssAnon", 0)),
            "bot_file_mb": _mb(bot.get("RssFile", 0)),
            "harness_rss_mb": _mb(harness.get("VmRSS", 0)),
            "harness_peak_rss_mb": _mb(harness.get("VmHWM", 0)),
        }

    def tip_done(self) -> None:
        self.done += 1
        if self.done % self.sample_every:
            return
        sample = self.point()
        self.samples.append(sample)
        if self.done % self.progress_every == 0:
            self.progress(sample)

    def progress(self, sample: dict[str, Any]) -> None:
        now = time.monotonic()
        since, done_then = self._last_progress
        rate = (self.done - done_then) / max(now - since, 1e-9)
        self._last_progress = (now, self.done)
        print(
            f"[{sample['t_s']:6.0f}s]   memory: {self.done:,}/{self.total:,} tips,"
            f" {rate:.1f} tips/s; {_memory_text(sample)}",
            flush=True,
        )

    def settled(self, sample: dict[str, Any]) -> None:
        state = "settled" if sample["settled"] else "still busy"
        print(
            f"[{sample['t_s']:6.0f}s]   memory: {state} after {sample['settle_s']:.0f}s,"
            f" {sample['review_chat_messages']:,} review messages; {_memory_text(sample)}",
            flush=True,
        )

    def half_done(self, index: int, result: LoadResult, sample: dict[str, Any]) -> None:
        print(
            f"[{sample['t_s']:6.0f}s]   memory: half {index} done, {result.tips_done:,} tips in"
            f" {result.elapsed:.0f}s = {result.tips_done / max(result.elapsed, 1e-9):.1f} tips/s"
            + (" (capped)" if result.capped else "")
            + f"; {_memory_text(sample)}",
            flush=True,
        )


def _memory_text(sample: dict[str, Any]) -> str:
    return (
        f"bot RSS {sample['bot_rss_mb']:.1f} MB (peak {sample['bot_peak_rss_mb']:.1f},"
        f" anon {sample['bot_anon_mb']:.1f}); harness RSS {sample['harness_rss_mb']:.1f} MB"
    )


@dataclass
class _Half:
    """What one half of the phase reached; the counters stop when its last tip finished."""

    result: LoadResult
    bot_cpu: float
    harness_cpu: float
    memory: dict[str, int]
    calls: dict[str, int]
    errors_logged: int
    end: dict[str, Any]
    settled: dict[str, Any] = field(default_factory=dict)


def _slope_kb_per_tip(points: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of bot RSS (kB) over finished tips; None for under 3 points."""
    if len(points) < 3:
        return None
    xs = [float(p["tips"]) for p in points]
    ys = [float(p["bot_rss_kb"]) for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _busy_calls(fake: BenchTelegram) -> int:
    return sum(n for method, n in fake.call_totals().items() if not method.startswith("getUpdates"))


async def _settle(fake: BenchTelegram, deadline: float) -> tuple[float, bool]:
    """Wait until the bot calls nothing but getUpdates for a while: (seconds waited, settled)."""
    began = last_change = time.monotonic()
    last = _busy_calls(fake)
    while True:
        await asyncio.sleep(0.5)
        now = time.monotonic()
        current = _busy_calls(fake)
        if current != last:
            last, last_change = current, now
        elif now - last_change >= SETTLE_QUIET_SECONDS:
            return now - began, True
        if now - began >= SETTLE_MAX_SECONDS or now >= deadline:
            return now - began, False


async def run_memory_phase(
    spec: MemorySpec, options: RunOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run 2 x `spec.tips` tips against one bot: each half's phase row, and the memory record."""
    phase = PhaseSpec(
        "memory",
        f"tipline memory, {spec.concurrency} at once",
        "tipline",
        spec.tips,
        spec.concurrency,
        spec.max_seconds,
    )
    halves: list[_Half] = []
    async with BenchTelegram(
        latency=options.latency,
        lean=True,
        keep_finished=spec.keep_finished,
        keep_group_messages=spec.keep_group_messages,
    ) as fake:
        fake.add_staff_groups()
        log_path = options.workdir / "memory.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        bot = await BotProcess.start(
            _bot_arguments(phase, fake, options), log_path, wrapper=_wrapper(phase, options)
        )
        try:
            sampler = _Sampler(bot, 2 * spec.tips, spec.sample_every)
            start = sampler.point()
            deadline = sampler.began + spec.max_seconds
            crowd = Crowd(
                fake,
                tipline_script(fake),
                options.photo,
                step_timeout=options.step_timeout,
                deadline=deadline,
                on_tip_done=sampler.tip_done,
            )
            per_tip = len(crowd.script)
            for index in (1, 2):
                crowd.result = LoadResult()
                calls_before = fake.call_totals()
                bot_cpu_before = bot.cpu_seconds()
                harness_cpu_before = time.process_time()
                errors_before = bot.logged_errors()
                result = await crowd.closed_loop(spec.tips, spec.concurrency)
                half = _Half(
                    result=result,
                    bot_cpu=bot.cpu_seconds() - bot_cpu_before,
                    harness_cpu=time.process_time() - harness_cpu_before,
                    memory=bot.memory_kb(),
                    calls=dict(fake.call_totals() - calls_before),
                    errors_logged=bot.logged_errors() - errors_before,
                    end={
                        **sampler.point(),
                        "review_chat_messages": fake.bot_message_count(REVIEW_CHAT),
                    },
                )
                halves.append(half)
                sampler.half_done(index, result, half.end)
                waited, settled = await _settle(fake, deadline)
                half.settled = {
                    **sampler.point(),
                    "review_chat_messages": fake.bot_message_count(REVIEW_CHAT),
                    "settle_s": round(waited, 1),
                    "settled": settled,
                }
                sampler.settled(half.settled)
                if result.capped:
                    break
        finally:
            fake.latency = 0.0  # let a backlog drain quickly on the way out
            clean_stop = await bot.stop()
    rows = []
    for index, half in enumerate(halves):
        first = index * spec.tips + 1
        row = phase_summary(
            PhaseSpec(
                f"memory-{index + 1}",
                f"{phase.label}, tips {first:,}-{first + spec.tips - 1:,}",
                "tipline",
                spec.tips,
                spec.concurrency,
                spec.max_seconds,
            ),
            options,
            per_tip,
            half.result,
            bot,
            bot_cpu=half.bot_cpu,
            harness_cpu=half.harness_cpu,
            memory=half.memory,
            calls=half.calls,
            review_messages=half.end["review_chat_messages"],
            clean_stop=clean_stop,
            errors_logged=half.errors_logged,
        )
        rows.append(row)
    return rows, _memory_record(spec, start, halves, sampler.samples, rows, fake)


def _growth(a: dict[str, Any], b: dict[str, Any] | None, tips: int) -> tuple[Any, Any]:
    """Bot RSS growth from point a to point b: (MB, KB per tip)."""
    if b is None:
        return None, None
    kb = b["bot_rss_kb"] - a["bot_rss_kb"]
    return round(kb / 1024, 2), (kb / tips if tips else None)


def _memory_record(
    spec: MemorySpec,
    start: dict[str, Any],
    halves: list[_Half],
    samples: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    fake: BenchTelegram,
) -> dict[str, Any]:
    first = halves[0]
    second = halves[1] if len(halves) == 2 else None
    complete = second is not None and all(h.result.tips_done == spec.tips for h in halves)
    second_tips = second.result.tips_done if second is not None else 0
    growth_mb, growth_per_tip = _growth(
        first.settled, second.settled if second else None, second_tips
    )
    end_growth_mb, end_growth_per_tip = _growth(
        first.end, second.end if second else None, second_tips
    )
    slope = None
    if second is not None:
        curve = [first.end, *(s for s in samples if s["tips"] > first.end["tips"])]
        slope = _slope_kb_per_tip(curve)
    points = [start, *samples, *(h.end for h in halves), *(h.settled for h in halves)]
    return {
        "key": "memory",
        "tips_per_half": spec.tips,
        "concurrency": spec.concurrency,
        "max_seconds": spec.max_seconds,
        "sample_every": spec.sample_every,
        "complete": complete,
        "settled": all(h.settled.get("settled") for h in halves),
        "start": start,
        "halves": [{"end": h.end, "settled": h.settled} for h in halves],
        "peak_rss_after_n_mb": first.settled["bot_peak_rss_mb"],
        "rss_after_n_mb": first.settled["bot_rss_mb"],
        "rss_after_2n_mb": second.settled["bot_rss_mb"] if second else None,
        "growth_second_half_mb": growth_mb,
        "growth_kb_per_tip": growth_per_tip,
        "end_growth_second_half_mb": end_growth_mb,
        "end_growth_kb_per_tip": end_growth_per_tip,
        "slope_second_half_kb_per_tip": slope,
        "growth_limit_mb": growth_limit_mb(spec.tips),
        "tips_per_s": [row["tips_per_s"] for row in rows],
        "harness_rss_mb": {
            "start": start["harness_rss_mb"],
            "after_n": first.settled["harness_rss_mb"],
            "after_2n": second.settled["harness_rss_mb"] if second else None,
            "peak": max(p["harness_peak_rss_mb"] for p in points if p),
        },
        "harness_lean": fake.lean,
        "harness_keep_finished": spec.keep_finished,
        "harness_keep_group_messages": spec.keep_group_messages,
        "samples": samples,
    }


def memory_targets(memory: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's two memory targets, met or missed (None: not measured)."""
    n = memory["tips_per_half"]
    first_done = rows[0]["tips_done"] if rows else 0
    peak = memory["peak_rss_after_n_mb"]
    peak_note = (
        f"after {first_done:,} tips, not {STATED_TIPS:,}" if first_done != STATED_TIPS else ""
    )
    limit = memory["growth_limit_mb"]
    growth = memory["growth_second_half_mb"]
    per_tip = memory["growth_kb_per_tip"]
    notes = [] if per_tip is None else [f"{per_tip:.2f} KB/tip"]
    growth_met: bool | None
    if not memory["complete"]:
        done = rows[1]["tips_done"] if len(rows) > 1 else 0
        notes.append(f"second half reached {done:,} of {n:,} tips")
        growth_met = None
    else:
        growth_met = growth is not None and growth < limit
        if n != STATED_TIPS:
            notes.append(f"target is stated for {STATED_TIPS:,} tips")
    if not memory["settled"]:
        notes.append(f"bot still busy after {SETTLE_MAX_SECONDS:.0f}s of settling")
    return [
        target(
            "peak RSS (memory phase)",
            "< 200 MB after 10,000 tips",
            peak,
            peak < RSS_LIMIT_MB,
            peak_note,
        ),
        target(
            "RSS growth over the second half (settled)",
            f"< {limit:g} MB over the second {n:,} tips",
            growth,
            growth_met,
            "; ".join(notes),
        ),
    ]
