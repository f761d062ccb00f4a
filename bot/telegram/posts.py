"""What the bot posts: outbox rows rendered into parts (texts, photos, files, locations).

Rendering is deterministic for a given report, so a post interrupted after its second part
resumes at the third. Everything a staff chat sees is composed here from sealed storage:
nothing of the tipster's own message (sender, forward origin, file name, metadata) survives.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from bot.crypto.vault import DataKey
from bot.domain.inert import make_inert
from bot.domain.items import ItemKind
from bot.domain.localtime import LocalTime
from bot.domain.money import format_money
from bot.domain.outcome import format_grams
from bot.domain.policy import Policy
from bot.domain.report import Action, ReportStatus, allowed_actions
from bot.domain.reward import Budget, RewardStatus
from bot.domain.stats import (
    FINANCE_SERIES,
    OTHER,
    FinanceStats,
    ReviewStats,
    campaigns_shown,
    format_duration,
    shown,
)
from bot.services.holidays import local_time
from bot.services.intake import item_payload
from bot.services.outcomes import OutcomeView
from bot.telegram.callbacks import (
    AnswerButton,
    FinanceDecision,
    NoContactButton,
    ProposeReward,
    RecordOutcome,
    ReviewMove,
    encode,
)
from bot.telegram.charts import ChartText
from bot.telegram.i18n import Catalogue, Html
from storage.blobs import BlobStore
from storage.records import ItemRecord, ReportRecord, RewardRecord

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Button:
    """A button that sends `data` back to the bot when pressed."""

    label: str
    data: str


@dataclass(frozen=True)
class CopyButton:
    """A button that copies `text` to the reader's clipboard; the bot hears nothing of it."""

    label: str
    text: str


Keyboard = tuple[tuple[Button | CopyButton, ...], ...]


@dataclass(frozen=True)
class TextPart:
    html: str
    buttons: Keyboard = field(default=())


@dataclass(frozen=True)
class FilePart:
    kind: ItemKind
    data: bytes
    filename: str
    caption: str


@dataclass(frozen=True)
class LocationPart:
    latitude: float
    longitude: float


Part = TextPart | FilePart | LocationPart

# Room kept in the card's first message for the header and status lines.
CARD_RESERVE = 900
BUTTONS_PER_ROW = 3
# A campaign's label in the /stats caption is cut to this many characters.
_CAMPAIGN_LABEL_CHARS = 40

# Looks up a staff member's display name (chat id, user id) when a card is drawn; names are
# never stored.


@dataclass(frozen=True)
class CardState:
    """What the card shows besides the tip: who holds it, the last move, the reward."""

    holder: str | None = None
    last_action: str | None = None
    last_actor: str | None = None
    last_at: int | None = None
    duplicate_of: str | None = None
    duplicates: tuple[str, ...] = ()
    reward_status: str | None = None
    reward_amount: int | None = None
    can_propose: bool = False
    outcome: OutcomeView | None = None


@dataclass(frozen=True)
class FinanceView:
    """Everything a reward post in the finance chat shows: never the tip's content."""

    reward: RewardRecord
    reference: str
    category: str
    justification: str | None
    proposer: str
    approvers: tuple[str, ...]
    needed: int
    budget: Budget | None
    paid_by: str | None = None


