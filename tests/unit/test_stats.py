"""The statistics' aggregates, the "<5" rule and the charts as PNG files."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.domain.policy import load as load_policy
from bot.domain.stats import (
    OTHER,
    BadPeriod,
    FinanceStats,
    MonthMoney,
    campaigns_shown,
    last_months,
    median,
    parse_period,
    review_stats,
    shown,
)
from bot.services.stats import stats_csv
from bot.telegram.charts import ChartText, finance_chart, font_family, review_chart
from bot.telegram.i18n import Catalogue
from bot.telegram.posts import PostRenderer
from storage.blobs import BlobStore

JUNE = parse_period("2026-06", 1_781_000_000, UTC)
DAY = 86_400
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_small_counts_show_as_less_than_five() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]


def test_periods() -> None:
    assert JUNE.label == "2026-06"
    assert JUNE.end - JUNE.start == 30 * DAY
    week = parse_period("week", JUNE.start + 10 * DAY, UTC)
    assert week.end - week.start == 7 * DAY + 1
    assert parse_period(None, JUNE.start + DAY, UTC).label == "2026-06"
    for bad in ("2026-13", "yesterday", "26-06"):
        with pytest.raises(BadPeriod):
            parse_period(bad, JUNE.start, UTC)


def test_months_weeks_and_their_labels_are_the_zones() -> None:
    june = parse_period("2026-06", 1_781_000_000, SHANGHAI)
    assert june.start == int(datetime(2026, 5, 31, 16, tzinfo=UTC).timestamp())
    assert june.end == int(datetime(2026, 6, 30, 16, tzinfo=UTC).timestamp())
    # Monday 8 June, 01:00 in Shanghai, is still Sunday in UTC: it counts in the week of the 8th.
    monday_early = int(datetime(2026, 6, 8, 1, tzinfo=SHANGHAI).timestamp())
    stats = review_stats(june, [("other", monday_early)], {}, [], [], 0, [])
    assert stats.weeks[0] == "2026-06-01"  # Monday 1 June, local
    assert stats.per_week["2026-06-08"]["other"] == 1
    in_utc = review_stats(JUNE, [("other", monday_early)], {}, [], [], 0, [])
    assert in_utc.per_week["2026-06-01"]["other"] == 1  # the same moment, in a UTC period
    # The last 7 days, labelled with local dates: 23:30 UTC on 10 June is the 11th in Shanghai.
    late = int(datetime(2026, 6, 10, 23, 30, tzinfo=UTC).timestamp())
    assert parse_period("week", late, SHANGHAI).label == "2026-06-04 – 2026-06-11"
    assert parse_period("week", late, UTC).label == "2026-06-03 – 2026-06-10"


def test_review_aggregates_from_rows() -> None:
    rows = [("drug_trafficking", JUNE.start + i * DAY) for i in range(10)]
    rows += [("drug_production", JUNE.start + 8 * DAY)] * 2
    rows += [(c, JUNE.start + 20 * DAY) for c in ("a", "b", "c", "d")]
    rows += [("drug_trafficking", JUNE.end + DAY)]  # outside: not counted in a week
    stats = review_stats(
        JUNE,
        rows,
        {"new": 2, "in_review": 7},
        claim_delays=[600, 3600, 7200],
        decision_delays=[DAY, 3 * DAY],
        past_reminder=1,
        outcome_rows=[(2, 50_000), (5, 1_000)],
    )
    assert stats.weeks[0] == "2026-06-01" and len(stats.weeks) == 5
    assert stats.categories[:2] == ("drug_trafficking", "drug_production")
    assert stats.categories[-1] == OTHER  # six categories: four kept, the rest summed
    assert len(stats.categories) == 5
    assert sum(w["drug_trafficking"] for w in stats.per_week.values()) == 10
    assert stats.per_week["2026-06-08"]["drug_production"] == 2
    assert sum(w[OTHER] for w in stats.per_week.values()) == 2
    assert stats.median_claim_s == 3600
    assert stats.median_decision_s == DAY
    assert (stats.outcomes, stats.arrested, stats.heroin_eq_mg) == (2, 7, 51_000)
    assert median([]) is None


def _is_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.verify()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert 600 <= image.width <= 2000 and 500 <= image.height <= 2000
    assert 10_000 < len(data) < 1_000_000
    return image


def test_charts_are_pngs_of_phone_size_with_a_chinese_font() -> None:
    assert font_family().startswith("Noto Sans CJK")  # fonts-noto-cjk is installed (.ci/run)
    stats = review_stats(
        JUNE,
        [("drug_trafficking", JUNE.start + i * 30_000) for i in range(40)],
        {"new": 3, "in_review": 9, "awaiting_tipster": 0},
        [3600],
        [DAY],
        0,
        [],
    )
    text = ChartText("线索统计 · 2026-06", {"drug_trafficking": "贩卖、运输毒品", "new": "新线索"})
    _is_png(review_chart(stats, text))
    months = tuple(
        MonthMoney(
            f"{y}-{m:02d}",
            dict.fromkeys(("proposed", "approved", "paid", "expired"), 1),
            dict.fromkeys(("proposed", "approved", "paid", "expired"), 100_000),
        )
        for y, m in last_months(2026, 6)
    )
    assert months[0].month == "2026-01"
    _is_png(finance_chart(FinanceStats(months, 5_000_000), ChartText("奖励", {}), 100))


def _with_campaigns(counts: dict[str, int]):
    return review_stats(JUNE, [], {"new": 0}, [], [], 0, [], campaign_counts=counts)


def test_campaigns_are_named_in_the_policys_order_and_the_rest_summed() -> None:
    order = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    # Zero counts are dropped; a key the policy no longer lists comes after, by key.
    counts = {"c3": 12, "c1": 2, "gone": 1, "c2": 0}
    assert _with_campaigns(counts).campaigns == {"c1": 2, "c3": 12, "gone": 1}
    assert campaigns_shown(counts, order) == ([("c1", 2), ("c3", 12), ("gone", 1)], 0)
    many = dict.fromkeys(order, 1) | {"c7": 30}
    named, rest = campaigns_shown(many, order)
    assert named == [("c1", 1), ("c2", 1), ("c3", 1), ("c4", 1), ("c5", 1)]
    assert rest == 31  # c6 and c7: never ranked by their counts, which "<5" would betray
    six = dict.fromkeys(order[:6], 3)
    assert campaigns_shown(six, order) == ([(k, 3) for k in order[:6]], 0)  # no "1 other"
    assert campaigns_shown({}, order) == ([], 0)


def test_the_caption_and_the_csv_count_tips_per_campaign_with_small_counts_hidden(
    tmp_path,
) -> None:
    policy = load_policy(
        None,
        {
            "campaigns": [
                {"key": "citywide", "en": "City-wide poster", "zh": "全市宣传海报"},
                {"key": "roads", "en": "R" * 60, "zh": "毒驾"},
            ]
        },
    )
    stats = _with_campaigns({"citywide": 12, "roads": 3, "old-2025": 1})
    english = PostRenderer(Catalogue.load(), policy, BlobStore(tmp_path), "en")
    caption = english.review_caption(stats)
    assert caption.endswith(
        "\nFrom campaigns: City-wide poster (12); " + "R" * 39 + "… (&lt;5); old-2025 (&lt;5)."
    )
    assert len(caption) < 1024
    chinese = PostRenderer(Catalogue.load(), policy, BlobStore(tmp_path), "zh")
    assert "来自宣传活动：全市宣传海报（12 条）；毒驾（&lt;5 条）" in chinese.review_caption(stats)
    plain = english.review_caption(_with_campaigns({}))
    assert "campaign" not in plain and "\n" not in plain

    months = tuple(
        MonthMoney(
            f"{y}-{m:02d}",
            dict.fromkeys(("proposed", "approved", "paid", "expired"), 0),
            dict.fromkeys(("proposed", "approved", "paid", "expired"), 0),
        )
        for y, m in last_months(2026, 6)
    )
    rows = stats_csv({-100: stats}, FinanceStats(months, 0)).splitlines()
    assert [r for r in rows if r.startswith("tips_per_campaign")] == [
        "tips_per_campaign,-100,2026-06,citywide,,12",
        "tips_per_campaign,-100,2026-06,old-2025,,<5",
        "tips_per_campaign,-100,2026-06,roads,,<5",
    ]
