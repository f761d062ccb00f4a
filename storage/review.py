"""The review desk's tables: report events, questions, answer sessions, staff prompts."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection, Row, fetch_all, fetch_one
from storage.dialect import upsert
from storage.records import EventRecord, PromptRecord, QuestionRecord


async def add_event(
    conn: Connection,
    *,
    report_id: int,
    at: int,
    actor_id: int,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    sealed_text: bytes | None = None,
) -> int:
    return await conn.insert(
        "INSERT INTO report_events (report_id, at, actor_id, action, from_status, to_status,"
        " sealed_text) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (report_id, at, actor_id, action, from_status, to_status, sealed_text),
    )


def _event(row: Row) -> EventRecord:
    text = row["sealed_text"]
    return EventRecord(
        id=row["id"],
        report_id=row["report_id"],
        at=row["at"],
        actor_id=row["actor_id"],
        action=row["action"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        sealed_text=bytes(text) if text is not None else None,
    )


async def events(conn: Connection, report_id: int) -> list[EventRecord]:
    rows = await fetch_all(
        conn,
        "SELECT id, report_id, at, actor_id, action, from_status, to_status, sealed_text"
        " FROM report_events WHERE report_id = ? ORDER BY id",
        [report_id],
    )
    return [_event(row) for row in rows]


async def add_question(
    conn: Connection, *, report_id: int, token_hash: bytes, asked_by: int, at: int
) -> int:
    return await conn.insert(
        "INSERT INTO questions (report_id, token_hash, asked_by, asked_at) VALUES (?, ?, ?, ?)",
        (report_id, token_hash, asked_by, at),
    )


def _question(row: Row) -> QuestionRecord:
    return QuestionRecord(
        id=row["id"],
        report_id=row["report_id"],
        asked_by=row["asked_by"],
        asked_at=row["asked_at"],
        answered_at=row["answered_at"],
    )


_QUESTION_COLUMNS = "id, report_id, asked_by, asked_at, answered_at"


async def question_by_token(conn: Connection, token_hash: bytes) -> QuestionRecord | None:
    row = await fetch_one(
        conn, f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE token_hash = ?", [token_hash]
    )
    return _question(row) if row else None


async def question_by_id(conn: Connection, question_id: int) -> QuestionRecord | None:
    row = await fetch_one(
        conn, f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = ?", [question_id]
    )
    return _question(row) if row else None


async def mark_answered(conn: Connection, question_id: int, at: int) -> None:
    await conn.run(
        "UPDATE questions SET answered_at = COALESCE(answered_at, ?) WHERE id = ?",
        (at, question_id),
    )


async def open_session(conn: Connection, owner: bytes, question_id: int, expires_at: int) -> None:
    await conn.run(
        "INSERT INTO answer_sessions (owner, question_id, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (owner) DO UPDATE SET question_id = excluded.question_id,"
        " expires_at = excluded.expires_at",
        (owner, question_id, expires_at),
    )


async def session(conn: Connection, owners: Sequence[bytes], now: int) -> int | None:
    """The question a tipster (known by any of these pseudonyms) is answering, if their session
    has not expired; the latest one if there are several."""
    if not owners:
        return None
    marks = ", ".join("?" for _ in owners)
    row = await fetch_one(
        conn,
        f"SELECT question_id FROM answer_sessions WHERE owner IN ({marks}) AND expires_at > ?"
        " ORDER BY expires_at DESC LIMIT 1",
        [*owners, now],
    )
    return int(row[0]) if row else None


async def close_session(conn: Connection, owners: Sequence[bytes]) -> bool:
    if not owners:
        return False
    marks = ", ".join("?" for _ in owners)
    changed = await conn.run(f"DELETE FROM answer_sessions WHERE owner IN ({marks})", tuple(owners))
    return changed > 0


async def purge_sessions(conn: Connection, now: int) -> None:
    await conn.run("DELETE FROM answer_sessions WHERE expires_at <= ?", (now,))


_ADD_PROMPT = upsert(
    "staff_prompts",
    ["chat_id", "message_id", "kind", "report_id", "actor_id", "created_at", "payload"],
    ["chat_id", "message_id"],
)


async def add_prompt(conn: Connection, prompt: PromptRecord) -> None:
    await conn.run(
        _ADD_PROMPT,
        (
            prompt.chat_id,
            prompt.message_id,
            prompt.kind,
            prompt.report_id,
            prompt.actor_id,
            prompt.created_at,
            prompt.payload,
        ),
    )


async def delete_prompt(conn: Connection, chat_id: int, message_id: int) -> bool:
    """Delete the prompt a staff reply answers; False when it was already gone."""
    changed = await conn.run(
        "DELETE FROM staff_prompts WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
    )
    return changed > 0


async def get_prompt(conn: Connection, chat_id: int, message_id: int) -> PromptRecord | None:
    """The prompt a staff reply answers, if it is still open."""
    row = await fetch_one(
        conn,
        "SELECT chat_id, message_id, kind, report_id, actor_id, created_at, payload"
        " FROM staff_prompts WHERE chat_id = ? AND message_id = ?",
        [chat_id, message_id],
    )
    if row is None:
        return None
    return PromptRecord(
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        kind=row["kind"],
        report_id=row["report_id"],
        actor_id=row["actor_id"],
        created_at=row["created_at"],
        payload=row["payload"],
    )


async def erase_for_report(conn: Connection, report_id: int) -> None:
    """Blank the report's event texts and delete its questions and open prompts."""
    await conn.run("UPDATE report_events SET sealed_text = NULL WHERE report_id = ?", (report_id,))
    await conn.run("DELETE FROM questions WHERE report_id = ?", (report_id,))
    await conn.run("DELETE FROM staff_prompts WHERE report_id = ?", (report_id,))
