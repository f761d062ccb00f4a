"""`make bench`: tipline against a bare python-telegram-bot echo bot, in the same run.

Each phase starts a fresh fake Bot API (in this process, with the injected latency on every
call, getUpdates included, for both bots alike) and a fresh bot in a child process, then plays
a crowd of people against it. The table and a JSON file in benchmarks/results/ report what
was reached; a phase that would take too long stops at its time cap and says so.

`--phases memory` (`make bench-memory`, not part of the default run) serves 2 x 10,000 tips
with one bot process and reports its resident memory (benchmarks/memory.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

from benchmarks import fill_db
from benchmarks.memory import MemorySpec, memory_targets, run_memory_phase
from benchmarks.phases import PhaseSpec, RunOptions, run_phase
from benchmarks.report import (
    MEMORY_HEADER,
    PHASE_HEADER,
    machine,
    memory_lines,
    memory_rows,
    phase_rows,
    table,
    target,
    write_json,
)
from benchmarks.traffic import make_photo

PHASES = ("baseline", "baseline-seq", "tipline", "tipline-seq", "paced")  # the default run
EXTRA_PHASES = ("memory",)  # only when asked for: --phases memory (make bench-memory)


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tipsters", type=int, default=200, help="people at once (200)")
    parser.add_argument("--tips", type=int, default=2000, help="tips in the crowd phases (2000)")
    parser.add_argument(
        "--sequential-tips", type=int, default=50, help="tips in the one-at-a-time phases (50)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="added to every Bot API call (50)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=140.0, help="time cap of each phase (140)"
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=100.0,
        help="updates/s offered in the open-loop phase; 0 skips it (100)",
    )
    parser.add_argument(
        "--paced-seconds",
        type=float,
        default=60.0,
        help="people arrive for this long, then may finish for half as long again (60)",
    )
    parser.add_argument(
        "--step-timeout", type=float, default=180.0, help="longest wait for one answer (180)"
    )
    parser.add_argument(
        "--memory-tips",
        type=int,
        default=10_000,
        help="memory phase: tips in each of its two halves, one bot process (10000)",
    )
    parser.add_argument(
        "--memory-max-seconds",
        type=float,
        default=3600.0,
        help="memory phase: its own time cap, both halves together (3600)",
    )
    parser.add_argument(
        "--memory-sample-every",
        type=int,
        default=500,
        help="memory phase: finished tips between memory samples (500; at most tips/10)",
    )
    parser.add_argument("--photo-size", type=_size, default=(320, 240), help="WxH (320x240)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (about 2 min)")
    parser.add_argument("--skip-baseline", action="store_true", help="run tipline phases only")
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated subset of {','.join(PHASES + EXTRA_PHASES)}"
        f" (default {','.join(PHASES)})",
    )
    parser.add_argument(
        "--fill", type=int, default=0, help="also fill a database with N tips and time it"
    )
    parser.add_argument(
        "--flood-limits",
        action="store_true",
        help="tipline keeps Telegram's flood limits (off by default, as the issue asks)",
    )
    parser.add_argument("--cprofile", action="store_true", help="cProfile each bot while it serves")
    parser.add_argument(
        "--py-spy", type=Path, help="a py-spy binary: record each bot (summarise with stacks.py)"
    )
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tipline-bench-profiles",
        help="where --cprofile and --py-spy write (a temp dir)",
    )
    parser.add_argument("--out", type=Path, help="the JSON file (default results/<time>.json)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.tipsters, args.tips, args.sequential_tips = 20, 60, 10
        args.max_seconds = min(args.max_seconds, 45.0)
        args.paced_seconds = min(args.paced_seconds, 15.0)
        args.step_timeout = min(args.step_timeout, 60.0)
        args.memory_tips = min(args.memory_tips, 300)
        args.memory_max_seconds = min(args.memory_max_seconds, 300.0)
    if args.memory_tips < 1:
        parser.error("--memory-tips must be positive")
    args.memory_sample_every = max(1, min(args.memory_sample_every, args.memory_tips // 10))
    chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(chosen) - set(PHASES + EXTRA_PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    if args.skip_baseline:
        chosen = [p for p in chosen if not p.startswith("baseline")]
    if not args.paced_rate:
        chosen = [p for p in chosen if p != "paced"]
    args.phases = chosen
    return args


def phase_specs(args: argparse.Namespace) -> list[PhaseSpec]:
    n, tips, seq = args.tipsters, args.tips, args.sequential_tips
    cap = args.max_seconds
    specs = {
        "baseline": PhaseSpec("baseline", f"baseline, {n} at once", "baseline", tips, n, cap),
        "baseline-seq": PhaseSpec("baseline-seq", "baseline, 1 at a time", "baseline", seq, 1, cap),
        "tipline": PhaseSpec("tipline", f"tipline, {n} at once", "tipline", tips, n, cap),
        "tipline-seq": PhaseSpec("tipline-seq", "tipline, 1 at a time", "tipline", seq, 1, cap),
        "paced": PhaseSpec(
            "paced",
            f"tipline, {args.paced_rate:g} upd/s offered",
            "tipline",
            tips,
            0,
            args.paced_seconds,
            paced_rate=args.paced_rate,
            drain_seconds=args.paced_seconds / 2,
        ),
    }
    return [specs[key] for key in args.phases if key in specs]


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b["updates_per_s"]:
        return None
    return float(a["updates_per_s"] / b["updates_per_s"])


def evaluate(
    phases: dict[str, dict[str, Any]], fill: dict[str, Any] | None, args: argparse.Namespace
) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """The ratios the issue asks for, and each target met or missed (None: not measured)."""
    ratios = {
        "tipline_vs_baseline_updates_per_s": _ratio(phases.get("tipline"), phases.get("baseline")),
        "tipline_concurrent_vs_sequential": _ratio(
            phases.get("tipline"), phases.get("tipline-seq")
        ),
        "baseline_concurrent_vs_sequential": _ratio(
            phases.get("baseline"), phases.get("baseline-seq")
        ),
    }
    targets = []
    r = ratios["tipline_vs_baseline_updates_per_s"]
    targets.append(target("updates/s vs baseline", ">= 0.5", r, None if r is None else r >= 0.5))
    r = ratios["tipline_concurrent_vs_sequential"]
    standard = args.tipsters == 200 and args.latency_ms == 50
    targets.append(
        target(
            "crowd vs one at a time",
            ">= 20x",
            r,
            None if r is None else r >= 20,
            "" if standard else "target is stated for 200 tipsters at 50 ms",
        )
    )
    paced = phases.get("paced")
    if paced is not None:
        p99 = paced["latency"].get("p99_ms")
        targets.append(
            target(
                f"p99 latency at {args.paced_rate:g} upd/s offered",
                "< 500 ms",
                p99,
                None if p99 is None else p99 < 500,
                "" if args.paced_rate == 100 else "target is stated at 100 updates/s",
            )
        )
    crowd = phases.get("tipline")
    if crowd is not None:
        rss = crowd["bot_peak_rss_mb"]
        targets.append(
            target(
                "peak RSS",
                "< 200 MB after 10,000 tips",
                rss,
                rss < 200,
                f"after {crowd['tips_done']} tips, not 10,000"
                if crowd["tips_done"] < 10_000
                else "",
            )
        )
    if fill is not None:
        status = fill["status_lookup_ms"]["p50_ms"]
        startup = fill["open_and_migrate_s"]["median"]
        note = f"{fill['tips']:,} tips in the database"
        targets.append(target("/status look-up (p50)", "< 5 ms", status, status < 5, note))
        targets.append(target("start-up: open + migrate", "< 3 s", startup, startup < 3, note))
        process = fill.get("process_start_to_ready_s")
        if process is not None:
            targets.append(
                target("start-up: process to ready", "< 3 s", process, process < 3, note)
            )
    return ratios, targets


def print_summary(
    phases: list[dict[str, Any]],
    ratios: dict[str, float | None],
    targets: list[dict[str, Any]],
    params: dict[str, Any],
    memory: dict[str, Any] | None = None,
) -> None:
    print()
    print(
        f"latency {params['latency_ms']:g} ms per Bot API call; {params['tipsters']} tipsters at"
        f" once, {params['tips']} tips; photo {params['photo_size'][0]}x{params['photo_size'][1]}"
        f" ({params['photo_bytes']:,} bytes)"
        + (
            f"; memory phase 2 x {params['memory_tips']:,} tips"
            if "memory" in params["phases"]
            else ""
        )
    )
    print(table(phase_rows(phases), PHASE_HEADER))
    if memory is not None:
        print()
        print(table(memory_rows(memory, phases), MEMORY_HEADER))
        for line in memory_lines(memory):
            print(line)
    print()
    for name, value in ratios.items():
        if value is not None:
            print(f"{name.replace('_', ' ')}: {value:.2f}")
    print()
    for t in targets:
        verdict = {True: "MET", False: "MISSED", None: "n/a"}[t["met"]]
        value = t["measured"]
        shown = "-" if value is None else f"{value:,.2f}"
        note = f"  ({t['note']})" if t["note"] else ""
        print(f"  [{verdict:6}] {t['target']}: {shown} (goal {t['goal']}){note}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="tipline-bench-"))
    photo = make_photo(args.photo_size)
    options = RunOptions(
        latency=args.latency_ms / 1000,
        photo=photo,
        step_timeout=args.step_timeout,
        workdir=workdir,
        flood_limits=args.flood_limits,
        cprofile=args.cprofile,
        py_spy=args.py_spy,
        profile_dir=args.profile_dir,
    )
    params = {
        "tipsters": args.tipsters,
        "tips": args.tips,
        "sequential_tips": args.sequential_tips,
        "latency_ms": args.latency_ms,
        "max_seconds": args.max_seconds,
        "paced_rate": args.paced_rate,
        "paced_seconds": args.paced_seconds,
        "step_timeout": args.step_timeout,
        "photo_size": list(args.photo_size),
        "photo_bytes": len(photo),
        "quick": args.quick,
        "flood_limits": args.flood_limits,
        "phases": args.phases,
        "memory_tips": args.memory_tips,
        "memory_max_seconds": args.memory_max_seconds,
        "memory_sample_every": args.memory_sample_every,
        "fill": args.fill,
        "argv": sys.argv[1:],
    }
    results: dict[str, dict[str, Any]] = {}
    memory: dict[str, Any] | None = None
    memory_phases: list[dict[str, Any]] = []
    began = time.monotonic()
    try:
        for spec in phase_specs(args):
            print(f"[{time.monotonic() - began:6.0f}s] {spec.label} ...", flush=True)
            summary = await run_phase(spec, options)
            results[spec.key] = summary
            print(
                f"         {summary['updates_answered']:,} updates in {summary['elapsed_s']:.1f}s"
                f" = {summary['updates_per_s']:.1f}/s, p99"
                f" {summary['latency'].get('p99_ms', float('nan')):.0f} ms",
                flush=True,
            )
        if "memory" in args.phases:
            memory_spec = MemorySpec(
                args.memory_tips, args.tipsters, args.memory_max_seconds, args.memory_sample_every
            )
            print(
                f"[{time.monotonic() - began:6.0f}s] tipline memory, {memory_spec.concurrency} at"
                f" once, 2 x {memory_spec.tips:,} tips in one bot process"
                f" (cap {memory_spec.max_seconds:.0f}s) ...",
                flush=True,
            )
            memory_phases, memory = await run_memory_phase(memory_spec, options)
        fill = None
        if args.fill:
            print(f"[{time.monotonic() - began:6.0f}s] filling {args.fill:,} tips ...", flush=True)
            fill = await fill_db.fill_and_measure(args.fill, workdir / "fill", keep=False)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}")
    ratios, targets = evaluate(results, fill, args)
    if memory is not None:
        targets += memory_targets(memory, memory_phases)
    phases = [*results.values(), *memory_phases]
    print_summary(phases, ratios, targets, params, memory)
    if fill is not None:
        print()
        print(fill_db.describe(fill))
    data = {
        "benchmark": "tipline",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds": round(time.monotonic() - began, 1),
        "machine": machine(),
        "parameters": params,
        "phases": phases,
        "ratios": ratios,
        "targets": targets,
        "memory": memory,
        "fill": fill,
    }
    path = write_json(data, args.out)
    print(f"\nwrote {path}")
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
