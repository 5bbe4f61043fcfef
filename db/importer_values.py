"""Reading CSV exports and turning their text into typed values for the importer.

Every parser takes the cell's text (already stripped, never empty) and returns a Python value or raises
`BadValue` whose message completes the sentence "value X ...". Money is `Decimal` end to end, never float.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db.schema import ACTIVITY_KINDS, FORECAST_CATEGORIES, ROLES


class BadValue(ValueError):
    """The text cannot be stored in the target column; the message says why, as a sentence."""


# --- CSV --------------------------------------------------------------------------------------------------


@dataclass
class SourceTable:
    display: str
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]  # (line number of the row's first line, cells)

    def find_column(self, name: str) -> tuple[int | None, str]:
        """Index of a header column: exact match, else a unique case-insensitive one. (None, why) if absent."""
        exact = [i for i, h in enumerate(self.header) if h == name]
        if len(exact) == 1:
            return exact[0], ""
        if len(exact) > 1:
            return None, f'the header has "{name}" more than once, so the mapping cannot tell which one to read.'
        folded = [i for i, h in enumerate(self.header) if h.casefold() == name.casefold()]
        if len(folded) == 1:
            return folded[0], ""
        shown = ", ".join(f'"{h}"' for h in self.header[:30])
        return None, f"the file has no such column; its header is {shown}."


class SourceError(Exception):
    def __init__(self, line: int | None, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def read_csv(path: Path, display: str, delimiter: str = ",") -> SourceTable:
    """A UTF-8 CSV (BOM or not). `#` lines and blank lines before the header are skipped; blank rows too."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        reason = f"the file does not exist (looked for {path}; paths are relative to the mapping)."
        raise SourceError(None, reason) from None
    except IsADirectoryError:
        raise SourceError(None, f"{path} is a folder, not a CSV file.") from None
    except OSError as exc:
        raise SourceError(None, f"the file cannot be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(line, f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                                "save the export as \"CSV UTF-8\".") from None
    stream = io.StringIO(text, newline="")
    skipped = 0
    first = None
    for first in stream:
        if first.lstrip().startswith("#") or not first.strip():
            skipped += 1
            first = None
            continue
        break
    if first is None:
        raise SourceError(None, "the file has no header line (it is empty or only comments).")
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
        rows = []
        while True:
            start = skipped + reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if any(c.strip() for c in cells):
                rows.append((start, cells))
    except csv.Error as exc:
        raise SourceError(skipped + reader.line_num, f"the file is not valid CSV ({exc}).") from None
    return SourceTable(display, header, skipped + 1, rows)


# --- values -----------------------------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "t", "1", "x", "checked"}
_FALSE = {"false", "no", "n", "f", "0", "unchecked"}
_MONEY = re.compile(
    r"^(?P<neg>[-(])?\s*(?:[A-Z]{3}\s*)?[$€£¥]?\s*(?P<neg2>-)?\s*(?P<num>\d[\d,]*(?:\.\d*)?|\.\d+)\s*(?:[A-Z]{3})?\s*\)?$"
)
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_CENT = Decimal("0.01")


def parse_text(text: str, max_len: int | None = None) -> str:
    if max_len is not None and len(text) > max_len:
        raise BadValue(f"is {len(text)} characters long; the column holds at most {max_len}.")
    return text


def parse_int(text: str) -> int:
    cleaned = text.replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue("is not a whole number.") from None
    if number != number.to_integral_value():
        raise BadValue("is not a whole number.")
    if abs(number) >= 2**31:
        raise BadValue("is too large a number.")
    return int(number)


def parse_percent(text: str) -> int:
    try:
        value = parse_int(text.rstrip().removesuffix("%"))
    except BadValue:
        raise BadValue("is not a probability (a whole number from 0 to 100, such as 40 or 40%).") from None
    if not 0 <= value <= 100:
        raise BadValue("is not a probability (a whole number from 0 to 100).")
    return value


def parse_money(text: str) -> Decimal:
    """'1,234.50', '$1,234', '(500)', 'USD 1200', '-12.5' -> Decimal rounded to cents. Never float."""
    match = _MONEY.match(text.replace("\u00a0", " ").strip())
    if not match:
        raise BadValue("is not an amount (write it like 1234.50, 1,234.50 or $1,234).")
    num = match["num"]
    if "," in num and not _GROUPED.match(num):
        raise BadValue("is not an amount: commas may only separate thousands (1,234.50).")
    value = Decimal(num.replace(",", ""))
    if (match["neg"] == "(") != text.rstrip().endswith(")"):
        raise BadValue("is not an amount (its brackets do not match).")
    if match["neg"] or match["neg2"]:
        value = -value
    value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if abs(value) >= Decimal(10) ** 16:
        raise BadValue("is too large an amount (at most 16 digits before the decimal point).")
    return value


