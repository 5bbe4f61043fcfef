"""A Table → CSV text: every row, a header, exact values for spreadsheets (not the rounded figures people read).

Money is to the cent (`12345.67`, never `$12K`), ratios are fractions (`0.6667`, not `67%`), days and counts are
plain numbers, dates ISO (`2026-12-01`), and empty values empty. Text that a spreadsheet would run as a formula
(`=…`, `+…`, `-…`, `@…`) gets a leading apostrophe, so a deal named `=HYPERLINK(…)` stays text.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from render.answers import Answer, Table

CENT = Decimal("0.01")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def csv_cell(value: Any, fmt: str) -> str:
    """One value as CSV text for its column's format."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if fmt in ("money", "ratio", "multiple", "days", "count") and not isinstance(value, bool):
        number = _number(value)
        if number is not None and number.is_finite():
            if fmt == "money":
                return f"{number.quantize(CENT):f}"
            if fmt == "count" and number == number.to_integral_value():
                return str(int(number))
            return f"{number:f}"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def table_csv(table: Table) -> str:
    """Header and every row of `table` as CSV (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.name for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(v, c.fmt) for v, c in zip(row, table.columns, strict=False)])
    return out.getvalue()


def csv_filename(answer: Answer) -> str:
    """A file name from the answer's title: "Open pipeline · Max's team" → open-pipeline-max-s-team.csv."""
    slug = re.sub(r"[^a-z0-9]+", "-", answer.title.lower()).strip("-")[:80].strip("-")
    return f"{slug or 'answer'}.csv"
