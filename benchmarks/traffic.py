"""Simulated people: each walks a script of updates and waits for the bot's answer to each.

A tipster's script is the whole tip (`/start` to the receipt); the baseline's script has the
same updates of the same kinds in the same order, so both bots see the same traffic. Latency
is measured from the moment an update is put into the fake to the moment the fake stored the
bot message that answers it (the last message of a step that sends several).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from benchmarks.fake import AnswerTimeout, BenchTelegram, JSONDict

RECEIPT = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
FIRST_USER_ID = 6_000_000_000
TIP_TEXTS = (
    "A white van unloads small parcels behind the laundry on Harbour street every Friday night.",
    "The driver wears a red cap. Two men wait in a grey car with the engine running.",
)

ActionKind = Literal["text", "photo", "press"]
Predicate = Callable[[JSONDict], bool]


@dataclass(frozen=True)
class Action:
    """One update a person sends and how they recognise the bot's answer to it."""

    name: str
    kind: ActionKind
    payload: str
    answered_by: Predicate


def _has_button(fake: BenchTelegram, data: str) -> Predicate:
    return lambda message: data in fake.button_data(message)


def _starts_with(prefix: str) -> Predicate:
    return lambda message: str(message.get("_plain", "")).startswith(prefix)


def _any(message: JSONDict) -> bool:
    return True


def tipline_script(fake: BenchTelegram) -> list[Action]:
    """The whole tip, as tests/e2e/flows.py walks it, in English."""
    return [
        Action("start", "text", "/start", _has_button(fake, "v1:t:report")),
        Action("report", "text", "/report", _has_button(fake, "v1:t:cat:drug_trafficking")),
        Action(
            "category", "press", "v1:t:cat:drug_trafficking", _has_button(fake, "v1:t:area-skip")
        ),
        Action("area", "text", "Harbour street", _has_button(fake, "v1:t:review")),
        Action("text_1", "text", TIP_TEXTS[0], _starts_with("Added")),
        Action("text_2", "text", TIP_TEXTS[1], _starts_with("Added")),
        Action("photo", "photo", "", _starts_with("Added")),
        Action("review", "press", "v1:t:review", _has_button(fake, "v1:t:submit")),
        Action("submit", "press", "v1:t:submit", lambda m: bool(RECEIPT.search(m.get("text", "")))),
    ]


def baseline_script(fake: BenchTelegram) -> list[Action]:
    """The same updates, kinds and order as a tip; any answer will do."""
    return [
        Action(a.name, a.kind, "b:" + a.name if a.kind == "press" else a.payload, _any)
        for a in tipline_script(fake)
    ]


def make_photo(size: tuple[int, int]) -> bytes:
    """A JPEG with some texture (so it compresses like a photo, not like a flat colour)."""
    width, height = size
    rng = random.Random(6)
    image = Image.new("RGB", size)
    image.putdata(
        [
            ((x * 255) // width, (y * 255) // height, rng.randrange(256))
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


@dataclass
class LoadResult:
    """What one load phase reached."""

    started_at: float = 0.0
    ended_at: float = 0.0
    tips_started: int = 0
    tips_done: int = 0
    updates_answered: int = 0
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # Waits cut short by the time cap or a timeout: lower bounds of those latencies.
    censored: list[float] = field(default_factory=list)
    timeouts: int = 0
    capped: bool = False
    receipts: list[str] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return self.ended_at - self.started_at


class Crowd:
    """Plays many people against one fake; each person is a new user."""

    def __init__(
        self,
        fake: BenchTelegram,
        script: list[Action],
        photo: bytes,
        *,
        step_timeout: float,
        deadline: float,
        on_tip_done: Callable[[], None] | None = None,
    ) -> None:
        self.fake = fake
        self.script = script
        self.photo = photo
        self.step_timeout = step_timeout
        self.deadline = deadline
        self.on_tip_done = on_tip_done  # called after each finished tip (memory sampling)
        self.result = LoadResult()
        self._ids: Iterator[int] = itertools.count(FIRST_USER_ID)

    def _send(self, user_id: int, action: Action, last: JSONDict | None) -> None:
        if action.kind == "text":
            self.fake.user_sends_text(user_id, action.payload)
        elif action.kind == "photo":
            self.fake.user_sends_photo(user_id, self.photo)
        else:
            if last is None:
                raise RuntimeError(f"{action.name}: nothing to press yet")
            self.fake.user_presses(user_id, last, action.payload)

    async def one_person(self) -> None:
        """Walk the script once as a new user; stop quietly at the deadline."""
        result = self.result
        user_id = next(self._ids)
        self.fake.add_user(user_id, "Tipster", language_code="en")
        feed = self.fake.feed(user_id)
        result.tips_started += 1
        last: JSONDict | None = None
        try:
            for action in self.script:
                sent_at = time.monotonic()
                if sent_at >= self.deadline:
                    result.capped = True
                    return
                self._send(user_id, action, last)
                wait = min(self.step_timeout, self.deadline - sent_at)
                try:
                    last, stored_at = await feed.next_matching(action.answered_by, wait)
                except AnswerTimeout:
                    result.censored.append(time.monotonic() - sent_at)
                    if time.monotonic() >= self.deadline - 0.01:
                        result.capped = True
                    else:
                        result.timeouts += 1
                    return
                latency = stored_at - sent_at
                result.latencies.append(latency)
                result.by_step[action.name].append(latency)
                result.updates_answered += 1
            result.tips_done += 1
            match = RECEIPT.search(str(last.get("text", ""))) if last else None
            if match:
                result.receipts.append(match.group(1))
            if self.on_tip_done is not None:
                self.on_tip_done()
        finally:
            self.fake.finished(user_id)

    async def closed_loop(self, tips: int, concurrency: int) -> LoadResult:
        """`concurrency` people at a time, each starting a new tip when theirs is done."""
        remaining = itertools.count()

        async def worker() -> None:
            while next(remaining) < tips and time.monotonic() < self.deadline:
                await self.one_person()

        self.result.started_at = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, tips))))
        self.result.ended_at = min(time.monotonic(), self.deadline)
        return self.result

    async def paced(self, updates_per_second: float, duration: float) -> LoadResult:
        """Open loop: a new person every len(script)/rate seconds for `duration` seconds."""
        interval = len(self.script) / updates_per_second
        self.result.started_at = start = time.monotonic()
        people: list[asyncio.Task[None]] = []
        for n in itertools.count():
            due = start + n * interval
            if due >= start + duration:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            people.append(asyncio.create_task(self.one_person()))
        await asyncio.gather(*people)
        self.result.ended_at = min(time.monotonic(), self.deadline)
        return self.result
