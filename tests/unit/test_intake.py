"""Intake rules against a real SQLite file: steps, limits, receipts, contact, cancel, purge."""

from __future__ import annotations

import pytest

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.domain.errors import (
    AttachmentTooLarge,
    DailyLimitReached,
    DraftExists,
    FileActive,
    FileUnreadable,
    NoDraft,
    NothingToSubmit,
    ReceiptMalformed,
    ReceiptRateLimited,
    ReceiptUnknown,
    TextTooLong,
    TooManyAttachments,
    TooManyItems,
    UnknownChoice,
    WrongStep,
)
from bot.domain.items import IncomingAttachment, ItemKind, Step, prepare_text
from bot.domain.policy import load as load_policy
from bot.domain.report import ReportStatus
from bot.services import intake as intake_module
from bot.services.intake import IntakeService, prepare_attachment
from bot.services.receipts import ReceiptService
from storage import drafts, reports
from storage.blobs import BlobStore
from storage.db import Database
from tests import files
from tests.images import has_metadata, jpeg_with_gps
from tests.services import InProcessCleaner, service_env

REVIEW_CHAT = -1001
USER = 555000111


async def _attach(service: IntakeService, incoming: IncomingAttachment):
    """Clean a file as the handler does (here in-process), then add it to the draft."""
    prepared = await prepare_attachment(service.policy, InProcessCleaner(), incoming)
    return await service.add(USER, prepared)


class Clock:
    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def env(tmp_path, database_url):
    db = await Database.open(tmp_path, database_url)
    await db.migrate()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    clock = Clock()
    policy = load_policy(
        None,
        {
            "intake": {
                "max_items": 4,
                "max_attachments": 2,
                "max_tips_per_day": 2,
                "max_text_chars": 50,
                "max_receipt_failures_per_hour": 3,
                "max_attachment_bytes": 100_000,
            },
            "review": {"post_delay_max_seconds": 60},
        },
    )
    wakes: list[int] = []
    env = service_env(
        db,
        vault,
        blobs,
        policy,
        review_chat_id=REVIEW_CHAT,
        on_outbox=lambda: wakes.append(1),
        clock=clock,
    )
    service = IntakeService(env)
    receipts = ReceiptService(env)
    yield service, db, blobs, clock, wakes, vault, receipts
    await db.close()


async def _ready_to_submit(service: IntakeService, user: int = USER) -> None:
    await service.start(user, "en")
    await service.choose_category(user, "drug_trafficking")
    await service.choose_area(user, area_key=None, typed="Harbour street")
    await service.add_text(user, "Dealing behind the market at night")
    await service.review(user)


async def test_a_full_draft_becomes_a_report_with_a_working_receipt(env) -> None:
    service, db, _, clock, wakes, _, receipts = env
    await _ready_to_submit(service)
    submission = await receipts.submit(USER, chat_id=USER)
    assert submission.reference.startswith("T-20")
    assert wakes == [1]
    assert await service.current(USER) is None
    view = await receipts.status(999, submission.receipt.lower().replace("-", " "))
    assert view.reference == submission.reference
    assert view.status is ReportStatus.NEW
    assert view.contact_stored
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all(
            "SELECT not_before, created_at, kind FROM outbox WHERE kind = 'tip_posted'"
        )
        ((not_before, created, _kind),) = cursor_rows
        cursor_rows = await conn.fetch_all("SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'")
        assert cursor_rows[0][0] == 1, "the receipt goes out through the outbox"
    assert created % 60 == 0, "stored times are rounded to the minute"
    assert 0 <= not_before - clock.now <= 60


async def test_references_count_up_per_year(env) -> None:
    service, _, _, _, _, _, receipts = env
    await _ready_to_submit(service, 1)
    first = await receipts.submit(1, 1)
    await _ready_to_submit(service, 2)
    second = await receipts.submit(2, 2)
    assert int(second.reference[-4:]) == int(first.reference[-4:]) + 1


