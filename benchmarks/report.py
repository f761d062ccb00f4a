"""Numbers into a table, target checks and a JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: Sequence[float], censored: Sequence[float] = ()) -> dict[str, Any]:
    """p50/p95/p99/max/mean in ms; cut-short waits count as their (lower-bound) wait."""
    every = [*values, *censored]
    if not every:
        return {"n": 0, "censored": 0}
    return {
        "n": len(every),
        "censored": len(censored),
        "p50_ms": round(percentile(every, 50) * 1000, 1),
        "p95_ms": round(percentile(every, 95) * 1000, 1),
        "p99_ms": round(percentile(every, 99) * 1000, 1),
        "max_ms": round(max(every) * 1000, 1),
        "mean_ms": round(sum(every) / len(every) * 1000, 1),
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_mb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_mb = int(line.split()[1]) // 1024
    except OSError:
        pass
    import telegram

    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_mb": memory_mb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "python_telegram_bot": telegram.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: Iterable[Sequence[str]], header: Sequence[str]) -> str:
    """A plain text table, numbers right-aligned."""
    body = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = []
    for index, row in enumerate(body):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


PHASE_HEADER = (
    "phase",
    "updates",
    "tips",
    "wall s",
    "upd/s",
    "tips/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "CPU ms/upd",
    "CPU s/tip",
    "bot CPU %",
    "peak RSS MB",
    "harness CPU %",
    "note",
)


def phase_rows(phases: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for p in phases:
        lat = p["latency"]
        notes = []
        if p["capped"]:
            notes.append(f"capped at {p['max_seconds']:.0f}s")
        if lat.get("censored"):
            notes.append(f"{lat['censored']} unanswered")
        if p["timeouts"]:
            notes.append(f"{p['timeouts']} timeouts")
        if p["bot_errors_logged"]:
            notes.append(f"{p['bot_errors_logged']} bot errors")
        rows.append(
            [
                p["label"],
                _fmt(p["updates_answered"]),
                f"{p['tips_done']}/{p['tips_started']}",
                _fmt(p["elapsed_s"]),
                _fmt(p["updates_per_s"]),
                _fmt(p["tips_per_s"], 2),
                _fmt(lat.get("p50_ms")),
                _fmt(lat.get("p95_ms")),
                _fmt(lat.get("p99_ms")),
                _fmt(p["bot_cpu_ms_per_update"], 2),
                _fmt(p["bot_cpu_s_per_tip"], 3),
                _fmt(p["bot_cpu_percent"], 0),
                _fmt(p["bot_peak_rss_mb"]),
                _fmt(p["harness_cpu_percent"], 0),
                "; ".join(notes),
            ]
        )
    return rows


MEMORY_HEADER = (
    "memory phase",
    "tips",
    "at s",
    "tips/s",
    "bot RSS MB",
    "bot peak MB",
    "anon MB",
    "file MB",
    "harness RSS MB",
    "review msgs",
)


def memory_rows(memory: dict[str, Any], phases: Sequence[dict[str, Any]]) -> list[list[str]]:
    """The bot at start, and at the end of each half and once it settled after it."""
    rates = {p["key"]: p["tips_per_s"] for p in phases}
    points: list[tuple[str, dict[str, Any], float | None]] = [
        ("bot started", memory["start"], None)
    ]
    for index, half in enumerate(memory["halves"]):
        name = ("first", "second")[index]
        points.append((f"end of {name} half", half["end"], rates.get(f"memory-{index + 1}")))
        settled = half["settled"]
        state = "settled" if settled.get("settled") else "still busy"
        points.append((f"  {state} ({settled['settle_s']:.0f}s later)", settled, None))
    return [
        [
            name,
            _fmt(point["tips"]),
            _fmt(point["t_s"]),
            _fmt(rate, 2),
            _fmt(point["bot_rss_mb"]),
            _fmt(point["bot_peak_rss_mb"]),
            _fmt(point["bot_anon_mb"]),
            _fmt(point["bot_file_mb"]),
            _fmt(point["harness_rss_mb"]),
            _fmt(point.get("review_chat_messages")),
        ]
        for name, point, rate in points
    ]


def memory_lines(memory: dict[str, Any], width: int = 10) -> list[str]:
    """The growth over the second half and the RSS curves, a few points of them."""
    lines = []
    n = memory["tips_per_half"]
    if memory["growth_second_half_mb"] is not None:
        lines.append(
            f"bot RSS growth over the second {n:,} tips: settled"
            f" {memory['growth_second_half_mb']:+.1f} MB"
            f" ({_fmt(memory['growth_kb_per_tip'], 3)} KB/tip); end to end"
            f" {memory['end_growth_second_half_mb']:+.1f} MB"
            f" ({_fmt(memory['end_growth_kb_per_tip'], 3)} KB/tip); least-squares slope"
            f" {_fmt(memory['slope_second_half_kb_per_tip'], 3)} KB/tip"
        )
    samples = memory["samples"]
    if samples:
        step = max(1, -(-len(samples) // width))
        shown = samples[step - 1 :: step]
        for what, key in (("bot", "bot_rss_mb"), ("harness", "harness_rss_mb")):
            curve = "  ".join(f"{s['tips']:,}: {s[key]:.1f}" for s in shown)
            lines.append(f"{what} RSS MB by finished tips: {curve}")
    harness = memory["harness_rss_mb"]
    lines.append(
        f"harness (fake Bot API and crowd, lean={memory['harness_lean']}): RSS"
        f" {_fmt(harness['start'])} MB at start, {_fmt(harness['after_n'])} after the first half,"
        f" {_fmt(harness['after_2n'])} after the second, peak {_fmt(harness['peak'])}"
    )
    return lines


def target(
    name: str, goal: str, value: float | None, ok: bool | None, note: str = ""
) -> dict[str, Any]:
    """A target as the summary prints it and the JSON keeps it (ok None: not measured)."""
    return {"target": name, "goal": goal, "measured": value, "met": ok, "note": note}


def write_json(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write `data` to `path`, or to results/<UTC timestamp>.json."""
    if path is None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
