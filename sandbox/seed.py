"""Demo tips, made by driving the real bot through the emulator as demo people would.

Nothing is written to the database directly: demo tipsters send `/report`, press the
category, type their tip and press Send; demo reviewers press Claim, ask and verify; demo
finance staff approve and pay. So every seeded row went through the same use cases, audit
chain and outbox as a real one, and the seed breaks (loudly) when the bot's flow changes.

Every tip text starts with "[DEMO]", every person is called "Demo ...", and the payout
voucher is "DEMO-V-...". Each seeding uses new demo tipsters, so seeding again never runs
into the daily tip limit.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from bot.domain.report import Action
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    Callback,
    CategoryChoice,
    FinanceDecision,
    IdChecked,
    ProposeReward,
    ReviewDraft,
    ReviewMove,
    SkipArea,
    SubmitTip,
    TierChoice,
)
from sandbox import people
from sandbox.emulator import FakeTelegram, FakeUser

JSONDict = dict[str, Any]
STEP_SECONDS = 20.0
# The bot has finished what the seed set off (card refreshes, notices) when it has made no
# Bot API call but getUpdates for this long.
QUIET_SECONDS = 0.4
RECEIPT = re.compile(r"^[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}$")
CLAIM_CODE = re.compile(r"^[0-9A-Z]{5}(?:-[0-9A-Z]{5}){2}$")


class SeedError(Exception):
    """The bot did not answer a demo step as expected; the message names the step."""


@dataclass(frozen=True)
class DemoTip:
    category: str
    area: str | None
    text: str
    with_photo: bool = False


NEW = DemoTip(
    "drug_trafficking",
    "Harbour Street",
    "[DEMO] Pills are sold from a white van outside the Harbour Street night market,"
    " Fridays after 22:00. The photo shows the van.",
    with_photo=True,
)
IN_REVIEW = DemoTip(
    "drug_production",
    None,
    "[DEMO] Strong chemical smell from the garage behind block 7 every night; the windows"
    " are blacked out.",
)
AWAITING = DemoTip(
    "drug_use_venue",
    "Riverside",
    "[DEMO] People gather in flat 3B on weekends and use drugs there; visitors come and go"
    " all night.",
)
PROPOSED = DemoTip(
    "drug_trafficking",
    "Lotus Road",
    "[DEMO] A courier collects small packages from the Lotus Road parcel lockers every"
    " Tuesday morning.",
)
PAID = DemoTip(
    "cultivation",
    None,
    "[DEMO] Opium poppies grow behind the greenhouses of the old school farm.",
)
DEMO_TIPS = (NEW, IN_REVIEW, AWAITING, PROPOSED, PAID)


def demo_photo() -> bytes:
    """A small JPEG that says what it is."""
    image = Image.new("RGB", (480, 320), (236, 240, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((90, 120, 390, 230), fill=(250, 250, 250), outline=(60, 60, 60), width=4)
    draw.ellipse((120, 215, 170, 265), fill=(40, 40, 40))
    draw.ellipse((310, 215, 360, 265), fill=(40, 40, 40))
    draw.text((20, 20), "DEMO PHOTO - sandbox only", fill=(200, 30, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _code_entities(message: JSONDict) -> list[str]:
    text = str(message.get("_plain", ""))
    entities = message.get("_entities") or message.get("_caption_entities") or []
    return [
        _utf16_slice(text, int(e["offset"]), int(e["length"]))
        for e in entities
        if e.get("type") == "code"
    ]


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


class Seeder:
    """Plays the demo people; `run()` leaves one demo tip in each state."""

    def __init__(self, fake: FakeTelegram, round_number: int) -> None:
        self.fake = fake
        self.round = round_number
        self._tipsters = 0

    # --- waiting for the bot --------------------------------------------------------------

    def _mark(self, chat_id: int) -> int:
        return len(self.fake.messages_in(chat_id, include_deleted=True))

    async def _until(self, find: Callable[[], Any], what: str) -> Any:
        found: list[Any] = []

        def check() -> bool:
            value = find()
            if value is None:
                return False
            found.append(value)
            return True

        try:
            await self.fake.wait_until(check, timeout=STEP_SECONDS)
        except AssertionError:
            raise SeedError(f"the bot did not answer in time: {what}") from None
        return found[0]

    async def _message(
        self, chat_id: int, after: int, match: Callable[[JSONDict], bool], what: str
    ) -> JSONDict:
        def find() -> JSONDict | None:
            for message in self.fake.messages_in(chat_id, include_deleted=True)[after:]:
                if not message.get("_deleted") and match(message):
                    return message
            return None

        message: JSONDict = await self._until(find, what)
        return message

    def _button(self, message: JSONDict, wanted: Callable[[Callback], bool]) -> str | None:
        for data in self.fake.button_data(message):
            decoded = callbacks.decode(data)
            if decoded is not None and wanted(decoded):
                return data
        return None

    def _has(self, wanted: Callable[[Callback], bool]) -> Callable[[JSONDict], bool]:
        return lambda message: self._button(message, wanted) is not None

    async def _press(self, user: FakeUser, message: JSONDict, data: str, what: str) -> None:
        query = self.fake.user_presses(user, message, data)
        await self._until(lambda: self.fake.callback_answers.get(query["id"]), what)

    async def _press_on(
        self, user: FakeUser, message: JSONDict, wanted: Callable[[Callback], bool], what: str
    ) -> None:
        data = self._button(message, wanted)
        if data is None:
            raise SeedError(f"no button for: {what}")
        await self._press(user, message, data, what)

    def _card(self, reference: str) -> JSONDict:
        for message in self.fake.messages_in(people.REVIEW_CHAT):
            for data in self.fake.button_data(message):
                if data.endswith(f":{reference}") and isinstance(
                    callbacks.decode(data), ReviewMove | ProposeReward
                ):
                    return message
        raise SeedError(f"the card of {reference} is gone")

    async def _card_offers(self, reference: str, wanted: Callable[[Callback], bool]) -> JSONDict:
        def find() -> JSONDict | None:
            card = self._card(reference)
            return card if self._button(card, wanted) is not None else None

        card: JSONDict = await self._until(find, f"the card of {reference} changes")
        return card

    async def _reply(
        self, user: FakeUser, chat_id: int, after: int, text: str, what: str
    ) -> JSONDict:
        """Answer the next force_reply prompt the bot sends in `chat_id`."""
        prompt = await self._message(
            chat_id,
            after,
            lambda m: bool((m.get("reply_markup") or {}).get("force_reply")),
            what,
        )
        return self.fake.user_sends_text(
            user, text, chat_id=chat_id, reply_to_message_id=int(prompt["message_id"])
        )

    # --- the people -------------------------------------------------------------------------

    def _new_tipster(self) -> FakeUser:
        self._tipsters += 1
        user_id = people.DEMO_TIPSTER_BASE + self.round * 100 + self._tipsters
        return self.fake.add_user(user_id, f"Demo Tipster {self._tipsters}", language_code="en")

    def _user(self, persona: people.Persona) -> FakeUser:
        return self.fake.users[persona.user_id]

    # --- the steps --------------------------------------------------------------------------

    async def tip(self, demo: DemoTip) -> tuple[FakeUser, str, str]:
        """A demo tipster reports `demo`; returns the tipster, the receipt and the reference."""
        tipster = self._new_tipster()
        chat = tipster.id
        start, desk = self._mark(chat), self._mark(people.REVIEW_CHAT)
        self.fake.user_sends_text(tipster, "/report")
        category = await self._message(
            chat, start, self._has(lambda b: b == CategoryChoice(demo.category)), "categories"
        )
        await self._press_on(
            tipster, category, lambda b: b == CategoryChoice(demo.category), "the category"
        )
        area = await self._message(chat, start, self._has(lambda b: b == SkipArea()), "area")
        before = self._mark(chat)
        if demo.area is None:
            await self._press_on(tipster, area, lambda b: b == SkipArea(), "skip the area")
        else:
            self.fake.user_sends_text(tipster, demo.area)
        await self._message(chat, before, self._has(lambda b: b == ReviewDraft()), "describe")
        before = self._mark(chat)
        self.fake.user_sends_text(tipster, demo.text)
        added = await self._message(chat, before, self._has(lambda b: b == ReviewDraft()), "text")
        if demo.with_photo:
            before = self._mark(chat)
            self.fake.user_sends_photo(tipster, demo_photo())
            added = await self._message(
                chat, before, self._has(lambda b: b == ReviewDraft()), "photo"
            )
        before = self._mark(chat)
        await self._press_on(tipster, added, lambda b: b == ReviewDraft(), "review")
        summary = await self._message(
            chat, before, self._has(lambda b: b == SubmitTip()), "summary"
        )
        before = self._mark(chat)
        await self._press_on(tipster, summary, lambda b: b == SubmitTip(), "send the tip")
        shown = await self._message(
            chat,
            before,
            lambda m: any(RECEIPT.match(code) for code in _code_entities(m)),
            "the receipt",
        )
        receipt = next(code for code in _code_entities(shown) if RECEIPT.match(code))
        card = await self._message(
            people.REVIEW_CHAT,
            desk,
            lambda m: (
                demo.text[:40] in str(m.get("_plain", ""))
                and self._button(m, lambda b: isinstance(b, ReviewMove)) is not None
            ),
            "the tip's card",
        )
        move = callbacks.decode(self._button(card, lambda b: isinstance(b, ReviewMove)) or "")
        assert isinstance(move, ReviewMove)
        return tipster, receipt, move.reference

    async def move(self, who: people.Persona, reference: str, action: Action) -> None:
        """A reviewer presses a move on the card, and the card shows the next moves."""
        wanted = ReviewMove(action, reference)
        card = await self._card_offers(reference, lambda b: b == wanted)
        await self._press(self._user(who), card, callbacks.encode(wanted), f"{action} {reference}")

    async def claim(self, who: people.Persona, reference: str) -> None:
        await self.move(who, reference, Action.CLAIM)
        await self._card_offers(reference, lambda b: b == ReviewMove(Action.VERIFY, reference))

    async def ask(self, who: people.Persona, reference: str, question: str) -> None:
        after = self._mark(people.REVIEW_CHAT)
        await self.move(who, reference, Action.ASK)
        await self._reply(self._user(who), people.REVIEW_CHAT, after, question, "the question")
        await self._card_offers(reference, lambda b: b == ReviewMove(Action.VERIFY, reference))

    async def verify(self, who: people.Persona, reference: str) -> None:
        await self.move(who, reference, Action.VERIFY)
        await self._card_offers(reference, lambda b: b == ProposeReward(reference))

    async def propose(self, who: people.Persona, reference: str, tier: str, reply: str) -> JSONDict:
        """Propose reward, pick the tier, reply with the amount and the reason; returns the
        post in the finance group."""
        user = self._user(who)
        desk, finance = self._mark(people.REVIEW_CHAT), self._mark(people.FINANCE_CHAT)
        card = await self._card_offers(reference, lambda b: b == ProposeReward(reference))
        await self._press_on(user, card, lambda b: b == ProposeReward(reference), "propose")
        choice = TierChoice(tier, reference)
        tiers = await self._message(
            people.REVIEW_CHAT, desk, self._has(lambda b: b == choice), "the reward tiers"
        )
        after = self._mark(people.REVIEW_CHAT)
        await self._press(user, tiers, callbacks.encode(choice), f"the tier {tier}")
        await self._reply(user, people.REVIEW_CHAT, after, reply, "the reward's reason")
        post: JSONDict = await self._message(
            people.FINANCE_CHAT,
            finance,
            self._has(lambda b: isinstance(b, FinanceDecision) and b.approve),
            "the reward proposal in finance",
        )
        return post

    async def approve(self, who: people.Persona, post: JSONDict, tipster: FakeUser) -> str:
        """Approve the proposal; returns the claim code the tipster is told."""
        before = self._mark(tipster.id)
        await self._press_on(
            self._user(who),
            post,
            lambda b: isinstance(b, FinanceDecision) and b.approve,
            "approve",
        )
        told = await self._message(
            tipster.id,
            before,
            lambda m: any(CLAIM_CODE.match(code) for code in _code_entities(m)),
            "the claim code sent to the tipster",
        )
        return next(code for code in _code_entities(told) if CLAIM_CODE.match(code))

    async def pay(self, who: people.Persona, code: str, voucher: str) -> None:
        """/paid CODE, ID checked, the voucher number as a reply."""
        user = self._user(who)
        chat = people.FINANCE_CHAT
        before = self._mark(chat)
        self.fake.user_sends_text(user, f"/paid {code}", chat_id=chat)
        check = await self._message(
            chat, before, self._has(lambda b: isinstance(b, IdChecked)), "the payout check"
        )
        after = self._mark(chat)
        await self._press_on(user, check, lambda b: isinstance(b, IdChecked), "ID checked")
        sent = await self._reply(user, chat, after, voucher, "the voucher prompt")
        await self._message(
            chat,
            after,
            lambda m: m.get("_reply_to") == sent["message_id"],
            "the payout recorded",
        )

    async def run(self) -> list[str]:
        """One demo tip in each state; returns their references, in the order of DEMO_TIPS."""
        references: list[str] = []
        _, _, new = await self.tip(NEW)
        references.append(new)

        _, _, in_review = await self.tip(IN_REVIEW)
        await self.claim(people.REVIEWER_B, in_review)
        references.append(in_review)

        _, _, awaiting = await self.tip(AWAITING)
        await self.claim(people.REVIEWER_A, awaiting)
        await self.ask(
            people.REVIEWER_A,
            awaiting,
            "[DEMO] Which entrance do the visitors use, and from what time?",
        )
        references.append(awaiting)

        _, _, proposed = await self.tip(PROPOSED)
        await self.claim(people.REVIEWER_A, proposed)
        await self.verify(people.REVIEWER_A, proposed)
        await self.propose(
            people.REVIEWER_A,
            proposed,
            "seized_lt_10g",
            "[DEMO] 8 g seized at the lockers on the tipster's information.",
        )
        references.append(proposed)

        paid_tipster, _, paid = await self.tip(PAID)
        await self.claim(people.REVIEWER_B, paid)
        await self.verify(people.REVIEWER_B, paid)
        post = await self.propose(
            people.REVIEWER_B, paid, "cultivation", "800 [DEMO] About 300 plants destroyed."
        )
        code = await self.approve(people.FINANCE_A, post, paid_tipster)
        await self.pay(people.FINANCE_B, code, f"DEMO-V-{self.round:02d}01")
        references.append(paid)
        await self.settle()
        return references

    async def settle(self) -> None:
        """Wait until the bot has sent everything the demo steps caused."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_SECONDS

        def busy() -> int:
            totals = self.fake.call_totals()
            return sum(n for method, n in totals.items() if not method.startswith("getUpdates"))

        seen, since = busy(), loop.time()
        while loop.time() - since < QUIET_SECONDS:
            if loop.time() > deadline:
                raise SeedError("the bot kept sending after the demo steps")
            await asyncio.sleep(0.05)
            now = busy()
            if now != seen:
                seen, since = now, loop.time()
