"""Formatting values for people, and the text hygiene every renderer needs.

Pure functions, no Slack and no I/O. `fmt(value, kind)` is the one entry point renderers use for a `Figure` or a
table cell; the kinds are `render.answers.FORMATS`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation, localcontext
from functools import wraps
from typing import Any, TypeVar

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
    get_minus_sign_symbol,
)

from i18n import current_currency, current_locale, ngettext, use_locale

DASH = "—"  # shown for a missing value
MINUS = "\u2212"  # a real minus sign: −$1.5K
ELLIPSIS = "…"

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


_F = TypeVar("_F", bound=Callable[..., str])


def _wide(fn: _F) -> _F:
    """Run a formatter with precision for any magnitude it accepts (Babel quantizes in the current context,
    whose default 28 digits cannot hold 1e25 to the cent)."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> str:
        with localcontext(Context(prec=2 * MAX_MAGNITUDE + 10)):
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


def _locale(locale: str | None) -> str:
    return locale or current_locale()


def _code(currency: str | None) -> str:
    return (currency or current_currency()).upper()


def _signed(text: str, locale: str) -> str:
    """CLDR's minus sign for these locales is the hyphen-minus; people read a real minus sign better (−$1.5K)."""
    minus = get_minus_sign_symbol(locale)
    return text.replace(minus, MINUS, 1) if minus != MINUS else text


def _compact_precision(a: Decimal) -> tuple[int, int]:
    """(power of ten of the unit shown, decimals) for an amount a ≥ 0 in whole units.

    Millions and up: one decimal (1.2M, 12M). 100K–1M: whole thousands (350K). 1K–100K: one decimal (12.4K).
    Below: whole units. An amount that rounds up into the next unit is shown in it (999,600 → 1M, never 1000K).
    """
    for power in (12, 9, 6):
        if a >= Decimal(10) ** power * Decimal("0.9995"):
            return power, 1
    if a >= 1000:
        return 3, 1 if a < 100_000 else 0
    return 0, 0


def _compact_rounded(a: Decimal) -> tuple[Decimal, int]:
    """`a` rounded to what the compact form shows, and the decimals to show (so Babel never rounds again)."""
    power, decimals = _compact_precision(a)
    return _round(a.scaleb(-power), decimals).scaleb(power), decimals


