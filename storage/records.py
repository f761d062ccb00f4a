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
    receipt_box: bytes | None = None
    verified_at: int | None = None
    campaign: str | None = None


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
    payload: str | None = None


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


@dataclass(frozen=True)
class RewardRecord:
    id: int
    report_id: int
    status: str
    tier: str
    amount_minor: int
    currency: str
    proposer_id: int
    proposed_at: int
    sealed_justification: bytes | None
    finance_chat_id: int
    finance_message_id: int | None
    refused_by: int | None
    refused_at: int | None
    approved_at: int | None
    code_for_receipt: bytes | None
    offered_at: int | None
    expires_at: int | None
    paid_by: int | None
    paid_at: int | None
    payout_reference: str | None
    id_checked: bool | None
    expired_at: int | None


@dataclass(frozen=True)
class ScheduleRecord:
    id: int
    kind: str
    report_id: int | None
    reward_id: int | None
    due_at: int


@dataclass(frozen=True)
class OutcomeRecord:
    report_id: int
    case_number: str
    arrested: int
    seizures: tuple[tuple[str, int], ...]  # (drug key, milligrams)
    heroin_eq_mg: int
    sealed_note: bytes | None
    recorded_by: int
    recorded_at: int
