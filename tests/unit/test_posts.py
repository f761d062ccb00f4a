"""Long tips are split into messages Telegram accepts, without breaking an HTML entity."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.posts import MESSAGE_LIMIT, escaped_chunks, pack_blocks


@given(st.text(alphabet=st.sampled_from("ab<>&\"' 中\n"), max_size=3000), st.integers(8, 500))
def test_escaped_chunks_round_trip_and_respect_the_limit(text: str, limit: int) -> None:
    chunks = escaped_chunks(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert "".join(html.unescape(chunk) for chunk in chunks) == text


def test_packing_fills_messages_up_to_the_limit() -> None:
    blocks = ["h" * 100, *escaped_chunks("x" * 20_000, MESSAGE_LIMIT - 64)]
    messages = pack_blocks(blocks)
    assert all(len(m) <= MESSAGE_LIMIT for m in messages)
    assert "".join(messages).count("x") == 20_000
    assert len(messages) == 6
