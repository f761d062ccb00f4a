"""Summarise a py-spy raw recording of a bot (`python -m benchmarks --py-spy PATH`).

    python -m benchmarks.stacks /tmp/tipline-bench-profiles/tipline.stacks.txt

py-spy samples only threads that are running, so every sample is CPU time. This prints the
share of samples per thread, per layer (whose code the sample is in, counting a sample for
tipline when any of its frames is tipline's), per package of the innermost frame, and the
functions with the largest inclusive share. Samples taken while importing are left out.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import table

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")
_THREAD = re.compile(r"^thread \(\w+\): ?(?P<name>.*)$")
TIPLINE = ("bot", "handlers", "storage")
# The layers a CPU sample is charged to, first match from the innermost frame outwards.
LAYERS = (
    ("sqlite (aiosqlite thread)", ("aiosqlite",)),
    ("image scrubbing (Pillow)", ("PIL",)),
    ("encryption and hashing", ("cryptography", "hmac", "hashlib", "secrets")),
    ("HTTP client (httpx, httpcore, h11, anyio)", ("httpx", "httpcore", "h11", "anyio", "ssl")),
    ("JSON", ("json",)),
    ("logging", ("logging",)),
    ("python-telegram-bot", ("telegram",)),
    ("asyncio event loop", ("asyncio", "selectors")),
)


@dataclass
class Profile:
    samples: int = 0
    importing: int = 0
    by_thread: Counter[str] = field(default_factory=Counter)
    by_layer: Counter[str] = field(default_factory=Counter)
    in_tipline: int = 0
    self_by_package: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)


def _frame(text: str) -> tuple[str, str]:
    match = _FRAME.match(text)
    if match is None:
        return text, ""
    return match["func"], match["path"]


def _package(path: str) -> str:
    if not path or path.startswith("<"):
        return "(python)"
    return path.split("/", 1)[0].removesuffix(".py")


def _layer(packages: list[str]) -> str:
    for package in reversed(packages):
        for name, members in LAYERS:
            if package in members:
                return name
        if package in TIPLINE:
            return "tipline's own Python code"
    return "other"


def summarise(path: Path) -> Profile:
    profile = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = _THREAD.match(frames[0])
        if thread is not None:
            frames = frames[1:]
        if any("importlib._bootstrap" in f for f in frames):
            profile.importing += count
            continue
        parsed = [_frame(f) for f in frames]
        packages = [_package(p) for _, p in parsed]
        profile.samples += count
        profile.by_thread[(thread["name"] if thread else "") or "?"] += count
        profile.by_layer[_layer(packages)] += count
        if any(p in TIPLINE for p in packages):
            profile.in_tipline += count
        if packages:
            profile.self_by_package[packages[-1]] += count
        for key in {f"{func} ({p})" for func, p in parsed}:
            profile.inclusive[key] += count
    return profile


_PLUMBING = ("BaseEventLoop.", "Handle._run", "run (", "Runner.", "main (", "Thread.")


def report(path: Path, top: int = 25, only: tuple[str, ...] = ()) -> str:
    profile = summarise(path)
    total = max(profile.samples, 1)

    def share(n: int) -> str:
        return f"{100 * n / total:.1f}%"

    lines = [
        f"{path.name}: {profile.samples} CPU samples"
        f" ({profile.importing} while importing left out)",
        f"samples with a tipline frame (bot/, handlers/, storage/) on the stack:"
        f" {share(profile.in_tipline)}",
        "",
        table(
            [[n, str(c), share(c)] for n, c in profile.by_thread.most_common()],
            ["thread", "samples", "share"],
        ),
        "",
        table(
            [[n, str(c), share(c)] for n, c in profile.by_layer.most_common()],
            ["layer (innermost match)", "samples", "share"],
        ),
        "",
        table(
            [[n, str(c), share(c)] for n, c in profile.self_by_package.most_common(15)],
            ["package of the innermost frame", "samples", "share"],
        ),
        "",
    ]
    rows = [
        [name[:110], str(n), share(n)]
        for name, n in profile.inclusive.most_common()
        if not name.startswith(_PLUMBING)
        and "botproc.py" not in name
        and "<frozen" not in name
        and (not only or any(f"({prefix}" in name for prefix in only))
    ][:top]
    lines.append(table(rows, [f"top {top} functions (inclusive)", "samples", "share"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stacks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--only", default="", help="list functions only from these path prefixes: bot/,handlers/"
    )
    args = parser.parse_args(argv)
    only = tuple(p.strip() for p in args.only.split(",") if p.strip())
    for file in args.files:
        print(report(file, args.top, only))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
