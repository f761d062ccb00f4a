"""What /proc says about a process: its peak memory and its address-space limit (Linux)."""

from __future__ import annotations

from pathlib import Path


def peak_rss(pid: int) -> int:
    """The most resident memory the process has used so far, in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def address_space_limit(pid: int) -> int | None:
    """The process's RLIMIT_AS in bytes, None when unlimited."""
    for line in Path(f"/proc/{pid}/limits").read_text("ascii").splitlines():
        if line.startswith("Max address space"):
            value = line.split()[3]
            return None if value == "unlimited" else int(value)
    raise AssertionError(f"no address space limit line for {pid}")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text("ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