def mention(user_id: int, name: str) -> Html:
    """A tappable mention of a staff member (staff chats only; never of a tipster)."""
    return Html(f'<a href="tg://user?id={user_id}">{html.escape(name)}</a>')


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escaped_chunks(text: str, limit: int) -> list[str]:
    """Escape tip text for HTML in chunks of at most `limit` characters, never cutting an entity."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for ch in text:
        piece = html.escape(ch, quote=False)
        if size + len(piece) > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        chunks.append("".join(current))
    return chunks


def pack_blocks(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join HTML blocks (each within the limit) into as few messages as fit."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and len(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


class PostRenderer:
    """Builds what the bot posts: staff posts in the staff language, tipster notices in theirs."""

    def __init__(
        self,
        catalogue: Catalogue,
        policy: Policy,
        blobs: BlobStore,
        staff_language: str,
        local: LocalTime | None = None,
    ) -> None:
        self._t = catalogue
        self._policy = policy
        self._blobs = blobs
        self._lang = staff_language
        self._local = local or local_time(policy.locale)

    def _area(self, report: ReportRecord, key: DataKey) -> str:
        if report.sealed_area is None:
            return self._t.text(self._lang, "review.area_none")
        raw = key.open_text("area", report.sealed_area)
        kind, _, value = raw.partition(":")
        if kind == "key":
            choice = self._policy.intake.area(value)
            return choice.label(self._lang) if choice else value
        return value

    def _payloads(
        self, key: DataKey, items: list[ItemRecord]
    ) -> list[tuple[ItemRecord, dict[str, Any]]]:
        """The tip's own parts, in order; answers to questions are posted separately."""
        loaded = [(item, item_payload(key, item.sealed)) for item in items]
        return [(item, payload) for item, payload in loaded if "answer_to" not in payload]

    def buttons(self, report: ReportRecord, can_propose: bool = False) -> Keyboard:
        """The moves allowed now, as buttons; Ask says why it is off without contact."""
        t, lang, ref = self._t, self._lang, report.reference
        buttons: list[Button] = []
        for action in allowed_actions(ReportStatus(report.status)):
            if action is Action.ASK and report.sealed_contact is None:
                buttons.append(
                    Button(t.text(lang, "staff.button.ask_off"), encode(NoContactButton(ref)))
                )
            else:
                buttons.append(
                    Button(
                        t.text(lang, f"staff.button.{action.value}"),
                        encode(ReviewMove(action, ref)),
                    )
                )
        if report.status == ReportStatus.VERIFIED:
            buttons.append(Button(t.text(lang, "staff.button.outcome"), encode(RecordOutcome(ref))))
        if can_propose:
            buttons.append(Button(t.text(lang, "staff.button.reward"), encode(ProposeReward(ref))))
        return tuple(
            tuple(buttons[i : i + BUTTONS_PER_ROW]) for i in range(0, len(buttons), BUTTONS_PER_ROW)
        )

    def _status_lines(self, report: ReportRecord, state: CardState) -> list[str]:
        t, lang = self._t, self._lang
        status = t.text(lang, f"staff.state.{report.status}")
        lines = [t.text(lang, "staff.card.status", status=Html(status))]
        if state.holder:
            lines.append(t.text(lang, "staff.card.holder", name=state.holder))
        if state.last_action and state.last_at is not None:
            when = self._local.time(state.last_at)
            action = t.text(lang, f"staff.action.{state.last_action}")
            lines.append(
                t.text(
                    lang,
                    "staff.card.last",
                    action=Html(action),
                    name=state.last_actor or "?",
                    when=when,
                )
            )
        if state.duplicate_of:
            lines.append(t.text(lang, "staff.card.duplicate_of", reference=state.duplicate_of))
        if state.duplicates:
            lines.append(
                t.text(lang, "staff.card.duplicates", references=", ".join(state.duplicates))
            )
        if state.outcome is not None:
            lines += self.outcome_lines(state.outcome)
        if state.reward_status and state.reward_amount is not None:
            lines.append(
                t.text(
                    lang,
                    "staff.card.reward",
                    amount=self.money(state.reward_amount),
                    status=Html(t.text(lang, f"reward.state.{state.reward_status}")),
                )
            )
        return lines

    def outcome_lines(self, outcome: OutcomeView) -> list[str]:
        """The outcome on the card and in /tip: case, arrests, seizures, linked tips."""
        t, lang = self._t, self._lang
        drugs = {drug.key: drug.label(lang) for drug in self._policy.outcomes.drugs}
        seized = ", ".join(
            f"{drugs.get(s.drug, s.drug)} {format_grams(s.milligrams)}" for s in outcome.seizures
        )
        lines = [
            t.text(
                lang,
                "staff.card.outcome",
                case=outcome.case_number,
                arrested=outcome.arrested,
            )
        ]
        if outcome.seizures:
            lines.append(
                t.text(
                    lang,
                    "staff.card.seized",
                    seized=seized,
                    heroin=format_grams(outcome.heroin_eq_mg),
                )
            )
        if outcome.linked:
            lines.append(t.text(lang, "staff.card.linked", references=", ".join(outcome.linked)))
        return lines

    @property
    def policy(self) -> Policy:
        return self._policy

    def category_label(self, key: str) -> str:
        category = self._policy.intake.category(key)
        return category.label(self._lang) if category else key

    def money(self, minor: int) -> str:
        rewards = self._policy.rewards
        return format_money(minor, rewards.currency, rewards.minor_per_major)

    def _card_pages(
        self, report: ReportRecord, key: DataKey, items: list[ItemRecord], state: CardState
    ) -> list[str]:
        t, lang = self._t, self._lang
        category = self._policy.intake.category(report.category)
        payloads = self._payloads(key, items)
        texts = [p["text"] for _, p in payloads if p["kind"] == ItemKind.TEXT]
        attachments = len(payloads) - len(texts)
        header = t.text(
            lang,
            "review.post_header",
            reference=report.reference,
            category=category.label(lang) if category else report.category,
            area=self._area(report, key),
            alias=report.alias,
            parts=len(payloads),
            attachments=attachments,
        )
        card = "\n".join([header, *self._status_lines(report, state)])
        chunks: list[str] = []
        for text in texts:
            chunks.extend(escaped_chunks(text, MESSAGE_LIMIT - CARD_RESERVE))
        first, rest = [card], chunks
        while rest and len("\n\n".join([*first, rest[0]])) <= MESSAGE_LIMIT:
            first.append(rest.pop(0))
        return ["\n\n".join(first), *pack_blocks(rest)]

    async def card(
        self, report: ReportRecord, key: DataKey, items: list[ItemRecord], state: CardState
    ) -> TextPart:
        """The tip's card as it should look now (first message of its post)."""
        return TextPart(
            self._card_pages(report, key, items, state)[0],
            self.buttons(report, state.can_propose),
        )

    async def tip_post(
        self, report: ReportRecord, key: DataKey, items: list[ItemRecord], state: CardState
    ) -> list[Part]:
        """The card with buttons, the rest of a long text, then each attachment and location."""
        t, lang = self._t, self._lang
        pages = self._card_pages(report, key, items, state)
        parts: list[Part] = [TextPart(pages[0], self.buttons(report, state.can_propose))]
        parts += [TextPart(page) for page in pages[1:]]
        others = [(i, p) for i, p in self._payloads(key, items) if p["kind"] != ItemKind.TEXT]
        for number, (item, payload) in enumerate(others, start=1):
            caption = t.text(
                lang,
                "review.attachment_caption",
                reference=report.reference,
                number=number,
                total=len(others),
                note=Html(t.text(lang, self._metadata_key(payload))),
            )
            parts.append(await self._attachment(report, key, item, payload, number, caption))
        return parts

    @staticmethod
    def _metadata_key(payload: dict[str, Any]) -> str:
        return (
            "review.metadata_removed" if payload.get("metadata_removed") else "review.metadata_kept"
        )

    async def _attachment(
        self,
        report: ReportRecord,
        key: DataKey,
        item: ItemRecord,
        payload: dict[str, Any],
        number: int | str,
        caption: str,
    ) -> Part:
        if payload["kind"] == ItemKind.LOCATION:
            return LocationPart(float(payload["latitude"]), float(payload["longitude"]))
        assert item.blob_name is not None
        data = key.open(f"blob:{item.blob_name}", await self._blobs.get(item.blob_name))
        return FilePart(
            kind=ItemKind(payload["kind"]),
            data=data,
            filename=f"{report.reference}-{number}{payload['extension']}",
            caption=caption[:CAPTION_LIMIT],
        )

    async def answer(
        self, report: ReportRecord, key: DataKey, items: list[ItemRecord], position: int
    ) -> list[Part]:
        """One answer message from the tipster, under the tip's alias, as the bot's own copy."""
        t, lang = self._t, self._lang
        match = [item for item in items if item.position == position]
        if not match:
            return []
        item = match[0]
        payload = item_payload(key, item.sealed)
        intro = t.text(lang, "staff.answer.intro", alias=report.alias, reference=report.reference)
        if payload["kind"] == ItemKind.TEXT:
            pages = pack_blocks([intro, *escaped_chunks(payload["text"], MESSAGE_LIMIT - 200)])
            return [TextPart(page) for page in pages]
        caption = t.text(
            lang,
            "staff.answer.caption",
            alias=report.alias,
            reference=report.reference,
            note=Html(t.text(lang, self._metadata_key(payload))),
        )
        part = await self._attachment(report, key, item, payload, f"a{position}", caption)
        if isinstance(part, LocationPart):
            return [TextPart(intro), part]
        return [part]

    def notice(self, report: ReportRecord, status: str) -> TextPart:
        """A status change, told to the tipster in their language."""
        t, lang = self._t, report.language
        return TextPart(
            t.text(
                lang,
                "notice.status",
                reference=report.reference,
                state=Html(t.text(lang, f"state.{status}")),
            )
        )

    def question(self, report: ReportRecord, question: str, token: str) -> TextPart:
        """The reviewers' question, with a Reply button carrying a one-use token. Its links
        and mentions are inert (made so when it was asked; again here for a question queued
        by an earlier version), it is escaped as text, and no link preview is ever shown."""
        t, lang = self._t, report.language
        inert = make_inert(question)
        return TextPart(
            t.text(lang, "notice.question", reference=report.reference, question=inert),
            ((Button(t.text(lang, "button.answer"), encode(AnswerButton(token))),),),
        )

    def _params(self, language: str, params: dict[str, Any]) -> dict[str, object]:
        """Money, dates and policy texts in the reader's language; everything else as given."""
        shown: dict[str, object] = {}
        for name, value in params.items():
            if name == "amount" and isinstance(value, int):
                shown[name] = self.money(value)
            elif name in ("expires", "deadline") and isinstance(value, int):
                shown[name] = self._local.date(value)
            else:
                shown[name] = value
        return shown

    def receipt(self, report: ReportRecord, receipt: str, contact_allowed: bool) -> TextPart:
        """The receipt, shown once, in a code entity and with a button that copies it."""
        t, lang = self._t, report.language
        contact = t.text(
            lang,
            "receipt.contact_yes" if contact_allowed else "receipt.contact_no",
            days=self._policy.contact_days,
        )
        return TextPart(
            t.text(
                lang,
                "receipt.text",
                reference=report.reference,
                receipt=receipt,
                contact=Html(contact),
            ),
            ((CopyButton(t.text(lang, "button.copy_receipt"), receipt),),),
        )

    def tipster_text(self, report: ReportRecord, key: str, params: dict[str, Any]) -> TextPart:
        """A message to the tipster about their tip, in their language; a claim code in it
        (the `code` parameter) gets a button that copies it."""
        lang = report.language
        shown = self._params(lang, params)
        instructions = self._policy.rewards.claim_instructions
        shown.setdefault("instructions", instructions.get(lang) or instructions["en"])
        code = params.get("code")
        buttons: Keyboard = (
            ((CopyButton(self._t.text(lang, "button.copy_claim_code"), code),),)
            if isinstance(code, str) and code
            else ()
        )
        return TextPart(self._t.text(lang, key, reference=report.reference, **shown), buttons)

    # ----- statistics (/stats and the digests) ----------------------------------------------

    def review_chart_text(self, stats: ReviewStats) -> ChartText:
        t, lang = self._t, self._lang
        labels = {c.key: c.label(lang) for c in self._policy.intake.categories}
        labels[OTHER] = t.text(lang, "stats.other")
        for key in ("per_week", "week_of", "backlog"):
            labels[key] = t.text(lang, f"stats.{key}")
        for state in stats.backlog:
            labels[state] = t.text(lang, f"stats.state.{state}")
        return ChartText(t.text(lang, "stats.title_review", period=stats.period.label), labels)

    def review_caption(self, stats: ReviewStats) -> str:
        caption = self._t.text(
            self._lang,
            "stats.caption_review",
            period=stats.period.label,
            total=shown(stats.total),
            claim=format_duration(stats.median_claim_s),
            decision=format_duration(stats.median_decision_s),
            past=shown(stats.past_reminder),
            outcomes=shown(stats.outcomes),
            arrested=shown(stats.arrested),
            heroin=format_grams(stats.heroin_eq_mg),
        )
        campaigns = self._campaign_caption(stats)
        return f"{caption}\n{campaigns}" if campaigns else caption

    def _campaign_caption(self, stats: ReviewStats) -> str:
        """The period's tips per campaign, by the campaign's label ("" when none came from
        one); a label is cut short so the caption stays within Telegram's limit."""
        t, lang, policy = self._t, self._lang, self._policy
        named, rest = campaigns_shown(stats.campaigns, [c.key for c in policy.campaigns])
        if not named:
            return ""
        labels = {c.key: c.label(lang) for c in policy.campaigns}
        parts = [
            t.text(
                lang,
                "stats.campaign.entry",
                campaign=_shortened(labels.get(key, key), _CAMPAIGN_LABEL_CHARS),
                count=shown(count),
            )
            for key, count in named
        ]
        if rest:
            parts.append(t.text(lang, "stats.campaign.others", count=shown(rest)))
        joined = t.text(lang, "stats.campaign.separator").join(parts)
        return t.text(lang, "stats.campaign.caption", campaigns=Html(joined))

    def finance_chart_text(self, stats: FinanceStats) -> ChartText:
        t, lang = self._t, self._lang
        labels = {key: t.text(lang, f"stats.{key}") for key in (*FINANCE_SERIES, "budget")}
        labels["amount"] = t.text(lang, "stats.amount", currency=self._policy.rewards.currency)
        month = stats.months[-1].month
        return ChartText(t.text(lang, "stats.title_finance", month=month), labels)

    def finance_caption(self, stats: FinanceStats) -> str:
        last = stats.months[-1]
        params: dict[str, object] = {"month": last.month}
        for series in FINANCE_SERIES:
            params[series] = shown(last.counts[series])
            params[f"{series}_amount"] = self.money(last.amounts[series])
        params["budget"] = (
            self.money(stats.budget_minor)
            if stats.budget_minor
            else self._t.text(self._lang, "stats.no_budget")
        )
        return self._t.text(self._lang, "stats.caption_finance", **params)

    def staff_notice(self, key: str, params: dict[str, Any]) -> TextPart:
        """A message in a staff chat about no tip in particular (digests)."""
        return TextPart(self._t.text(self._lang, key, **params))

    def staff_text(self, report: ReportRecord, key: str, params: dict[str, Any]) -> TextPart:
        """A message in a staff chat about a tip, in the staff language."""
        return TextPart(
            self._t.text(
                self._lang, key, reference=report.reference, **self._params(self._lang, params)
            )
        )

    def finance_post(self, view: FinanceView) -> TextPart:
        """A reward proposal in the finance chat, with Approve and Refuse while it is open."""
        t, lang, reward = self._t, self._lang, view.reward
        tier = self._policy.rewards.tier(reward.tier)
        lines = [
            t.text(lang, "reward.post.header", reference=view.reference),
            t.text(lang, "reward.post.category", category=view.category),
            t.text(lang, "reward.post.tier", tier=tier.label(lang) if tier else reward.tier),
            t.text(lang, "reward.post.amount", amount=self.money(reward.amount_minor)),
            t.text(
                lang,
                "reward.post.proposer",
                name=view.proposer,
                when=self._local.date(reward.proposed_at),
            ),
        ]
        if view.justification:
            lines.append(t.text(lang, "reward.post.justification", text=view.justification))
        lines.append(
            t.text(
                lang,
                "reward.post.approvals",
                count=len(view.approvers),
                needed=view.needed,
                names=", ".join(view.approvers) or "—",
            )
        )
        if view.budget is not None and view.budget.budget_minor:
            lines.append(
                t.text(
                    lang,
                    "reward.post.budget",
                    month=f"{view.budget.year}-{view.budget.month:02d}",
                    remaining=self.money(view.budget.remaining_minor),
                    budget=self.money(view.budget.budget_minor),
                )
            )
        lines.append(
            t.text(
                lang,
                "reward.post.status",
                status=Html(t.text(lang, f"reward.state.{reward.status}")),
            )
        )
        if reward.expires_at and reward.status == RewardStatus.OFFERED:
            lines.append(
                t.text(lang, "reward.post.expires", when=self._local.date(reward.expires_at))
            )
        if reward.status == RewardStatus.PAID and reward.payout_reference:
            lines.append(
                t.text(
                    lang,
                    "reward.post.paid",
                    voucher=reward.payout_reference,
                    name=view.paid_by or "?",
                    when=self._local.date(reward.paid_at or 0),
                )
            )
        buttons: Keyboard = ()
        if reward.status == RewardStatus.PROPOSED:
            buttons = (
                (
                    Button(
                        t.text(lang, "reward.button.approve"),
                        encode(FinanceDecision(approve=True, reward_id=reward.id)),
                    ),
                    Button(
                        t.text(lang, "reward.button.refuse"),
                        encode(FinanceDecision(approve=False, reward_id=reward.id)),
                    ),
                ),
            )
        return TextPart("\n".join(lines), buttons)
