"""The outbox protocol: who a message goes to, what kind it is, and its typed payload.

A use case writes an outbox row with the change that causes it; the sender reads it later,
perhaps after a restart. Both sides use these models, so `mypy --strict` checks the producer
against the consumer. Field names are the JSON keys stored (sealed) in the row: they stay as
they are, so rows written by an earlier version still deliver.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

Param = int | str | bool | None
"""A catalogue message parameter: money in minor units, dates as timestamps, counts, texts."""


NOTICE_PURPOSE = "outbox"
"""Staff notices about no tip are sealed under this transient purpose of the master key."""


def notice_context(chat_id: int) -> str:
    """What a staff notice's sealed payload is bound to: the chat it goes to."""
    return f"notice:{chat_id}"


class Recipient(StrEnum):
    STAFF = "staff"
    TIPSTER = "tipster"


class OutboxKind(StrEnum):
    TIP_POSTED = "tip_posted"
    CARD_REFRESH = "card_refresh"
    ANSWER_POSTED = "answer_posted"
    STAFF_TEXT = "staff_text"
    STAFF_NOTICE = "staff_notice"
    REWARD_POST = "reward_post"
    REWARD_REFRESH = "reward_refresh"
    RECEIPT = "receipt"
    DELETE_DIALOGUE = "delete_dialogue"
    TIPSTER_NOTICE = "tipster_notice"
    TIPSTER_QUESTION = "tipster_question"
    TIPSTER_TEXT = "tipster_text"


class Payload(BaseModel):
    """One outbox row's content, sealed into `sealed_payload` as JSON."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: ClassVar[OutboxKind]
    recipient: ClassVar[Recipient]

    def dump(self) -> bytes:
        return self.model_dump_json().encode()


class TipPosted(Payload):
    """The tip's post in its review chat: the card, the rest of its text, its attachments."""

    kind = OutboxKind.TIP_POSTED
    recipient = Recipient.STAFF


class CardRefresh(Payload):
    """The tip's card edited to show its state now."""

    kind = OutboxKind.CARD_REFRESH
    recipient = Recipient.STAFF


class AnswerPosted(Payload):
    """One answer message of the tipster, posted under the tip's card."""

    kind = OutboxKind.ANSWER_POSTED
    recipient = Recipient.STAFF
    position: int


class StaffText(Payload):
    """A catalogue message about a tip in a staff chat; `reward` is 0 when about no reward.
    A parameter `by` is a staff member's id shown as their name; `admins` mentions the chat's
    administrators."""

    kind = OutboxKind.STAFF_TEXT
    recipient = Recipient.STAFF
    key: str
    params: dict[str, Param] = {}
    reward: int = 0


class StaffNotice(Payload):
    """A catalogue message in a staff chat about no tip in particular (digests)."""

    kind = OutboxKind.STAFF_NOTICE
    recipient = Recipient.STAFF
    key: str
    params: dict[str, Param] = {}
    # "review" or "finance": send it as the caption of that statistics chart, drawn when sent.
    chart: str | None = None


class RewardPost(Payload):
    """A reward proposal posted in the finance chat."""

    kind = OutboxKind.REWARD_POST
    recipient = Recipient.STAFF
    reward: int


class RewardRefresh(Payload):
    """A reward's post in the finance chat edited to show its state now."""

    kind = OutboxKind.REWARD_REFRESH
    recipient = Recipient.STAFF
    reward: int


class Receipt(Payload):
    """The receipt, shown once; it carries the chat because contact may not be stored."""

    kind = OutboxKind.RECEIPT
    recipient = Recipient.TIPSTER
    chat: int
    receipt: str
    contact: bool


class DeleteDialogue(Payload):
    """Delete the tip's dialogue (messages first..last) from the private chat."""

    kind = OutboxKind.DELETE_DIALOGUE
    recipient = Recipient.TIPSTER
    chat: int
    first: int
    last: int


class TipsterNotice(Payload):
    """The tip's state changed (to one the tipster is told about)."""

    kind = OutboxKind.TIPSTER_NOTICE
    recipient = Recipient.TIPSTER
    status: str


class TipsterQuestion(Payload):
    """The reviewers' question, with the one-use token of its Reply button."""

    kind = OutboxKind.TIPSTER_QUESTION
    recipient = Recipient.TIPSTER
    question: str
    token: str
    id: int


class TipsterText(Payload):
    """A catalogue message to the tipster about their tip (rewards)."""

    kind = OutboxKind.TIPSTER_TEXT
    recipient = Recipient.TIPSTER
    key: str
    params: dict[str, Param] = {}


PAYLOADS: dict[OutboxKind, type[Payload]] = {
    model.kind: model
    for model in (
        TipPosted,
        CardRefresh,
        AnswerPosted,
        StaffText,
        StaffNotice,
        RewardPost,
        RewardRefresh,
        Receipt,
        DeleteDialogue,
        TipsterNotice,
        TipsterQuestion,
        TipsterText,
    )
}


def load_payload(kind: str, raw: bytes | None) -> Payload:
    """The typed payload of a row; ValueError for an unknown kind or a malformed payload."""
    model = PAYLOADS[OutboxKind(kind)]
    return model.model_validate_json(raw or b"{}")