async def test_steps_are_enforced(env) -> None:
    service, _, _, _, _, _, receipts = env
    with pytest.raises(NoDraft):
        await service.add_text(USER, "hello")
    await service.start(USER, "en")
    with pytest.raises(UnknownChoice):
        await service.choose_category(USER, "not_a_category")
    await service.choose_category(USER, "other")
    with pytest.raises(WrongStep):
        await service.choose_category(USER, "other")
    await service.choose_area(USER, area_key=None, typed=None)
    with pytest.raises(NothingToSubmit):
        await service.review(USER)
    with pytest.raises(WrongStep):
        await receipts.submit(USER, USER)
    # Parts written before the category is chosen are kept, and the question stays.
    await service.start(USER + 1, "en")
    early = await service.add_text(USER + 1, "written before the category")
    assert early.step is Step.CATEGORY and len(early.items) == 1


async def test_start_resumes_an_existing_draft(env) -> None:
    service, *_ = env
    await service.start(USER, "en")
    await service.choose_category(USER, "other")
    again = await service.start(USER, "en")
    assert again.resumed and again.step is Step.AREA and again.category == "other"


async def test_limits_refuse_and_change_nothing(env) -> None:
    service, *_ = env
    await service.start(USER, "en")
    await service.choose_category(USER, "other")
    await service.choose_area(USER, area_key=None, typed=None)
    with pytest.raises(TextTooLong):
        await service.add_text(USER, "x" * 51)
    assert (await service.current(USER)).items == ()
    with pytest.raises(AttachmentTooLarge):
        service.check_attachment_size(100_001)
    photo = IncomingAttachment(ItemKind.PHOTO, jpeg_with_gps())
    await _attach(service, photo)
    await _attach(service, photo)
    with pytest.raises(TooManyAttachments):
        await _attach(service, photo)
    await service.add_text(USER, "one")
    await service.add_text(USER, "two")
    with pytest.raises(TooManyItems):
        await service.add_text(USER, "three")
    assert len((await service.current(USER)).items) == 4


async def test_files_are_cleaned_by_their_bytes_and_only_text_is_flagged(env) -> None:
    service, db, blobs, _, _, vault, *_ = env
    await service.start(USER, "en")
    await service.choose_category(USER, "other")
    await service.choose_area(USER, area_key=None, typed=None)
    raw = jpeg_with_gps()
    assert has_metadata(raw)
    await _attach(service, IncomingAttachment(ItemKind.DOCUMENT, raw))
    await _attach(service, IncomingAttachment(ItemKind.DOCUMENT, files.pdf()))
    with pytest.raises(FileUnreadable):
        await _attach(service, IncomingAttachment(ItemKind.DOCUMENT, b"%PDF-1.4 author"))
    with pytest.raises(FileActive):
        await _attach(service, IncomingAttachment(ItemKind.PHOTO, files.EXE))
    view = await service.current(USER)
    photo, pdf = view.items
    assert photo.kind is ItemKind.PHOTO and photo.metadata_removed
    assert pdf.kind is ItemKind.DOCUMENT and pdf.metadata_removed and pdf.extension == ".pdf"
    assert not view.has_unscrubbed_files
    text = await prepare_attachment(
        service.policy, InProcessCleaner(), IncomingAttachment(ItemKind.DOCUMENT, files.TEXT)
    )
    assert text.summary == {
        "kind": ItemKind.DOCUMENT,
        "extension": ".txt",
        "metadata_removed": False,
    }
    owners = await intake_module.draft_owners(service._windows, USER)
    async with db.read() as conn:
        draft = await drafts.find(conn, owners)
        items = await drafts.items(conn, draft.uid)
    key = vault.unwrap(draft.uid, intake_module.WrappedKey(draft.key_id, draft.wrapped_key))
    stored = key.open(f"blob:{items[0].blob_name}", await blobs.get(items[0].blob_name))
    assert not has_metadata(stored)


