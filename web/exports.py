"""The dashboard's breakdown table as CSV and XLSX: the same columns, money rounded to its
currency's own decimals (JPY none, BHD three) with the currency in its own column, and
every cell made safe to open in a spreadsheet (web.cells)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from currencies.units import minor_units, rounded
from web.cells import neutralise_row

COLUMNS = (
    "platform",
    "account_id",
    "account",
    "entity_id",
    "name",
    "impressions",
    "clicks",
    "cost",
    "currency",
    "conversions",
    "ctr",
    "cpc",
    "cpm",
    "cpa",
    "original_currency",
    "original_cost",
)
_MONEY = {
    "cost": "currency",
    "cpc": "currency",
    "cpm": "currency",
    "cpa": "currency",
    "original_cost": "original_currency",
}


def table_rows(rows: Iterable[dict]) -> list[list]:
    """The export's cells, header excluded: money rounded to its currency's minor unit."""
    out = []
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.get(column)
            if column in _MONEY and value is not None:
                value = rounded(value, row.get(_MONEY[column]) or "")
            cells.append(value)
        out.append(neutralise_row(cells))
    return out


def csv_bytes(rows: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(table_rows(rows))
    return buffer.getvalue()


def xlsx_bytes(rows: Iterable[dict], *, title: str) -> bytes:
    """One sheet, a bold frozen header, numbers as numbers with the currency's decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = list(rows)
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    index = {c: i for i, c in enumerate(COLUMNS)}
    for row, cells in zip(rows, table_rows(rows), strict=True):
        sheet.append([float(v) if hasattr(v, "as_tuple") else v for v in cells])
        line = sheet.max_row
        for column, currency_column in _MONEY.items():
            digits = minor_units(row.get(currency_column) or "")
            sheet.cell(line, index[column] + 1).number_format = "#,##0" + ("." + "0" * digits if digits else "")
        sheet.cell(line, index["ctr"] + 1).number_format = "0.00%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
