"""Plain frozen records the repositories return; they carry sealed bytes, never plaintext."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DraftRecord:
    owner: bytes
    uid: str
    key_id: str
    wrapped_key: bytes
    step: str
    language: str
    sealed_state: bytes
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class ItemRecord:
    uid: str
    position: int
    sealed: bytes
    blob_name: str | None


@dataclass(frozen=True)
class ReportRecord:
    id: int
    uid: str
    reference: str
    category: str
    alias: str
    language: str
    status: str
    key_id: str | None
    wrapped_key: bytes | None
    sealed_area: bytes | None
    sealed_contact: bytes | None
    review_chat_id: int
    review_message_id: int | None
    submitted_at: int
    updated_at: int
    holder_id: int | None = None
    duplicate_of: int | None = None


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    report_id: int | None
    target: str
    chat_id: int | None
    kind: str
    sealed_payload: bytes | None
    not_before: int
    status: str
    parts_sent: int
    anchor_message_id: int | None
    attempts: int


@dataclass(frozen=True)
class EventRecord:
    id: int
    report_id: int
    at: int
    actor_id: int
    action: str
    from_status: str | None
    to_status: str | None
    sealed_text: bytes | None


@dataclass(frozen=True)
class QuestionRecord:
    id: int
    report_id: int
    asked_by: int
    asked_at: int
    answered_at: int | None


@dataclass(frozen=True)
class PromptRecord:
    chat_id: int
    message_id: int
    kind: str
    report_id: int
    actor_id: int
    created_at: int


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: int
    actor_id: int
    action: str
    report_ref: str | None
    details: str
    key_id: str
    prev_mac: bytes
    mac: bytes