async def test_daily_limit_counts_submissions_under_a_pseudonym(env) -> None:
    service, db, _, _, _, _, receipts = env
    for _ in range(2):
        await _ready_to_submit(service)
        await receipts.submit(USER, USER)
    with pytest.raises(DailyLimitReached):
        await service.start(USER, "en")
    async with db.read() as conn:
        cursor_rows = await conn.fetch_all("SELECT subject FROM rate_counters")
        subjects = [bytes(row[0]) for row in cursor_rows]
    assert subjects and all(str(USER).encode() not in s for s in subjects)


async def test_daily_limit_resets_the_next_day(env) -> None:
    service, _, _, clock, _, _, receipts = env
    for _ in range(2):
        await _ready_to_submit(service)
        await receipts.submit(USER, USER)
    clock.now += 86_400
    await service.start(USER, "en")


async def test_wrong_receipts_are_rate_limited(env) -> None:
    service, _, _, clock, _, _, receipts = env
    await _ready_to_submit(service)
    good = (await receipts.submit(USER, USER)).receipt
    with pytest.raises(ReceiptMalformed):
        await receipts.status(7, "hello")
    for _ in range(2):
        with pytest.raises(ReceiptUnknown):
            await receipts.status(7, "0000-0000-0000-0000-0000")
    with pytest.raises(ReceiptRateLimited):
        await receipts.status(7, good)
    assert (await receipts.status(8, good)).status is ReportStatus.NEW
    clock.now += 3600
    assert (await receipts.status(7, good)).status is ReportStatus.NEW


async def test_no_contact_stores_nothing_and_forget_erases_contact(env) -> None:
    service, _db, _, _, _, _, receipts = env
    await _ready_to_submit(service, 1)
    await service.set_contact(1, allowed=False)
    quiet = await receipts.submit(1, 1)
    assert not quiet.contact_allowed
    assert not (await receipts.status(1, quiet.receipt)).contact_stored
    assert await receipts.forget(1, quiet.receipt) is False
    await _ready_to_submit(service, 2)
    loud = await receipts.submit(2, 2)
    assert (await receipts.status(2, loud.receipt)).contact_stored
    assert await receipts.forget(3, loud.receipt) is True
    assert not (await receipts.status(2, loud.receipt)).contact_stored


async def test_cancel_removes_draft_items_and_files(env, tmp_path) -> None:
    service, db, *_ = env
    await service.start(USER, "en")
    await service.choose_category(USER, "other")
    await service.choose_area(USER, area_key=None, typed=None)
    await _attach(service, IncomingAttachment(ItemKind.PHOTO, jpeg_with_gps()))
    assert any((tmp_path / "blobs").rglob("*"))
    assert await service.cancel(USER) is True
    assert await service.cancel(USER) is False
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    async with db.read() as conn:
        for table in ("drafts", "items", "reports", "outbox"):
            cursor_rows = await conn.fetch_all(f"SELECT COUNT(*) FROM {table}")
            assert cursor_rows[0][0] == 0, table


async def test_stale_drafts_are_purged(env) -> None:
    service, _, _, clock, *_ = env
    await service.start(USER, "en")
    clock.now += 23 * 3600
    assert await service.purge_stale_drafts() == 0
    clock.now += 2 * 3600
    assert await service.purge_stale_drafts() == 1
    assert await service.current(USER) is None


async def _window_keys(db: Database, purpose: str) -> list[str]:
    async with db.read() as conn:
        rows = await conn.fetch_all(
            "SELECT name FROM window_keys WHERE purpose = ? ORDER BY opens_at", [purpose]
        )
    return [row[0] for row in rows]


