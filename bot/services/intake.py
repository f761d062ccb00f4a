"""Intake: the draft of a tip while the tipster writes it (bot.services.receipts submits it).

The tipster is known here only by keyed pseudonyms of their user id under window keys
(bot.crypto.windows): an hourly one that finds their draft while it exists (each write moves the
draft to the newest hour's pseudonym; look-ups try every hour whose key is still kept), and a
daily one for the tip limit. The draft, its parts and its files are sealed under the tip's own
data key from the first message on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.crypto.vault import DataKey, Vault, WrappedKey
from bot.crypto.windows import WindowKeys
from bot.domain import timing
from bot.domain.errors import (
    AreaTooLong,
    DailyLimitReached,
    DraftExists,
    EmptyText,
    NoDraft,
    NothingToSubmit,
    TooManyAttachments,
    TooManyItems,
    UnknownChoice,
    WrongStep,
)
from bot.domain.items import (
    ATTACHMENT_KINDS,
    MAX_AREA_CHARS,
    DraftView,
    IncomingAttachment,
    ItemKind,
    ItemSummary,
    PreparedItem,
    Step,
    check_attachment_size,
    clean_text,
    prepare_text,
    step_after_choices,
)
from bot.domain.media import FileCleaner, MediaKind, Refused
from bot.domain.policy import Policy
from bot.services.base import DRAFT_WINDOW, TIPS_WINDOW, UseCases
from storage import drafts, ratelimit
from storage.records import DraftRecord


@dataclass
class DraftState:
    category: str | None = None
    area: str | None = None
    contact_allowed: bool = True
    summaries: list[dict[str, Any]] = field(default_factory=list)
    delete_after: bool = False
    first_message_id: int | None = None
    campaign: str | None = None

    def dump(self) -> bytes:
        return json.dumps(
            {
                "category": self.category,
                "area": self.area,
                "contact_allowed": self.contact_allowed,
                "summaries": self.summaries,
                "delete_after": self.delete_after,
                "first_message_id": self.first_message_id,
                "campaign": self.campaign,
            },
            ensure_ascii=False,
        ).encode()

    @classmethod
    def load(cls, raw: bytes) -> DraftState:
        data = json.loads(raw)
        return cls(
            category=data.get("category"),
            area=data.get("area"),
            contact_allowed=bool(data.get("contact_allowed", True)),
            summaries=list(data.get("summaries", [])),
            delete_after=bool(data.get("delete_after", False)),
            first_message_id=data.get("first_message_id"),
            campaign=data.get("campaign"),
        )


async def draft_owners(windows: WindowKeys, user_id: int) -> list[bytes]:
    """Every pseudonym the tipster's draft may be keyed by: one per live hour's key, and the
    one a version before window keys used (its next write moves such a draft to the newest
    hour's)."""
    legacy = windows.vault.legacy_pseudonym(DRAFT_WINDOW, user_id)
    return [*await windows.pseudonyms(DRAFT_WINDOW, user_id), legacy]


async def draft_owners_to_write(windows: WindowKeys, user_id: int) -> tuple[bytes, list[bytes]]:
    """The pseudonym a draft written now is keyed by (the newest hour's), and every one it may
    still have."""
    newest = (await windows.current(DRAFT_WINDOW)).pseudonym(user_id)
    return newest, await draft_owners(windows, user_id)


def draft_key(vault: Vault, draft: DraftRecord) -> DataKey:
    return vault.unwrap(draft.uid, WrappedKey(draft.key_id, draft.wrapped_key))


def _summary(raw: dict[str, Any]) -> ItemSummary:
    return ItemSummary(
        kind=ItemKind(raw["kind"]),
        chars=int(raw.get("chars", 0)),
        preview=str(raw.get("preview", "")),
        extension=str(raw.get("extension", "")),
        metadata_removed=bool(raw.get("metadata_removed", True)),
    )


def item_payload(key: DataKey, sealed: bytes) -> dict[str, Any]:
    """Open a sealed item into its JSON payload."""
    result: dict[str, Any] = json.loads(key.open("item", sealed))
    return result


async def prepare_attachment(
    policy: Policy, cleaner: FileCleaner, incoming: IncomingAttachment
) -> PreparedItem:
    """Clean a photo, video or file (in a worker, by what its bytes are), or refuse it.

    Raises the IntakeError that tells the tipster why a file was refused.
    """
    check_attachment_size(policy, len(incoming.data))
    outcome = await cleaner.clean(incoming.data)
    if isinstance(outcome, Refused):
        raise outcome.error()
    if outcome.kind is MediaKind.IMAGE:
        kind = ItemKind.PHOTO
    elif outcome.kind is MediaKind.VIDEO and (
        incoming.kind is ItemKind.VIDEO or outcome.extension == ".mp4"
    ):
        kind = ItemKind.VIDEO
    else:
        kind = ItemKind.DOCUMENT
    removed = outcome.metadata_removed
    payload = {
        "kind": kind,
        "mime": outcome.mime,
        "extension": outcome.extension,
        "size": len(outcome.data),
        "metadata_removed": removed,
    }
    summary = {"kind": kind, "extension": outcome.extension, "metadata_removed": removed}
    return PreparedItem(payload, summary, outcome.data)


class IntakeService(UseCases):
    """The tipster's use cases; each one is a single transaction."""

    async def _owners(self, user_id: int) -> list[bytes]:
        return await draft_owners(self._windows, user_id)

    async def _owners_to_write(self, user_id: int) -> tuple[bytes, list[bytes]]:
        return await draft_owners_to_write(self._windows, user_id)

    def _key(self, draft: DraftRecord) -> DataKey:
        return draft_key(self._vault, draft)

    def _view(self, draft: DraftRecord, state: DraftState, *, resumed: bool = False) -> DraftView:
        return DraftView(
            step=Step(draft.step),
            language=draft.language,
            category=state.category,
            area=state.area,
            contact_allowed=state.contact_allowed,
            items=tuple(_summary(raw) for raw in state.summaries),
            resumed=resumed,
            delete_after=state.delete_after,
            campaign=state.campaign,
        )

    async def _tips_today(self, user_id: int) -> int:
        key = await self._windows.current(TIPS_WINDOW)
        day = timing.day(key.opens_at)
        async with self._db.read() as conn:
            return await ratelimit.count(conn, "tips", key.pseudonym(user_id), day)

    async def start(
        self,
        user_id: int,
        language: str,
        first_message_id: int | None = None,
        campaign: str | None = None,
    ) -> DraftView:
        """Open a new draft, or return the one already in progress (marked `resumed`).

        `first_message_id` is where the dialogue starts in the private chat: if the tipster
        asks for it, the dialogue from there to the summary is deleted once the tip is stored.
        `campaign` is a start link's parameter: a campaign of the policy begins the new draft
        with its category and area chosen, and the tip keeps its key; anything else is
        ignored. A draft in progress is returned as it is.
        """
        existing = await self.current(user_id)
        if existing is not None:
            return DraftView(**{**existing.__dict__, "resumed": True})
        used = await self._tips_today(user_id)
        if used >= self._policy.intake.max_tips_per_day:
            raise DailyLimitReached(limit=self._policy.intake.max_tips_per_day)
        uid = self._vault.new_uid()
        key, wrapped = self._vault.new_data_key(uid)
        now = self.now()
        state = DraftState(first_message_id=first_message_id)
        chosen = self._policy.campaign(campaign)
        if chosen is not None:
            state.campaign = chosen.key
            state.category = chosen.category
            state.area = f"key:{chosen.area}" if chosen.area else None
        owner, owners = await self._owners_to_write(user_id)
        record = DraftRecord(
            owner=owner,
            uid=uid,
            key_id=wrapped.key_id,
            wrapped_key=wrapped.blob,
            step=step_after_choices(state.category, state.area),
            language=language,
            sealed_state=key.seal("draft", state.dump()),
            created_at=now,
            updated_at=now,
        )
        async with self._db.transaction() as conn:
            if await drafts.find(conn, owners) is None:
                await drafts.insert(conn, record)
        view = await self.current(user_id)
        assert view is not None
        return view

    async def check_daily_limit(self, user_id: int) -> None:
        """Refuse (DailyLimitReached) when the tipster may send no more tips today: asked
        before a first message is downloaded and cleaned, as /report asks before a draft."""
        if await self._tips_today(user_id) >= self._policy.intake.max_tips_per_day:
            raise DailyLimitReached(limit=self._policy.intake.max_tips_per_day)

    async def start_with_part(
        self,
        user_id: int,
        language: str,
        items: Sequence[PreparedItem],
        first_message_id: int | None = None,
    ) -> DraftView:
        """Open a new draft whose first parts are one message the tipster wrote before any
        /report (a text, or a file and its caption), in one transaction: the draft and its parts
        together, or nothing. The draft then asks for the category, as /report does.

        What /report checks is checked here too, inside the transaction: the daily limit, and
        that no draft is open (DraftExists; the dialogue adds to an open draft instead, and one
        sender's updates are handled in order, so this only guards a bug). A redelivered update
        changes nothing: its first write transaction is refused by its markers.
        """
        tips_key = await self._windows.current(TIPS_WINDOW)
        owner, owners = await self._owners_to_write(user_id)
        uid = self._vault.new_uid()
        key, wrapped = self._vault.new_data_key(uid)
        now = self.now()
        state = DraftState(first_message_id=first_message_id)
        names = await self._seal_files(key, items)
        try:
            async with self._db.transaction() as conn:
                limit = self._policy.intake.max_tips_per_day
                day = timing.day(tips_key.opens_at)
                subject = tips_key.pseudonym(user_id)
                if await ratelimit.count(conn, "tips", subject, day) >= limit:
                    raise DailyLimitReached(limit=limit)
                if await drafts.find(conn, owners) is not None:
                    raise DraftExists()
                sealed = [self._seal_item(key, state, item) for item in items]
                record = DraftRecord(
                    owner=owner,
                    uid=uid,
                    key_id=wrapped.key_id,
                    wrapped_key=wrapped.blob,
                    step=Step.CATEGORY,
                    language=language,
                    sealed_state=key.seal("draft", state.dump()),
                    created_at=now,
                    updated_at=now,
                )
                await drafts.insert(conn, record)
                for item, name in zip(sealed, names, strict=True):
                    await drafts.add_item(conn, uid, item, name)
        except BaseException:
            await self._drop_files(names)
            raise
        return self._view(record, state)

    async def current(self, user_id: int) -> DraftView | None:
        owners = await self._owners(user_id)
        async with self._db.read() as conn:
            draft = await drafts.find(conn, owners)
        if draft is None:
            return None
        return self._view(
            draft, DraftState.load(self._key(draft).open("draft", draft.sealed_state))
        )

    async def _change(
        self,
        user_id: int,
        allowed: frozenset[Step],
        change: Callable[[DraftState], Step],
    ) -> DraftView:
        owner, owners = await self._owners_to_write(user_id)
        async with self._db.transaction() as conn:
            draft = await drafts.find(conn, owners)
            if draft is None:
                raise NoDraft()
            if Step(draft.step) not in allowed:
                raise WrongStep(step=draft.step)
            key = self._key(draft)
            state = DraftState.load(key.open("draft", draft.sealed_state))
            step = change(state)
            await drafts.update(
                conn,
                draft.owner,
                step=step,
                sealed_state=key.seal("draft", state.dump()),
                now=self.now(),
                new_owner=owner,
            )
        return self._view(DraftRecord(**{**draft.__dict__, "step": str(step)}), state)

    async def choose_category(self, user_id: int, category: str) -> DraftView:
        if self._policy.intake.category(category) is None:
            raise UnknownChoice()

        def change(state: DraftState) -> Step:
            state.category = category
            return step_after_choices(state.category, state.area)

        return await self._change(user_id, frozenset({Step.CATEGORY}), change)

    async def choose_area(
        self, user_id: int, *, area_key: str | None, typed: str | None
    ) -> DraftView:
        """Set the area from a policy button, from typed text, or leave it out (both None)."""
        area: str | None = None
        if area_key is not None:
            if self._policy.intake.area(area_key) is None:
                raise UnknownChoice()
            area = f"key:{area_key}"
        elif typed is not None:
            cleaned = " ".join(clean_text(typed).split())
            if not cleaned:
                raise EmptyText()
            if len(cleaned) > MAX_AREA_CHARS:
                raise AreaTooLong(limit=MAX_AREA_CHARS)
            area = f"text:{cleaned}"

        def change(state: DraftState) -> Step:
            state.area = area
            return Step.DESCRIBE

        return await self._change(user_id, frozenset({Step.AREA}), change)

    def _check_room(self, state: DraftState, attachment: bool) -> None:
        limits = self._policy.intake
        if len(state.summaries) >= limits.max_items:
            raise TooManyItems(limit=limits.max_items)
        if attachment:
            count = sum(1 for s in state.summaries if s["kind"] in ATTACHMENT_KINDS)
            if count >= limits.max_attachments:
                raise TooManyAttachments(limit=limits.max_attachments)

    def _seal_item(self, key: DataKey, state: DraftState, item: PreparedItem) -> bytes:
        """Check there is room for one more part, count it in the draft's state, and seal it."""
        self._check_room(state, attachment=item.blob is not None)
        state.summaries.append(item.summary)
        return key.seal("item", json.dumps(item.payload).encode())

    async def _seal_files(self, key: DataKey, items: Sequence[PreparedItem]) -> list[str | None]:
        """Seal and write the parts' files before the transaction, so outside the lock; the
        name each part's file got (None for a part without one)."""
        names: list[str | None] = [None] * len(items)
        try:
            for index, item in enumerate(items):
                if item.blob is not None:
                    fresh = self._blobs.new_name()
                    names[index] = fresh
                    await self._blobs.put(fresh, key.seal(f"blob:{fresh}", item.blob))
        except BaseException:
            await self._drop_files(names)
            raise
        return names

    async def _drop_files(self, names: Sequence[str | None]) -> None:
        for written in names:
            if written is not None:
                await self._blobs.delete(written)

    async def add_items(self, user_id: int, items: Sequence[PreparedItem]) -> DraftView:
        """Seal the parts of one message (a photo and its caption, say) into the draft in one
        transaction: all of them, or none when one is refused.

        Parts are taken at every step: while the dialogue asks for the category or the area a
        part is kept and the question stays (a tip written in several messages before the
        category was chosen loses none of them); on the summary it goes back to describing.
        """
        owner, owners = await self._owners_to_write(user_id)
        key: DataKey | None = None
        names: list[str | None] = [None] * len(items)
        if any(item.blob is not None for item in items):
            async with self._db.read() as conn:
                draft = await drafts.find(conn, owners)
            if draft is None:
                raise NoDraft()
            key = self._key(draft)
            names = await self._seal_files(key, items)
        try:
            async with self._db.transaction() as conn:
                draft = await drafts.find(conn, owners)
                if draft is None or (key is not None and draft.uid != key.uid):
                    raise NoDraft()
                key = key or self._key(draft)
                step = Step(draft.step)
                if step is Step.CONFIRM:
                    step = Step.DESCRIBE
                state = DraftState.load(key.open("draft", draft.sealed_state))
                for item, name in zip(items, names, strict=True):
                    await drafts.add_item(conn, draft.uid, self._seal_item(key, state, item), name)
                await drafts.update(
                    conn,
                    draft.owner,
                    step=step,
                    sealed_state=key.seal("draft", state.dump()),
                    now=self.now(),
                    new_owner=owner,
                )
        except BaseException:
            await self._drop_files(names)
            raise
        return self._view(DraftRecord(**{**draft.__dict__, "step": str(step)}), state)

    def check_attachment_size(self, size: int | None) -> None:
        """Refuse before downloading when Telegram already says the file is too big."""
        check_attachment_size(self._policy, size)

    async def add(self, user_id: int, item: PreparedItem) -> DraftView:
        """Seal a prepared text, location or attachment into the draft."""
        return await self.add_items(user_id, [item])

    async def add_text(self, user_id: int, text: str) -> DraftView:
        return await self.add(user_id, prepare_text(self._policy, text))

    async def review(self, user_id: int) -> DraftView:
        """Move to the summary; there must be something to send."""

        def change(state: DraftState) -> Step:
            if not state.summaries:
                raise NothingToSubmit()
            return Step.CONFIRM

        return await self._change(user_id, frozenset({Step.DESCRIBE, Step.CONFIRM}), change)

    async def add_more(self, user_id: int) -> DraftView:
        return await self._change(
            user_id, frozenset({Step.CONFIRM, Step.DESCRIBE}), lambda state: Step.DESCRIBE
        )

    async def set_delete_after(self, user_id: int, delete: bool) -> DraftView:
        """Whether the bot deletes this dialogue from the chat once the tip is stored."""

        def change(state: DraftState) -> Step:
            state.delete_after = delete
            return Step.CONFIRM

        return await self._change(user_id, frozenset({Step.CONFIRM}), change)

    async def set_contact(self, user_id: int, allowed: bool) -> DraftView:
        def change(state: DraftState) -> Step:
            state.contact_allowed = allowed
            return Step.CONFIRM

        return await self._change(user_id, frozenset({Step.CONFIRM}), change)

    async def cancel(self, user_id: int) -> bool:
        """Delete the draft, its items and its files; True when there was one."""
        owners = await self._owners(user_id)
        async with self._db.transaction() as conn:
            draft = await drafts.find(conn, owners)
            if draft is None:
                return False
            items = await drafts.items(conn, draft.uid)
            await drafts.delete_items(conn, draft.uid)
            await drafts.delete(conn, draft.owner)
        self._on_erased()
        for item in items:
            if item.blob_name:
                await self._blobs.delete(item.blob_name)
        return True

    async def purge_stale_drafts(self) -> int:
        """Delete drafts untouched for longer than the policy allows, with their files."""
        cutoff = self.now() - self._policy.intake.draft_ttl_hours * 3600
        async with self._db.transaction() as conn:
            stale = await drafts.list_stale(conn, cutoff)
            names: list[str] = []
            for draft in stale:
                names += [i.blob_name for i in await drafts.items(conn, draft.uid) if i.blob_name]
                await drafts.delete_items(conn, draft.uid)
                await drafts.delete(conn, draft.owner)
        if stale:
            self._on_erased()
        for name in names:
            await self._blobs.delete(name)
        return len(stale)
