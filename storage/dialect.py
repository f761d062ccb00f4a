"""What differs between the SQL of SQLite and of PostgreSQL, in one place.

Storage writes its SQL once, with `?` placeholders and the syntax both databases share
(`INSERT ... ON CONFLICT DO NOTHING`, `ON CONFLICT (key) DO UPDATE`, `RETURNING`, quoted
identifiers). The few words that differ come from the connection's `Dialect`; PostgreSQL's
connection turns `?` into `$1, $2, ...` itself (`postgres_placeholders`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Dialect:
    name: str
    # The larger and the smaller of two values (SQLite's scalar MAX and MIN take two or more).
    greatest: str
    least: str
    # `a IS NOT b` that is true when exactly one side is NULL.
    is_distinct: str


SQLITE = Dialect(name="sqlite", greatest="MAX", least="MIN", is_distinct="IS NOT")
POSTGRESQL = Dialect(
    name="postgresql", greatest="GREATEST", least="LEAST", is_distinct="IS DISTINCT FROM"
)


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """`INSERT` that replaces the row with the same `key`: both databases' upsert (SQLite's
    `INSERT OR REPLACE` deletes and re-inserts, which PostgreSQL has no word for)."""
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


# A '?' outside quoted text and comments. Storage never puts one inside a literal, but the
# translation must not trip over one that a migration comment or a literal might hold.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")


@lru_cache(maxsize=4096)
def postgres_placeholders(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...`, in order."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"${count}"

    return _TOKENS.sub(number, sql)