async def test_a_draft_moves_to_the_newest_hours_key_and_spent_keys_are_deleted(env) -> None:
    """Look-ups try every key still kept, so a draft spans hours; each write moves it to the
    newest hour's pseudonym, and a key is deleted once its hour and the draft's lifetime (24 h)
    are over, as is the day's tip-counter key once its day is."""
    service, db, _, clock, *_ = env
    clock.now = 1_795_000_000 - 1_795_000_000 % 86_400 + 3600 + 60  # 01:01 UTC
    await service.start(USER, "en")
    [first] = await _window_keys(db, "draft")
    assert len(await _window_keys(db, "tips")) == 1  # the limit was checked
    clock.now += 5 * 3600
    assert await service.current(USER) is not None, "found under the earlier hour's key"
    await service.choose_category(USER, "other")
    first_key, newest = await _window_keys(db, "draft")
    assert first_key == first
    newest_key = (await service._windows.live("draft"))[0]
    async with db.read() as conn:
        [owner] = await conn.fetch_all("SELECT owner FROM drafts")
    assert bytes(owner[0]) == newest_key.pseudonym(USER), "the write moved it to this hour's key"
    clock.now += 20 * 3600  # the first hour ended 25 h ago: its key goes; the draft stays found
    assert await service._windows.expire() == 2  # that hour's key, and yesterday's tips key
    assert await _window_keys(db, "draft") == [newest]
    assert await _window_keys(db, "tips") == []
    assert (await service.current(USER)).category == "other"


async def test_a_draft_written_before_window_keys_is_found_and_moved_to_them(env) -> None:
    service, db, _, _, _, vault, _ = env
    await service.start(USER, "en")
    legacy = vault.legacy_pseudonym("draft", USER)
    async with db.transaction() as conn:  # keyed as the version before window keys keyed it
        await conn.run("UPDATE drafts SET owner = ?", (legacy,))
    assert await service.current(USER) is not None
    await service.choose_category(USER, "other")
    newest = (await service._windows.live("draft"))[0].pseudonym(USER)
    async with db.read() as conn:
        [owner] = await conn.fetch_all("SELECT owner FROM drafts")
    assert bytes(owner[0]) == newest != legacy


async def test_report_row_holds_no_plain_ids(env) -> None:
    service, db, _, _, _, _, receipts = env
    await _ready_to_submit(service)
    submission = await receipts.submit(USER, chat_id=USER)
    async with db.read() as conn:
        report = await reports.by_receipt(conn, [])
        assert report is None
        cursor_rows = await conn.fetch_all("SELECT * FROM reports")
        row = cursor_rows[0]
    values = [row[k] for k in row.keys()]
    assert USER not in values and str(USER) not in [str(v) for v in values]
    assert submission.receipt.replace("-", "") not in [str(v) for v in values]


def _files(blobs) -> list[str]:
    return sorted(path.name for path in blobs.root.rglob("*") if path.is_file())


async def test_a_photo_and_its_caption_go_in_together_or_not_at_all(env) -> None:
    """One message, one transaction: a crash between a photo and its caption can no longer
    leave the draft with the photo alone, and a refusal leaves neither (nor their files)."""
    service, _, blobs, *_ = env
    await service.start(USER, "en")
    await service.choose_category(USER, "other")
    await service.choose_area(USER, area_key=None, typed=None)
    policy = service.policy
    photo = await prepare_attachment(
        policy, InProcessCleaner(), IncomingAttachment(ItemKind.PHOTO, jpeg_with_gps())
    )
    caption = prepare_text(policy, "the car behind the market")
    view = await service.add_items(USER, [photo, caption])
    assert [item.kind for item in view.items] == [ItemKind.PHOTO, ItemKind.TEXT]
    files_before = _files(blobs)
    await service.add_items(USER, [caption])  # three items now; the policy allows four
    with pytest.raises(TooManyItems):
        await service.add_items(USER, [photo, caption])  # the second part does not fit
    assert len((await service.current(USER)).items) == 3
    assert _files(blobs) == files_before, "no orphan file"


async def _photo_and_caption(service: IntakeService, caption: str = "the van"):
    policy = service.policy
    photo = await prepare_attachment(
        policy, InProcessCleaner(), IncomingAttachment(ItemKind.PHOTO, jpeg_with_gps())
    )
    return [photo, prepare_text(policy, caption)]