def parse_date(text: str, formats: tuple[str, ...]) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise BadValue(f"is not a date ({_expected(formats)}).")


def parse_timestamp(text: str, formats: tuple[str, ...], tz: ZoneInfo) -> datetime:
    """A date or a date and time; times without a zone are read in `tz` (UTC unless the mapping says)."""
    value: datetime | None = None
    try:
        value = datetime.combine(date.fromisoformat(text), time(0))
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            for fmt in formats:
                try:
                    value = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if value is None:
        raise BadValue(f"is not a date or a date and time ({_expected(formats)}).")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _expected(formats: tuple[str, ...]) -> str:
    sample = datetime(2026, 3, 31, 14, 30)
    shown = [f"{sample.strftime(f)} ({f})" for f in formats if f not in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")]
    if not shown:
        return "expected a real date written 2026-03-31, or set date_format for other layouts"
    return f"expected {', '.join(shown)} or 2026-03-31"


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise BadValue("is not true or false (true/false, yes/no, 1/0).")


def _choice(text: str, allowed: tuple[str, ...], what: str) -> str:
    low = text.lower()
    if low in allowed:
        return low
    squashed = re.sub(r"[\s_\-]", "", low)
    for option in allowed:
        if option.replace("_", "") == squashed:
            return option
    raise BadValue(f"is not {what}; use one of {', '.join(allowed)} (or translate it with `values`).")


def parse_role(text: str) -> str:
    return _choice(text, ROLES, "a role")


def parse_forecast_category(text: str) -> str:
    return _choice(text, FORECAST_CATEGORIES, "a forecast category")


def parse_kind(text: str) -> str:
    return _choice(text, ACTIVITY_KINDS, "an activity kind")


RATE_PLACES = 6


def parse_rate(text: str) -> Decimal:
    """An exchange rate: units of the currency per unit of the org currency, above zero, at most 6 decimals."""
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise BadValue("is not an exchange rate (write it like 0.92 or 16250.5).") from None
    if not value.is_finite() or value <= 0:
        raise BadValue("is not an exchange rate: a rate is above zero (units of the currency per unit of the org "
                       "currency).")
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_UP):
        raise BadValue(f"has more than {RATE_PLACES} decimal places; a rate keeps at most {RATE_PLACES}.")
    if value >= Decimal(10) ** 12:
        raise BadValue("is too large a rate (at most 12 digits before the decimal point).")
    return value


def parse_currency(text: str) -> str:
    code = text.upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BadValue("is not a three-letter currency code such as USD or EUR.")
    return code


def parse_timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue("is not an IANA time zone such as America/New_York or Europe/Berlin.") from None
    return text


def parse_email(text: str, max_len: int | None = None) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise BadValue("is not an email address.")
    return parse_text(text, max_len)


def translate(table: dict[str, str | None] | None, text: str) -> str:
    """Apply a `values` table: an exact match first, then one ignoring case and surrounding spaces."""
    if not table:
        return text
    if text in table:
        hit = table[text]
    else:
        folded = text.strip().casefold()
        hit = next((v for k, v in table.items() if k.strip().casefold() == folded), text)
    return "" if hit is None else hit.strip()


def parse_value(kind: str, text: str, formats: tuple[str, ...], tz: ZoneInfo, max_len: int | None = None):
    """Parse non-empty `text` for a target of `kind`. References and stages stay text (resolved later)."""
    if kind in ("text", "ref", "stage"):
        return parse_text(text, max_len)
    if kind == "date":
        return parse_date(text, formats)
    if kind == "timestamp":
        return parse_timestamp(text, formats, tz)
    if kind == "email":
        return parse_email(text, max_len)
    parser = {
        "int": parse_int, "percent": parse_percent, "money": parse_money, "bool": parse_bool, "role": parse_role,
        "forecast_category": parse_forecast_category, "kind": parse_kind, "currency": parse_currency,
        "rate": parse_rate,
        "timezone": parse_timezone,
    }[kind]
    return parser(text)
