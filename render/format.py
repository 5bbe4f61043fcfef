"""Formatting values for people, and the text hygiene every renderer needs.

Pure functions, no Slack and no I/O. `fmt(value, kind)` is the one entry point renderers use for a `Figure` or a
table cell; the kinds are `assistant.answers.FORMATS`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

DASH = "—"  # shown for a missing value
MINUS = "\u2212"  # a real minus sign: −$1.5K
ELLIPSIS = "…"

_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
}


MAX_MAGNITUDE = 30  # |value| ≥ 1e31 is not a business number: formatters give up on it (fmt shows it raw)


def _number(value: Any) -> Decimal | None:
    """Decimal for anything number-like; None for None, NaN, infinities, absurd magnitudes and non-numbers."""
    d = _decimal(value)
    if d is not None and d and d.adjusted() > MAX_MAGNITUDE:
        return None
    return d


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None if value is None else Decimal(int(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # also numpy floats: repr() of those is "np.float64(…)"
        value = float(value)
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            d = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    if hasattr(value, "__index__"):  # numpy integers
        return Decimal(int(value))
    if hasattr(value, "__float__"):
        return _decimal(float(value))
    return None


def _round(d: Decimal, places: int = 0) -> Decimal:
    """Round half-even to `places` decimals, with enough precision for any magnitude (1e30 included)."""
    ctx = Context(prec=max(28, d.adjusted() + places + 3))
    return d.quantize(Decimal(1).scaleb(-places), context=ctx)


def _trim(text: str) -> str:
    """'1.0' → '1', '1.50' → '1.5'."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _prefix(currency: str | None) -> tuple[str, str]:
    """(symbol before the number, separator): ('$', '') or ('CHF', ' ')."""
    code = (currency or "USD").upper()
    if code in _SYMBOLS:
        return _SYMBOLS[code], ""
    return code, " "


def _scaled(a: Decimal, divisor: int, decimals: int) -> tuple[Decimal, str]:
    q = _round(a.scaleb(-len(str(divisor)) + 1), decimals)  # divisor is a power of ten
    return q, _trim(f"{q:f}")


def _compact(a: Decimal) -> str:
    """Always compact: 0, 950, 1.5K, 12K, 350K, 1.2M, 3.4B (a ≥ 0, already rounded to whole units)."""
    for divisor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M")):
        if a >= divisor * Decimal("0.9995"):
            q, s = _scaled(a, divisor, 1)
            return s + suffix
    if a >= 1000:
        decimals = 1 if a < 100_000 else 0
        q, s = _scaled(a, 1000, decimals)
        if q >= 1000:  # 999,600 → 1M, not 1000K
            return "1M"
        return s + "K"
    return f"{a:.0f}"


def money(value: Any, currency: str | None = "USD") -> str:
    """Money for people: $1.2M, $350K, $12.4K, $1.5K, $950, $0, −$1.5K; None → '—'.

    Millions and up: one decimal ($1.2M, $12M). 100K–1M: whole thousands ($350K). 1K–100K: one decimal
    ($12.4K, $1.5K). Below: whole units; a non-zero amount under 1 keeps its cents ($0.50). Unknown currency
    codes are written before the number ('CHF 1.2M').
    """
    d = _number(value)
    if d is None:
        return DASH
    symbol, sep = _prefix(currency)
    sign = MINUS if d < 0 else ""
    a = abs(d)
    if a == 0:
        return f"{symbol}{sep}0"
    if a < 1:
        cents = _round(a, 2)
        if cents == 0:
            return f"{symbol}{sep}0"
        body = f"{cents:f}"
    else:
        body = _compact(_round(a))
    return f"{sign}{symbol}{sep}{body}"


def money_exact(value: Any, currency: str | None = "USD") -> str:
    """Money to the cent, for one deal: $12,500, $12,345.67, −$1,200.50; cents only when there are some."""
    d = _number(value)
    if d is None:
        return DASH
    symbol, sep = _prefix(currency)
    cents = _round(abs(d), 2)
    sign = MINUS if d < 0 and cents else ""
    body = f"{cents:,.0f}" if cents == cents.to_integral_value() else f"{cents:,.2f}"
    return f"{sign}{symbol}{sep}{body}"


def money_short(value: Any, currency: str | None = "USD") -> str:
    """Always-compact money for chart axes and tight spaces: $0, $500, $5K, $20K, $1.2M."""
    d = _number(value)
    if d is None:
        return DASH
    symbol, sep = _prefix(currency)
    sign = MINUS if d < 0 else ""
    a = _round(abs(d))
    return f"{sign}{symbol}{sep}{_compact(a)}"


def percent(ratio: Any) -> str:
    """A ratio as a percentage: 0.632 → '63%', 1.25 → '125%', 0.0049 → '0.5%', 0.0004 → '<0.1%', None → '—'."""
    d = _number(ratio)
    if d is None:
        return DASH
    p = d * 100
    sign = MINUS if p < 0 else ""
    a = abs(p)
    if a == 0:
        return "0%"
    if a < Decimal("0.05"):
        return "<0.1%" if not sign else "0%"
    if a < Decimal("0.995"):
        tenths = _trim(f"{_round(a, 1):f}")
        return f"{sign}{tenths}%"
    return f"{sign}{int(_round(a)):,}%"