async def test_a_first_message_starts_a_draft_that_asks_for_the_category(env) -> None:
    """A photo and its caption sent before any /report are the draft's first two parts; the
    draft then goes through the same steps as one /report started, to a report."""
    service, db, blobs, _, _, _, receipts = env
    view = await service.start_with_part(USER, "zh", await _photo_and_caption(service), 41)
    assert view.step is Step.CATEGORY and not view.resumed and view.language == "zh"
    assert [item.kind for item in view.items] == [ItemKind.PHOTO, ItemKind.TEXT]
    assert await service.current(USER) == view
    assert len(_files(blobs)) == 1
    # While the category is asked, more parts are kept and the question stays.
    more = await service.add_text(USER, "every night at ten")
    assert more.step is Step.CATEGORY and len(more.items) == 3
    await service.choose_category(USER, "drug_trafficking")
    at_area = await service.add_items(USER, [prepare_text(service.policy, "a location, say")])
    assert at_area.step is Step.AREA and len(at_area.items) == 4
    described = await service.choose_area(USER, area_key=None, typed=None)
    assert described.step is Step.DESCRIBE
    await service.review(USER)
    submission = await receipts.submit(USER, USER, last_message_id=50)
    async with db.read() as conn:
        report = await reports.by_reference(conn, submission.reference)
        assert report is not None
        assert len(await drafts.items(conn, report.uid)) == 4


async def test_a_first_message_is_refused_as_report_would_be_and_leaves_nothing(env) -> None:
    """The daily limit, an open draft and the draft's limits refuse it; no draft, part or file
    is left behind."""
    service, _, blobs, _, _, _, receipts = env
    policy = service.policy
    too_many = [prepare_text(policy, f"part {n}") for n in range(5)]  # the policy allows 4
    with pytest.raises(TooManyItems):
        await service.start_with_part(USER, "en", too_many)
    assert await service.current(USER) is None and _files(blobs) == []

    await service.start(USER, "en")
    with pytest.raises(DraftExists):
        await service.start_with_part(USER, "en", await _photo_and_caption(service))
    assert (await service.current(USER)).items == () and _files(blobs) == []
    await service.cancel(USER)

    for _ in range(2):
        await _ready_to_submit(service)
        await receipts.submit(USER, USER)
    with pytest.raises(DailyLimitReached):
        await service.check_daily_limit(USER)
    with pytest.raises(DailyLimitReached):
        await service.start_with_part(USER, "en", await _photo_and_caption(service))
    assert await service.current(USER) is None and _files(blobs) == []
    await service.check_daily_limit(USER + 1)  # someone else may still


async def test_a_first_message_is_one_write_and_a_redelivery_changes_nothing(env) -> None:
    """Starting the draft and adding the first part are one transaction, so they fit in one
    update; the same update again (a crash before Telegram was told) makes no second draft."""
    from bot.services.unit import Inbound, SecondWrite, handling
    from storage.inbox import AlreadyApplied

    service, db, blobs, *_ = env
    parts = await _photo_and_caption(service)
    with handling(Inbound([b"update-first"], 1)):
        view = await service.start_with_part(USER, "en", parts, 7)
        with pytest.raises(SecondWrite):
            await service.add_text(USER, "a second write under the same update")
    assert len(view.items) == 2
    with handling(Inbound([b"update-first"], 2)):  # redelivered, as after a crash
        with pytest.raises(AlreadyApplied):
            await service.add_items(USER, parts)  # what the dialogue does with an open draft
    async with db.read() as conn:
        drafts = await conn.fetch_one("SELECT COUNT(*) FROM drafts")
        items = await conn.fetch_one("SELECT COUNT(*) FROM items")
    assert drafts is not None and drafts[0] == 1
    assert items is not None and items[0] == 2
    assert len(_files(blobs)) == 1, "the redelivered photo's file was removed"
