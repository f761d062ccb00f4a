"""What fits on one phone screen, as the tests measure it (docs/DECISIONS.md, "The first
screen"): at most 600 characters, 12 lines and 20 rows of a message bubble about 40 Latin
letters wide, where a Chinese character takes the room of two."""

from __future__ import annotations

import re
import unicodedata

MAX_CHARACTERS = 600
MAX_LINES = 12
MAX_ROWS = 20
COLUMNS = 40
# A word of narrow characters, a single wide (East Asian) character, or a run of spaces.
_PIECE = re.compile(r"\s+|[^\s\u2e80-\ufffd]+|[\u2e80-\ufffd]")


def _width(piece: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in piece)


def rows(line: str, columns: int = COLUMNS) -> int:
    """The rows one line of text takes when wrapped between words (anywhere between Chinese
    characters, and inside a word longer than a row) at `columns`."""
    count, used = 1, 0
    for piece in _PIECE.findall(line):
        width = _width(piece)
        if piece.isspace():
            used += width if used else 0
            continue
        if used and used + width > columns:
            count, used = count + 1, 0
        while width > columns:  # a word longer than a row is broken
            count, width = count + 1, width - columns
        used += width
    return count


def overflow(plain: str) -> list[str]:
    """How a message's plain text goes beyond one screen; empty when it fits."""
    lines = plain.split("\n")
    found = []
    if len(plain) > MAX_CHARACTERS:
        found.append(f"{len(plain)} characters (at most {MAX_CHARACTERS})")
    if len(lines) > MAX_LINES:
        found.append(f"{len(lines)} lines (at most {MAX_LINES})")
    wrapped = sum(rows(line) for line in lines)
    if wrapped > MAX_ROWS:
        found.append(f"{wrapped} rows at {COLUMNS} columns (at most {MAX_ROWS})")
    return found
