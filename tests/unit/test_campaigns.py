"""Campaign links in the services: a start link's campaign chooses the new draft's category
and area, the report keeps only its key, and anything else starts a draft as usual."""

from __future__ import annotations

import pytest

from bot.crypto.vault import KeyRing, Vault, new_master_key_text
from bot.domain.items import Step
from bot.domain.policy import load as load_policy
from bot.services.intake import IntakeService
from bot.services.receipts import ReceiptService
from storage.blobs import BlobStore
from storage.db import Database
from tests.services import service_env

REVIEW_CHAT = -1001
NORTH_CHAT = -1009
USER = 555000222

POLICY = {
    "intake": {
        "areas": [
            {"key": "north", "en": "North district", "zh": "北区", "level": "district"},
            {"key": "south", "en": "South district", "level": "district"},
        ]
    },
    "review": {
        "post_delay_max_seconds": 0,
        "routes": [{"chat_id": NORTH_CHAT, "areas": ["north"]}],
    },
    "campaigns": [
        {
            "key": "north-venues",
            "en": "North: drug venues",
            "zh": "北区：吸毒场所",
            "category": "drug_use_venue",
            "area": "north",
        },
        {"key": "roads", "en": "Drugged driving", "category": "drugged_driving"},
        {"key": "south_only", "en": "South district", "area": "south"},
        {"key": "plain", "en": "Nothing chosen"},
    ],
}


@pytest.fixture
async def services(tmp_path):
    db = await Database.open(tmp_path)
    await db.migrate()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    vault = Vault(KeyRing.from_texts([new_master_key_text()]))
    env = service_env(db, vault, blobs, load_policy(None, POLICY), review_chat_id=REVIEW_CHAT)
    yield IntakeService(env), ReceiptService(env), db
    await db.close()


async def _campaign_of(db: Database, reference: str) -> tuple[str | None, str, int]:
    async with db.read() as conn:
        async with conn.execute(
            "SELECT campaign, category, review_chat_id FROM reports WHERE reference = ?",
            [reference],
        ) as cursor:
            row = await cursor.fetchone()
    assert row is not None
    return row[0], row[1], row[2]


async def test_a_campaign_chooses_category_and_area_and_the_report_keeps_its_key(
    services,
) -> None:
    intake, receipts, db = services
    view = await intake.start(USER, "zh", campaign="north-venues")
    assert (view.step, view.category, view.area) == (Step.DESCRIBE, "drug_use_venue", "key:north")
    assert view.campaign == "north-venues" and not view.resumed
    await intake.add_text(USER, "Needles in the stairwell every night")
    await intake.review(USER)
    submission = await receipts.submit(USER, chat_id=USER)
    # The key only, the campaign's category, and the district's own review chat (its route).
    assert await _campaign_of(db, submission.reference) == (
        "north-venues",
        "drug_use_venue",
        NORTH_CHAT,
    )


@pytest.mark.parametrize(
    ("parameter", "step", "category", "area"),
    [
        ("roads", Step.AREA, "drugged_driving", None),
        ("south_only", Step.CATEGORY, None, "key:south"),
        ("plain", Step.CATEGORY, None, None),
    ],
)
async def test_what_a_campaign_leaves_open_is_asked_as_usual(
    services, parameter: str, step: Step, category: str | None, area: str | None
) -> None:
    intake, _, _ = services
    view = await intake.start(USER, "en", campaign=parameter)
    assert (view.step, view.category, view.area, view.campaign) == (step, category, area, parameter)
    if step is Step.CATEGORY:
        after = await intake.choose_category(USER, "other")
        # An area the campaign chose is not asked again.
        assert after.step is (Step.DESCRIBE if area else Step.AREA) and after.area == area


@pytest.mark.parametrize(
    "parameter", [None, "", "unknown", "north venues", "NORTH-VENUES", "x" * 65, "北区"]
)
async def test_an_unknown_or_malformed_parameter_starts_a_plain_draft(
    services, parameter: str | None
) -> None:
    intake, receipts, db = services
    view = await intake.start(USER, "en", campaign=parameter)
    assert (view.step, view.category, view.area, view.campaign) == (
        Step.CATEGORY,
        None,
        None,
        None,
    )
    await intake.choose_category(USER, "other")
    await intake.choose_area(USER, area_key=None, typed=None)
    await intake.add_text(USER, "A plain tip")
    await intake.review(USER)
    submission = await receipts.submit(USER, chat_id=USER)
    assert await _campaign_of(db, submission.reference) == (None, "other", REVIEW_CHAT)


async def test_a_link_does_not_change_a_draft_in_progress(services) -> None:
    intake, _, _ = services
    await intake.start(USER, "en")
    await intake.choose_category(USER, "other")
    again = await intake.start(USER, "en", campaign="north-venues")
    assert again.resumed and again.step is Step.AREA
    assert (again.category, again.area, again.campaign) == ("other", None, None)
