"""Inline-button callback data: one frozen dataclass per kind of button, one `v1:` wire format.

Buttons stay pressable for as long as their messages live, so the data under `v1:` stays
byte for byte what the bot has always written; a new format would need a new version prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from bot.domain.report import Action

MAX_BYTES = 64

REVIEW_PATTERN = r"^v1:r:"
TIER_PATTERN = r"^v1:w:"
FINANCE_PATTERN = r"^v1:f:"
ANSWER_PATTERN = r"^v1:a:"
TIPSTER_PATTERN = r"^v1:t:"

_REFERENCE = re.compile(r"T-[0-9]{4}-[0-9]{4,7}")
_TIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_NUMBER = re.compile(r"[0-9]{1,12}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,59}")
_ACTIONS = {action.value: action for action in Action}


# ----- the review chat ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewMove:
    """A move on a tip's card: claim, ask, verify, ..."""

    action: Action
    reference: str


@dataclass(frozen=True)
class NoContactButton:
    """The Ask button shown off because the tipster left no way to reach them."""

    reference: str


@dataclass(frozen=True)
class ProposeReward:
    """The Propose reward button on a verified tip's card."""

    reference: str


@dataclass(frozen=True)
class RecordOutcome:
    """The Outcome button on a verified tip's card."""

    reference: str


@dataclass(frozen=True)
class TierChoice:
    """One tier of the reward scheme, offered under a tip's card."""

    tier: str
    reference: str


# ----- the finance chat --------------------------------------------------------------------


@dataclass(frozen=True)
class FinanceDecision:
    """Approve or Refuse on a reward proposal."""

    approve: bool
    reward_id: int


@dataclass(frozen=True)
class IdChecked:
    """The ID checked button under a payout check, named by the check message's id."""

    check_message_id: int


# ----- the tipster's chat ------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerButton:
    """Reply under a reviewers' question, carrying the question's one-use token."""

    token: str


@dataclass(frozen=True)
class AnswerDone:
    """Done: close the answer window."""


@dataclass(frozen=True)
class StartReport:
    """Report a tip."""


@dataclass(frozen=True)
class ShowPromises:
    """Our promises: the full text of what is and is not kept, under /start and /help."""


@dataclass(frozen=True)
class CategoryChoice:
    """A category; whether the key is in the policy is the intake service's to check."""

    key: str


@dataclass(frozen=True)
class AreaChoice:
    """An area; whether the key is in the policy is the intake service's to check."""

    key: str


@dataclass(frozen=True)
class SkipArea:
    """Leave the area out."""


@dataclass(frozen=True)
class ReviewDraft:
    """Review and send: show the summary."""


@dataclass(frozen=True)
class SubmitTip:
    """Send the tip."""


@dataclass(frozen=True)
class ContactChoice:
    """Allow or refuse contact about this tip."""

    allowed: bool


@dataclass(frozen=True)
class WipeChoice:
    """Delete (or keep) the dialogue once the tip is stored."""

    delete_after: bool


@dataclass(frozen=True)
class AddMore:
    """Back from the summary to adding content."""


@dataclass(frozen=True)
class CancelTip:
    """Discard the draft."""


Callback = (
    ReviewMove
    | NoContactButton
    | ProposeReward
    | RecordOutcome
    | TierChoice
    | FinanceDecision
    | IdChecked
    | AnswerButton
    | AnswerDone
    | StartReport
    | ShowPromises
    | CategoryChoice
    | AreaChoice
    | SkipArea
    | ReviewDraft
    | SubmitTip
    | ContactChoice
    | WipeChoice
    | AddMore
    | CancelTip
)