def count(value: Any) -> str:
    """A whole count with thousands separators: 1234 → '1,234', None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    n = int(_round(d))
    return f"{MINUS}{abs(n):,}" if n < 0 else f"{n:,}"


def days(value: Any) -> str:
    """A duration in days: 41 → '41 days', 1 → '1 day', 2.6 → '3 days', None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    n = int(_round(d))
    unit = "day" if abs(n) == 1 else "days"
    number = f"{MINUS}{abs(n):,}" if n < 0 else f"{n:,}"
    return f"{number} {unit}"


def date_text(value: Any) -> str:
    """A date for people: '31 Oct 2026'. Datetimes show their date; text passes through; None → '—'."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value.strftime('%b')} {value.year}"
    return str(value)


def multiple(value: Any) -> str:
    """A ratio read as "times": pipeline coverage 3.24 → '3.2×', None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    return f"{_trim(f'{_round(d, 1):f}')}×"


def fmt(value: Any, kind: str = "text", currency: str | None = "USD") -> str:
    """Format one value by its Figure/Column fmt: money | ratio | multiple | count | days | text | date.

    Text (or an unknown kind) is `str(value)`; None is '—' for every kind. The result is plain text: escape it
    with `escape_mrkdwn` before it goes into mrkdwn.
    """
    if value is None:
        return DASH
    if kind == "money":
        out = money(value, currency)
    elif kind == "ratio":
        out = percent(value)
    elif kind == "count":
        out = count(value)
    elif kind == "days":
        out = days(value)
    elif kind == "multiple":
        out = multiple(value)
    elif kind == "date":
        return date_text(value)
    else:
        return date_text(value) if isinstance(value, date) else str(value)
    # a value the number formatters could not read (text in a money column) is shown as it is
    return str(value) if out == DASH else out


def escape_mrkdwn(text: Any) -> str:
    """Escape text from data for Slack mrkdwn: &, < and > become entities (Slack's only three control characters).

    This also defuses `<!channel>`, `<@U123>` and `<http://x|y>` written into names, so data can never mention
    or link anyone.
    """
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: Any, n: int) -> str:
    """At most n characters; a cut text ends with '…' (counted in n)."""
    s = "" if text is None else str(text)
    if n <= 0:
        return ""
    if len(s) <= n:
        return s
    return s[: n - 1] + ELLIPSIS


_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def truncate_escaped(text: str, n: int) -> str:
    """Like `truncate`, for text already passed through `escape_mrkdwn`: never cuts an entity (&amp;) in half."""
    if n <= 0:
        return ""
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    m = _ENTITY_TAIL.search(cut)
    if m:
        cut = cut[: m.start()]
    return cut + ELLIPSIS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Whole terminal escape sequences: CSI (ESC [ ... final byte: colours, clear screen), OSC (ESC ] ... BEL or ESC \:
# window title) and the two-character ones. Dropping only the ESC left "[2J" or "]0;title" in the text.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[0-~]")


def _drop_controls(s: str) -> str:
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", s))


def one_line(text: Any) -> str:
    """Text from data as a single clean line: newlines and tabs become spaces, control characters (and terminal
    escape sequences, and bidi overrides) are dropped."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return _drop_controls(s)


def clean_text(text: Any) -> str:
    """Multi-line text from data without control characters or terminal escape sequences (newlines and tabs
    kept)."""
    s = "" if text is None else str(text)
    return _drop_controls(s.replace("\r\n", "\n").replace("\r", "\n"))


def display_width(text: str) -> int:
    """Columns a string takes in a monospace font: wide (CJK, most emoji) count 2, combining marks 0."""
    w = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200d\ufe0f":
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def fit_width(text: str, width: int) -> str:
    """Cut text to at most `width` display columns (ending with '…' when cut)."""
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out, w = [], 0
    for ch in text:
        cw = (
            0
            if (unicodedata.combining(ch) or ch in "\u200d\ufe0f")
            else (2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
        )
        if w + cw > width - 1:
            break
        out.append(ch)
        w += cw
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, right: bool = False) -> str:
    """Pad to `width` display columns (right-aligned when `right`)."""
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


NUMERIC_FORMATS = frozenset({"money", "ratio", "count", "days"})


def is_numeric(kind: str) -> bool:
    """True for formats aligned to the right in tables."""
    return kind in NUMERIC_FORMATS


def format_table(
    columns: list[tuple[str, str]], rows: list[list[Any]], *, max_col: int = 32, max_total: int = 100,
    currency: str | None = "USD",
) -> list[str]:
    """A plain aligned table: header line, rule line, one line per row (cells already single-line, unescaped).

    `columns` is [(name, fmt)]; cells are formatted with `fmt`. Text columns are cut to `max_col` display
    columns, and narrowed further (widest first, down to 8) while a line is wider than `max_total`.
    """
    if not columns:
        return []
    names = [one_line(name) for name, _ in columns]
    kinds = [kind for _, kind in columns]
    cells = [[one_line(fmt(row[i] if i < len(row) else None, kinds[i], currency)) for i in range(len(columns))]
             for row in rows]
    widths = [display_width(n) for n in names]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], display_width(c))
    widths = [min(w, max_col) for w in widths]
    total = sum(widths) + 2 * (len(widths) - 1)
    while total > max_total:
        candidates = [i for i, k in enumerate(kinds) if not is_numeric(k) and widths[i] > 8]
        if not candidates:
            break
        i = max(candidates, key=lambda j: widths[j])
        widths[i] -= 1
        total -= 1
    right = [is_numeric(k) for k in kinds]

    def line(values: list[str]) -> str:
        parts = [pad(fit_width(v, widths[i]), widths[i], right[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    return out
