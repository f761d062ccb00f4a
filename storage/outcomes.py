"""A verified tip's outcome (police case, arrests, seizures) and the tips linked by its case."""

from __future__ import annotations

import json

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.dialect import upsert
from storage.records import OutcomeRecord

_COLUMNS = (
    "report_id, case_number, arrested, seizures, heroin_eq_mg, sealed_note, recorded_by,"
    " recorded_at"
)

_PUT = upsert("outcomes", [c.strip() for c in _COLUMNS.split(",")], ["report_id"])


def _record(row: Row) -> OutcomeRecord:
    note = row["sealed_note"]
    return OutcomeRecord(
        report_id=row["report_id"],
        case_number=row["case_number"],
        arrested=row["arrested"],
        seizures=tuple((str(drug), int(mg)) for drug, mg in json.loads(row["seizures"])),
        heroin_eq_mg=row["heroin_eq_mg"],
        sealed_note=bytes(note) if note is not None else None,
        recorded_by=row["recorded_by"],
        recorded_at=row["recorded_at"],
    )


async def put(conn: Connection, outcome: OutcomeRecord) -> None:
    """Record or replace the tip's outcome."""
    await conn.run(
        _PUT,
        (
            outcome.report_id,
            outcome.case_number,
            outcome.arrested,
            json.dumps([list(s) for s in outcome.seizures]),
            outcome.heroin_eq_mg,
            outcome.sealed_note,
            outcome.recorded_by,
            outcome.recorded_at,
        ),
    )


async def for_report(conn: Connection, report_id: int) -> OutcomeRecord | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM outcomes WHERE report_id = ?", [report_id])
    return _record(row) if row else None


async def same_case(
    conn: Connection, case_number: str, report_id: int
) -> list[tuple[int, str, int]]:
    """The other tips of this case: (report id, reference, review chat), oldest first."""
    rows = await fetch_all(
        conn,
        "SELECT r.id, r.reference, r.review_chat_id FROM outcomes o"
        " JOIN reports r ON r.id = o.report_id"
        " WHERE o.case_number = ? AND o.report_id != ? ORDER BY r.id",
        [case_number, report_id],
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def erase_note(conn: Connection, report_id: int) -> None:
    """Retention: the sealed note goes with the tip's key; the figures stay for statistics."""
    await conn.run("UPDATE outcomes SET sealed_note = NULL WHERE report_id = ?", [report_id])
