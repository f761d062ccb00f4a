"""The callback-data codec: today's wire format byte for byte, round trips, hostile data."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.report import Action
from bot.telegram import callbacks
from bot.telegram.callbacks import (
    AddMore,
    AnswerButton,
    AnswerDone,
    AreaChoice,
    Callback,
    CancelTip,
    CategoryChoice,
    ContactChoice,
    FinanceDecision,
    IdChecked,
    NoContactButton,
    ProposeReward,
    RecordOutcome,
    ReviewDraft,
    ReviewMove,
    ShowPromises,
    SkipArea,
    StartReport,
    SubmitTip,
    TierChoice,
    WipeChoice,
    decode,
    encode,
    matching,
)

REF = "T-2026-0042"

# Every kind of data the bot has put on buttons, and the button it stands for.
POSTED: list[tuple[str, Callback]] = [
    *((f"v1:r:{a.value}:{REF}", ReviewMove(a, REF)) for a in Action),
    (f"v1:r:nocontact:{REF}", NoContactButton(REF)),
    (f"v1:r:reward:{REF}", ProposeReward(REF)),
    (f"v1:r:outcome:{REF}", RecordOutcome(REF)),
    (f"v1:w:factory_raid:{REF}", TierChoice("factory_raid", REF)),
    ("v1:f:approve:17", FinanceDecision(approve=True, reward_id=17)),
    ("v1:f:refuse:17", FinanceDecision(approve=False, reward_id=17)),
    ("v1:f:idok:900123", IdChecked(900123)),
    ("v1:a:Zk3_-q9PLm0aaBBccDDeeF", AnswerButton("Zk3_-q9PLm0aaBBccDDeeF")),
    ("v1:a:done", AnswerDone()),
    ("v1:t:report", StartReport()),
    ("v1:t:promises", ShowPromises()),
    ("v1:t:cat:drug_trafficking", CategoryChoice("drug_trafficking")),
    ("v1:t:area:north", AreaChoice("north")),
    ("v1:t:area-skip", SkipArea()),
    ("v1:t:review", ReviewDraft()),
    ("v1:t:submit", SubmitTip()),
    ("v1:t:contact:yes", ContactChoice(allowed=True)),
    ("v1:t:contact:no", ContactChoice(allowed=False)),
    ("v1:t:wipe:yes", WipeChoice(delete_after=True)),
    ("v1:t:wipe:no", WipeChoice(delete_after=False)),
    ("v1:t:more", AddMore()),
    ("v1:t:cancel", CancelTip()),
]


@pytest.mark.parametrize(("data", "button"), POSTED, ids=[d for d, _ in POSTED])
def test_data_already_posted_decodes_and_is_encoded_byte_for_byte(
    data: str, button: Callback
) -> None:
    assert decode(data) == button
    assert encode(button) == data


def test_every_kind_of_button_has_posted_data() -> None:
    assert {type(b) for _, b in POSTED} == set(Callback.__args__)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "v1:",
        "v1:t:",
        "v1:a:",
        "v9:zz",
        "v1:z:report",
        "v2:t:report",
        "v1:r:explode:" + REF,
        "v1:r:" + "x" * 50,
        "v1:r:verify:T-26-1",
        "v1:r:verify:" + REF + "\n",
        "v1:r:verify:T-٢٠٢٦-0042",
        "v1:r:verify",
        "v1:w:factory raid:" + REF,
        "v1:w:9factory:" + REF,
        "v1:w:factory",
        "v1:f:approve:",
        "v1:f:approve:-1",
        "v1:f:approve:٣",
        "v1:f:approve:1234567890123",
        "v1:f:pay:17",
        "v1:a:hello world",
        "v1:a:" + "A" * 60,
        "v1:t:contact:maybe",
        "v1:t:wipe:",
        "v1:t:review:x",
        "v1:t:submit\n",
        "v1:t:cat",
        "v1:t:area",
        "v1:t:cat:" + "é" * 28,
    ],
)
def test_malformed_unknown_or_too_long_data_decodes_to_none(data: str) -> None:
    assert decode(data) is None


def test_decode_refuses_what_is_not_text() -> None:
    assert decode(b"v1:t:report") is None  # type: ignore[arg-type]
    assert decode(None) is None  # type: ignore[arg-type]


def test_answer_tokens_up_to_the_telegram_limit() -> None:
    assert decode("v1:a:" + "A" * 59) == AnswerButton("A" * 59)
    with pytest.raises(ValueError, match="64 bytes"):
        encode(AnswerButton("A" * 60))


def test_encode_refuses_data_over_64_bytes() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode(CategoryChoice("é" * 28))
    with pytest.raises(ValueError, match="64 bytes"):
        encode(AreaChoice("\ud800"))
    assert len(encode(CategoryChoice("é" * 27)).encode()) == 63


@pytest.mark.parametrize(
    "button",
    [
        ReviewMove(Action.CLAIM, "T-1"),
        NoContactButton("t-2026-0042"),
        TierChoice("two words", REF),
        FinanceDecision(approve=True, reward_id=-1),
        IdChecked(10**12),
        AnswerButton("done"),
        AnswerButton("not a token"),
    ],
)
def test_encode_refuses_fields_its_format_cannot_carry(button: Callback) -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        encode(button)


def test_staff_button_words_are_not_review_actions() -> None:
    assert {"nocontact", "reward", "outcome"}.isdisjoint(a.value for a in Action)


references = st.from_regex(r"T-[0-9]{4}-[0-9]{4,7}", fullmatch=True)
keys = st.text(st.characters(exclude_categories=("Cs",)), max_size=13)
buttons: st.SearchStrategy[Callback] = st.one_of(
    st.builds(ReviewMove, st.sampled_from(Action), references),
    st.builds(NoContactButton, references),
    st.builds(ProposeReward, references),
    st.builds(RecordOutcome, references),
    st.builds(
        TierChoice, st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,31}", fullmatch=True), references
    ),
    st.builds(FinanceDecision, st.booleans(), st.integers(0, 10**12 - 1)),
    st.builds(IdChecked, st.integers(0, 10**12 - 1)),
    st.builds(
        AnswerButton,
        st.from_regex(r"[A-Za-z0-9_-]{1,59}", fullmatch=True).filter(lambda t: t != "done"),
    ),
    st.builds(CategoryChoice, keys),
    st.builds(AreaChoice, keys),
    st.builds(ContactChoice, st.booleans()),
    st.builds(WipeChoice, st.booleans()),
    st.sampled_from(
        [
            AnswerDone(),
            StartReport(),
            ShowPromises(),
            SkipArea(),
            ReviewDraft(),
            SubmitTip(),
            AddMore(),
            CancelTip(),
        ]
    ),
)


@given(buttons)
def test_every_button_round_trips_within_the_limit(button: Callback) -> None:
    data = encode(button)
    assert 1 <= len(data.encode()) <= callbacks.MAX_BYTES
    assert data.startswith("v1:")
    assert decode(data) == button


PATTERNS = {
    ReviewMove: callbacks.REVIEW_PATTERN,
    NoContactButton: callbacks.REVIEW_PATTERN,
    ProposeReward: callbacks.REVIEW_PATTERN,
    RecordOutcome: callbacks.REVIEW_PATTERN,
    TierChoice: callbacks.TIER_PATTERN,
    FinanceDecision: callbacks.FINANCE_PATTERN,
    IdChecked: callbacks.FINANCE_PATTERN,
    AnswerButton: callbacks.ANSWER_PATTERN,
    AnswerDone: callbacks.ANSWER_PATTERN,
}


@given(buttons)
def test_each_button_falls_under_exactly_one_prefix_pattern(button: Callback) -> None:
    data = encode(button)
    expected = PATTERNS.get(type(button), callbacks.TIPSTER_PATTERN)
    all_patterns = set(PATTERNS.values()) | {callbacks.TIPSTER_PATTERN}
    assert [p for p in all_patterns if re.match(p, data)] == [expected]


hostile = st.one_of(
    st.text(),
    st.text(st.characters(codec=None, exclude_categories=())),
    st.binary(max_size=80).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.tuples(
        st.sampled_from(["v1:", "v1:r:", "v1:w:", "v1:f:", "v1:a:", "v1:t:", "v1:t:cat:"]),
        st.text(max_size=70),
    ).map("".join),
)


@given(hostile)
def test_decode_never_raises_and_what_it_accepts_encodes_again(data: str) -> None:
    button = decode(data)
    if button is not None:
        assert decode(encode(button)) == button


def test_matching_is_a_pattern_for_some_kinds_only() -> None:
    area = matching(AreaChoice, SkipArea)
    assert area("v1:t:area:north")
    assert area("v1:t:area-skip")
    assert not area("v1:t:cat:north")
    assert not area("v1:t:area-skip\n")
    assert not area(None)