_TIPSTER_FIXED: dict[str, Callback] = {
    "report": StartReport(),
    "promises": ShowPromises(),
    "area-skip": SkipArea(),
    "review": ReviewDraft(),
    "submit": SubmitTip(),
    "contact:yes": ContactChoice(allowed=True),
    "contact:no": ContactChoice(allowed=False),
    "wipe:yes": WipeChoice(delete_after=True),
    "wipe:no": WipeChoice(delete_after=False),
    "more": AddMore(),
    "cancel": CancelTip(),
}


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _wire(button: Callback) -> str:
    match button:
        case ReviewMove(action, reference):
            return f"v1:r:{action.value}:{reference}"
        case NoContactButton(reference):
            return f"v1:r:nocontact:{reference}"
        case ProposeReward(reference):
            return f"v1:r:reward:{reference}"
        case RecordOutcome(reference):
            return f"v1:r:outcome:{reference}"
        case TierChoice(tier, reference):
            return f"v1:w:{tier}:{reference}"
        case FinanceDecision(approve, reward_id):
            return f"v1:f:{'approve' if approve else 'refuse'}:{reward_id}"
        case IdChecked(check_message_id):
            return f"v1:f:idok:{check_message_id}"
        case AnswerButton(token):
            return f"v1:a:{token}"
        case AnswerDone():
            return "v1:a:done"
        case StartReport():
            return "v1:t:report"
        case ShowPromises():
            return "v1:t:promises"
        case CategoryChoice(key):
            return f"v1:t:cat:{key}"
        case AreaChoice(key):
            return f"v1:t:area:{key}"
        case SkipArea():
            return "v1:t:area-skip"
        case ReviewDraft():
            return "v1:t:review"
        case SubmitTip():
            return "v1:t:submit"
        case ContactChoice(allowed):
            return f"v1:t:contact:{_yes(allowed)}"
        case WipeChoice(delete_after):
            return f"v1:t:wipe:{_yes(delete_after)}"
        case AddMore():
            return "v1:t:more"
        case CancelTip():
            return "v1:t:cancel"
        case _:
            assert_never(button)


def _size(data: str) -> int | None:
    """The UTF-8 length Telegram counts, or None for text that has no UTF-8 form."""
    try:
        return len(data.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def encode(button: Callback) -> str:
    """The callback data for a button; ValueError if it is too long or would not decode back."""
    data = _wire(button)
    size = _size(data)
    if size is None or size > MAX_BYTES:
        raise ValueError(
            f"{type(button).__name__}: callback data must be 1-{MAX_BYTES} bytes of UTF-8"
        )
    if decode(data) != button:
        raise ValueError(f"{type(button).__name__} has a field its format cannot carry")
    return data


def _review(body: str) -> Callback | None:
    move, _, reference = body.partition(":")
    if not _REFERENCE.fullmatch(reference):
        return None
    if move == "nocontact":
        return NoContactButton(reference)
    if move == "reward":
        return ProposeReward(reference)
    if move == "outcome":
        return RecordOutcome(reference)
    action = _ACTIONS.get(move)
    return ReviewMove(action, reference) if action is not None else None


def _tier(body: str) -> Callback | None:
    tier, _, reference = body.partition(":")
    if _TIER.fullmatch(tier) and _REFERENCE.fullmatch(reference):
        return TierChoice(tier, reference)
    return None


def _finance(body: str) -> Callback | None:
    move, _, number = body.partition(":")
    if not _NUMBER.fullmatch(number):
        return None
    if move in ("approve", "refuse"):
        return FinanceDecision(approve=move == "approve", reward_id=int(number))
    if move == "idok":
        return IdChecked(int(number))
    return None


def _answer(body: str) -> Callback | None:
    if body == "done":
        return AnswerDone()
    return AnswerButton(body) if _TOKEN.fullmatch(body) else None


def _tipster(body: str) -> Callback | None:
    fixed = _TIPSTER_FIXED.get(body)
    if fixed is not None:
        return fixed
    kind, separator, key = body.partition(":")
    if separator and kind == "cat":
        return CategoryChoice(key)
    if separator and kind == "area":
        return AreaChoice(key)
    return None


_ROOMS: dict[str, Callable[[str], Callback | None]] = {
    "r": _review,
    "w": _tier,
    "f": _finance,
    "a": _answer,
    "t": _tipster,
}


def decode(data: str) -> Callback | None:
    """The button this data stands for; None for anything malformed, unknown or too long."""
    if not isinstance(data, str):
        return None
    size = _size(data)
    if size is None or not 1 <= size <= MAX_BYTES or not data.startswith("v1:"):
        return None
    room, separator, body = data[3:].partition(":")
    parse = _ROOMS.get(room)
    return parse(body) if separator and parse is not None else None


def matching(*kinds: type[Callback]) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern: data that decodes to one of these kinds of button."""

    def accepts(data: object) -> bool:
        return isinstance(data, str) and isinstance(decode(data), kinds)

    return accepts
