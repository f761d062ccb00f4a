"""The ledger files: the CSV's BOM and formula escaping, the workbook read back."""

from __future__ import annotations

import codecs
import csv
import io
from zoneinfo import ZoneInfo

import openpyxl

from bot.domain.localtime import LocalTime
from bot.services.reward_book import LedgerRow
from bot.telegram.sheets import LedgerSheet, currency_format, ledger_csv, ledger_xlsx, neutralise


def _row(reference: str, tier: str, amount: int, status: str, payout: str | None) -> LedgerRow:
    return LedgerRow(
        reference=reference,
        tier=tier,
        amount_minor=amount,
        currency="CNY",
        status=status,
        proposer_id=700000001,
        approver_ids=(700000002,),
        proposed_at=1_780_000_000,
        approved_at=1_780_000_600,
        paid_at=1_780_001_000 if status == "paid" else None,
        expired_at=None,
        payout_reference=payout,
        id_checked=True if status == "paid" else None,
    )


SHEET = LedgerSheet(
    rows=[
        _row("T-2026-0001", "seized_10_50g", 50000, "paid", '=HYPERLINK("http://x")'),
        _row("T-2026-0002", "seized_10_50g", 50000, "offered", None),
        _row("T-2026-0003", "cultivation", 123450, "paid", "+1-2"),
        _row("T-2026-0004", "factory", 2_000_000, "expired", "@SUM(A1)"),
    ],
    minor_per_major=100,
    tier_names={"seized_10_50g": "缴获毒品：10-50克", "cultivation": "非法种植", "factory": "-x"},
    month="2026-05",
    budget_minor=5_000_000,
    committed_minor=223_450,
    local=LocalTime(ZoneInfo("Asia/Shanghai")),
)


def test_neutralise_prefixes_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(start + "1") == "'" + start + "1"
    assert neutralise("V-100") == "V-100"
    assert neutralise("") == ""


def test_csv_has_a_bom_chinese_names_and_no_live_formula() -> None:
    data = ledger_csv(SHEET)
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["tier_name"] for r in rows][:1] == ["缴获毒品：10-50克"]
    assert rows[0]["payout_reference"] == '\'=HYPERLINK("http://x")'
    assert rows[2]["payout_reference"] == "'+1-2"
    assert rows[3]["payout_reference"] == "'@SUM(A1)"
    assert rows[3]["tier_name"] == "'-x"
    assert [r["amount"] for r in rows] == ["500.00", "500.00", "1234.50", "20000.00"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_rows_and_summary_read_back_with_number_formats() -> None:
    book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(SHEET, "CNY")))
    assert book.sheetnames == ["rewards", "summary"]
    rows = book["rewards"]
    header = [c.value for c in rows[1]]
    assert header[:4] == ["reference", "tier", "tier_name", "amount"]
    data = list(rows.iter_rows(min_row=2))
    assert [r[3].value for r in data] == [500.0, 500.0, 1234.5, 20000.0]
    assert {r[3].number_format for r in data} == {currency_format("CNY", 100)}
    assert currency_format("CNY", 100) == '"¥"#,##0.00'
    assert data[0][12].value == '\'=HYPERLINK("http://x")'
    assert data[0][2].value == "缴获毒品：10-50克"
    summary = {
        (r[0].value, r[1].value): (r[2].value, r[3].value)
        for r in book["summary"].iter_rows()
        if r[0].value
    }
    assert summary[("seized_10_50g", "缴获毒品：10-50克")] == (2, 1000.0)
    assert summary[("paid", None)] == (2, 1734.5)
    assert summary[("budget", None)][1] == 50000.0
    assert summary[("budget_used", None)][1] == 2234.5
    assert summary[("budget_left", None)][1] == 47765.5
    cell = next(r[3] for r in book["summary"].iter_rows() if r[0].value == "budget_used")
    assert cell.number_format == '"¥"#,##0.00'


def test_both_files_show_times_in_the_local_zone_and_say_which() -> None:
    """1_780_000_000 is 2026-05-28 20:26:40 UTC: already the 29th in Shanghai."""
    rows = list(csv.DictReader(io.StringIO(ledger_csv(SHEET).decode("utf-8-sig"))))
    assert rows[0]["proposed_at"] == "2026-05-29 04:26 UTC+8"
    assert rows[0]["approved_at"] == "2026-05-29 04:36 UTC+8"
    assert rows[1]["paid_at"] == ""
    book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(SHEET, "CNY")))
    data = list(book["rewards"].iter_rows(min_row=2, values_only=True))
    assert data[0][8] == "2026-05-29 04:26 UTC+8"
    assert data[0][10] == "2026-05-29 04:43 UTC+8"
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(values_only=True) if r[0]}
    assert summary["month"] == "2026-05"
    assert summary["timezone"] == "Asia/Shanghai"