@_wide
def money(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """Compact money for people, written the way CLDR writes it for the locale: '$1.2M', '$350K', '$12.4K',
    '−$1.5K' (en), 'Rp1,2 jt' (id), '1,2 Mln €' (it); None → '—'.

    `currency` is an ISO 4217 code (default: the currency of the current context, the org currency). A non-zero
    amount under 1 keeps its cents ($0.50).
    """
    d = _number(value)
    if d is None:
        return DASH
    loc, code = _locale(locale), _code(currency)
    a = abs(d)
    if a < 1 and _round(a, 2) != 0:
        return _signed(format_currency(_round(d, 2), code, locale=loc), loc)
    return money_short(d, code, loc)


@_wide
def money_exact(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """Money to the cent, for one deal: '$12,500', '$12,345.67', '−$1,200.50' (en), '12.500 €' (it); cents only
    when there are some."""
    d = _number(value)
    if d is None:
        return DASH
    loc, code = _locale(locale), _code(currency)
    cents = _round(d, 2)
    if cents == cents.to_integral_value():
        pattern = Locale.parse(loc).currency_formats["standard"].pattern.replace("0.00", "0")
        text = format_currency(cents, code, format=pattern, locale=loc, currency_digits=False)
    else:
        text = format_currency(cents, code, locale=loc, currency_digits=False)
    return _signed(text, loc) if cents else text.replace(get_minus_sign_symbol(loc), "", 1)


@_wide
def money_short(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """Always-compact money for chart axes and tight spaces: $0, $500, $5K, $20K, $1.2M (per locale, as `money`)."""
    d = _number(value)
    if d is None:
        return DASH
    loc, code = _locale(locale), _code(currency)
    rounded, decimals = _compact_rounded(_round(abs(d)))
    if rounded == 0:
        d = rounded  # no "−$0"
    text = format_compact_currency(rounded.copy_sign(d), code, locale=loc, fraction_digits=decimals)
    return _signed(text, loc)


def _plain_percent(ratio: Decimal, loc: str) -> str:
    """A ratio already rounded to what is shown, in the locale's percent pattern ('0.5%', '1.250%')."""
    return format_percent(ratio, locale=loc, decimal_quantization=False)


@_wide
def percent(ratio: Any, locale: str | None = None) -> str:
    """A ratio as a percentage: 0.632 → '63%', 1.25 → '125%', 0.0049 → '0.5%', 0.0004 → '<0.1%', None → '—';
    separators per locale ('1.250%' in it and id)."""
    d = _number(ratio)
    if d is None:
        return DASH
    loc = _locale(locale)
    p = d * 100
    a = abs(p)
    if a == 0:
        return _plain_percent(Decimal(0), loc)
    if a < Decimal("0.05"):
        return "<" + _plain_percent(Decimal("0.001"), loc) if p > 0 else _plain_percent(Decimal(0), loc)
    shown = _round(p, 1) if a < Decimal("0.995") else _round(p)
    return _signed(_plain_percent(shown.scaleb(-2).normalize(), loc), loc)


def _whole(n: int, loc: str) -> str:
    return _signed(format_decimal(n, locale=loc), loc)


@_wide
def count(value: Any, locale: str | None = None) -> str:
    """A whole count with the locale's thousands separators: 1234 → '1,234' (en), '1.234' (it, id); None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    return _whole(int(_round(d)), _locale(locale))


@_wide
def days(value: Any, locale: str | None = None) -> str:
    """A duration in days: 41 → '41 days', 1 → '1 day', 2.6 → '3 days' ('41 hari', '41 giorni'); None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    n = int(_round(d))
    with use_locale(_locale(locale)) as loc:
        return ngettext("{n} day", "{n} days", abs(n)).format(n=_whole(n, loc))


DATE_PATTERN = "d MMM y"  # '31 Oct 2026', '31 Okt 2026', '31 ott 2026': CLDR's medium date in id and it


def date_text(value: Any, locale: str | None = None) -> str:
    """A date for people: '31 Oct 2026', '1 ott 2026'. Datetimes show their date; text passes through; None → '—'."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return format_date(value, DATE_PATTERN, locale=_locale(locale))
    return str(value)


def _day_pattern(loc: str, weekday: bool, year: bool) -> str:
    """English puts the month first ('Tue Dec 8'), Indonesian and Italian the day ('Sel 8 Des', 'mar 8 dic')."""
    day = "MMM d" if loc == "en" else "d MMM"
    return ("EEE " if weekday else "") + day + ((", y" if loc == "en" else " y") if year else "")


def day_text(value: date | datetime | None, *, weekday: bool = True, year: bool = False,
             locale: str | None = None) -> str:
    """A short day for scheduled messages: 'Tue Dec 8' (en), 'Sel 8 Des' (id), 'mar 8 dic' (it); `weekday=False`
    drops the weekday ('Dec 8'), `year=True` adds the year ('Dec 31, 2026', '31 dic 2026'); None → '—'."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.date()
    loc = _locale(locale)
    return format_date(value, _day_pattern(loc, weekday, year), locale=loc)


def day_heading(value: date, locale: str | None = None) -> str:
    """A day for a title, as CLDR's 'MMMEd' skeleton writes it: 'Fri, Jan 1' (en), 'Jum, 1 Jan' (id), 'ven 1 gen'
    (it)."""
    return format_skeleton("MMMEd", value, locale=_locale(locale))


def moment_text(value: datetime, locale: str | None = None, *, weekday: bool = True, day: bool = True,
                with_year: bool = False, zone: bool = True) -> str:
    """A local moment, in its own zone, as CLDR writes the day for the locale: 'Tue, Dec 8, 17:00 CST' (en),
    'Sel, 8 Des, 17:00 CST' (id), 'mar 8 dic, 17:00 CST' (it). `with_year` adds the year ('Tue, Dec 8, 2026,
    17:00 CST'), `weekday=False` drops the weekday ('Dec 8, 17:00 CST'), `day=False` keeps only the weekday
    ('Tue 17:00 CST'), `zone=False` drops the zone. The one formatter for moments (deadlines, "since", "as of")."""
    loc = _locale(locale)
    clock = f"{value:%H:%M}"
    if day:
        skeleton = ("y" if with_year else "") + "MMM" + ("E" if weekday else "") + "d"
        text = f"{format_skeleton(skeleton, value, locale=loc)}, {clock}"
    else:
        text = f"{format_skeleton('E', value, locale=loc)} {clock}" if weekday else clock
    return f"{text} {value.tzname() or ''}".strip() if zone else text


def first_weekday(locale: str | None = None) -> int:
    """The first day of the week in the locale's language (0 = Monday), as CLDR gives it."""
    return Locale.parse(_locale(locale)).first_week_day


@_wide
def multiple(value: Any, locale: str | None = None) -> str:
    """A ratio read as "times": pipeline coverage 3.24 → '3.2×' ('3,2×' in it and id), None → '—'."""
    d = _number(value)
    if d is None:
        return DASH
    loc = _locale(locale)
    return _signed(format_decimal(_round(d, 1).normalize(), locale=loc, decimal_quantization=False), loc) + "×"


def fmt(value: Any, kind: str = "text", currency: str | None = None) -> str:
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
