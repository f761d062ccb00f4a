"""The ledger as files finance opens in Excel: a CSV (UTF-8 with a BOM, formula injection
neutralised) and an .xlsx workbook (openpyxl) with the rows and a summary sheet.

Amounts are integers of minor units in the rows; they become major units only here, exactly:
the CSV writes them as text from the integers, the workbook as numbers with the currency's
number format (a float of two decimals is exact enough for display; the sum in the summary
is computed from the integers). Times are the line's local time, each saying its offset from
UTC ("2026-10-08 14:00 UTC+8"), and the month is the local calendar month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.domain.localtime import LocalTime
from bot.services.reward_book import LedgerRow

HEADER = (
    "reference",
    "tier",
    "tier_name",
    "amount",
    "currency",
    "status",
    "proposer_id",
    "approver_ids",
    "proposed_at",
    "approved_at",
    "paid_at",
    "expired_at",
    "payout_reference",
    "id_checked",
)
# A spreadsheet treats a cell starting with one of these as a formula (or a DDE call).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "GBP": "£"}


@dataclass(frozen=True)
class LedgerSheet:
    """What both files need besides the rows."""

    rows: Sequence[LedgerRow]
    minor_per_major: int
    tier_names: Mapping[str, str]
    month: str
    budget_minor: int
    committed_minor: int
    local: LocalTime


def neutralise(value: str) -> str:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _times(row: LedgerRow) -> tuple[int | None, ...]:
    return row.proposed_at, row.approved_at, row.paid_at, row.expired_at


def _major_text(minor: int, minor_per_major: int) -> str:
    digits = len(str(minor_per_major)) - 1
    major, rest = divmod(minor, minor_per_major)
    return f"{major}.{rest:0{digits}d}" if digits else str(major)


def _text_cells(row: LedgerRow, sheet: LedgerSheet) -> list[str]:
    return [
        row.reference,
        row.tier,
        sheet.tier_names.get(row.tier, row.tier),
        _major_text(row.amount_minor, sheet.minor_per_major),
        row.currency,
        row.status,
        str(row.proposer_id),
        " ".join(str(a) for a in row.approver_ids),
        *(sheet.local.time(at) if at else "" for at in _times(row)),
        row.payout_reference or "",
        "" if row.id_checked is None else str(row.id_checked),
    ]


def ledger_csv(sheet: LedgerSheet) -> bytes:
    """The month's rewards as CSV, UTF-8 with a BOM (so Excel reads Chinese tier names), each
    text cell neutralised against formula injection. Amounts come exactly from integers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in sheet.rows:
        cells = _text_cells(row, sheet)
        writer.writerow([cell if i == 3 else neutralise(cell) for i, cell in enumerate(cells)])
    return out.getvalue().encode("utf-8-sig")


def currency_format(currency: str, minor_per_major: int) -> str:
    """An Excel number format for the currency: symbol, thousands, the minor digits."""
    digits = len(str(minor_per_major)) - 1
    decimals = "." + "0" * digits if digits else ""
    symbol = _SYMBOLS.get(currency, currency + " ")
    return f'"{symbol}"#,##0{decimals}'


def ledger_xlsx(sheet: LedgerSheet, currency: str) -> bytes:
    """The workbook: "rewards" (one row per reward, amounts as numbers in the currency's
    format) and "summary" (count and total by tier and by status, the budget used)."""
    money = currency_format(currency, sheet.minor_per_major)
    book = Workbook()
    rows = book.active
    assert rows is not None
    rows.title = "rewards"
    rows.append(list(HEADER))
    for cell in rows[1]:
        cell.font = Font(bold=True)
    for row in sheet.rows:
        cells: list[object] = [neutralise(c) for c in _text_cells(row, sheet)]
        cells[3] = row.amount_minor / sheet.minor_per_major
        cells[6] = row.proposer_id
        rows.append(cells)
        rows.cell(row=rows.max_row, column=4).number_format = money
    rows.freeze_panes = "A2"
    for column, width in zip(
        "ABCDEFGHIJKLMN", (14, 18, 30, 14, 8, 10, 14, 22, 23, 23, 23, 23, 16, 10), strict=True
    ):
        rows.column_dimensions[column].width = width

    summary = book.create_sheet("summary")
    summary.append(["month", sheet.month])
    summary.append(["timezone", str(sheet.local.zone)])
    summary.append([])
    summary.append(["tier", "tier_name", "count", "amount"])
    by_tier: dict[str, list[int]] = {}
    by_status: dict[str, list[int]] = {}
    for row in sheet.rows:
        by_tier.setdefault(row.tier, [0, 0])
        by_tier[row.tier][0] += 1
        by_tier[row.tier][1] += row.amount_minor
        by_status.setdefault(row.status, [0, 0])
        by_status[row.status][0] += 1
        by_status[row.status][1] += row.amount_minor
    for tier, (count, minor) in sorted(by_tier.items()):
        summary.append(
            [tier, sheet.tier_names.get(tier, tier), count, minor / sheet.minor_per_major]
        )
        summary.cell(row=summary.max_row, column=4).number_format = money
    summary.append([])
    summary.append(["status", "", "count", "amount"])
    for status, (count, minor) in sorted(by_status.items()):
        summary.append([status, "", count, minor / sheet.minor_per_major])
        summary.cell(row=summary.max_row, column=4).number_format = money
    summary.append([])
    for label, minor in (
        ("budget", sheet.budget_minor),
        ("budget_used", sheet.committed_minor),
        ("budget_left", max(0, sheet.budget_minor - sheet.committed_minor)),
    ):
        summary.append([label, "", None, minor / sheet.minor_per_major])
        summary.cell(row=summary.max_row, column=4).number_format = money
    for row_cells in summary.iter_rows():
        if row_cells[0].value in ("tier", "status"):
            for cell in row_cells:
                cell.font = Font(bold=True)
    summary.column_dimensions["A"].width = 18
    summary.column_dimensions["B"].width = 30
    summary.column_dimensions["D"].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
