"""Periods: the fiscal calendar and the parser for the period phrases people type (DESIGN §4).

A fiscal year starts on the first day of `fiscal_year_start_month` and is named by the calendar year it ends in:
with start month 2, Feb 2026 – Jan 2027 is FY2027; with start month 1, FY2026 is calendar 2026. "Quarter" and
"year" always mean the fiscal ones; months are calendar months; weeks start on Monday.

`parse_period` reads a whole string as a period ("next quarter", "fy2027 q1", "last 30 days", ...);
`extract_period` finds one inside free text ("west team pipeline next quarter") and returns the rest of the text.
Both forgive case, extra whitespace and hyphens, common abbreviations (qtr, yr, wk, mo, nxt, prev) and small
typos ("quater", "lst month"); the Period's label says what was understood. Pure Python, no database.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from errors import UserError
from i18n import N_, _, current_locale, ngettext
from metrics import period_words as intl

GRAINS = ("day", "week", "month", "quarter", "year")
ALL_TIME_START = date(1900, 1, 1)
ALL_TIME_END = date(9999, 12, 31)
MIN_YEAR, MAX_YEAR = 1900, 9999

# Short examples of every accepted form, shown in error messages. The ones in words are translated into the
# asker's language (each translation is a phrase the bot reads: tests/test_error_languages.py); the rest are the
# same in every language.
ACCEPTED_FORMS = (
    N_("today"), N_("yesterday"), N_("this week"), N_("last month"), N_("next quarter"), N_("this year"), "q3",
    "q3 2026", "2026-q3", "fy2027", "fy2027 q1", "2026-10", N_("oct 2026"), "2026", "ytd", "qtd", "mtd",
    N_("last 30 days"), N_("next 90 days"), "2026-07-01", "2026-07-01..2026-09-30", "all",
)

_MONTH_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def accepted_forms_text() -> str:
    """The accepted forms, for error messages, in the language being spoken."""
    return _("Periods look like: {forms}.").format(forms=", ".join(_(form) for form in ACCEPTED_FORMS))


def _outside_years(year: int) -> PeriodError:
    return PeriodError(_("{year} is outside the years this bot knows ({first} to {last}).").format(
        year=year, first=MIN_YEAR, last=MAX_YEAR))


def _outside_calendar(phrase: str, *, text: str | None = None) -> PeriodError:
    return PeriodError(_('"{phrase}" falls outside the calendar this bot knows (years {first} to {last}).').format(
        phrase=phrase, first=MIN_YEAR, last=MAX_YEAR), text=text)


class PeriodError(UserError):
    """A period phrase that could not be understood, or names a period that does not exist (q5, 2026-13)."""

    def __init__(self, message: str, *, text: str | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.text = text
        self.suggestion = suggestion


# ---------------------------------------------------------------------------------------------------------------
# The fiscal calendar
# ---------------------------------------------------------------------------------------------------------------


def _check_start_month(start_month: int) -> None:
    if not isinstance(start_month, int) or not 1 <= start_month <= 12:
        raise ValueError(f"fiscal year start month must be 1..12, not {start_month!r}")


def _add_months(d: date, n: int) -> date:
    """`d` moved by `n` calendar months, the day clamped to the target month's length."""
    y, m0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    if not 1 <= y <= 9999:
        raise OverflowError("date out of range")
    return date(y, m0 + 1, min(d.day, calendar.monthrange(y, m0 + 1)[1]))


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def fiscal_year_of(d: date, start_month: int = 1) -> int:
    """The fiscal year containing `d`, named by the calendar year it ends in."""
    _check_start_month(start_month)
    return d.year + 1 if start_month != 1 and d.month >= start_month else d.year


def fiscal_quarter_of(d: date, start_month: int = 1) -> tuple[int, int]:
    """(fiscal year, quarter 1..4) containing `d`."""
    return fiscal_year_of(d, start_month), (d.month - start_month) % 12 // 3 + 1


def fiscal_year_bounds(fy: int, start_month: int = 1) -> tuple[date, date]:
    """First and last day of fiscal year `fy`."""
    _check_start_month(start_month)
    start = date(fy if start_month == 1 else fy - 1, start_month, 1)
    return start, _month_end(_add_months(start, 11))


def quarter_bounds(fy: int, q: int, start_month: int = 1) -> tuple[date, date]:
    """First and last day of quarter `q` (1..4) of fiscal year `fy`."""
    if q not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1..4, not {q!r}")
    start = _add_months(fiscal_year_bounds(fy, start_month)[0], 3 * (q - 1))
    return start, _month_end(_add_months(start, 2))


def week_bounds(d: date) -> tuple[date, date]:
    """Monday and Sunday of the week containing `d`."""
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


# ---------------------------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------------------------


def _month_abbr(month: int) -> str:
    """The month's short name in the language being spoken ("Dec", "Des", "dic")."""
    lang = current_locale()
    if lang == "en":
        return _MONTH_ABBR[month]
    from babel.dates import get_month_names

    return get_month_names("abbreviated", locale=lang)[month]


def _weekday_name(weekday: int) -> str:
    """The weekday's name (0 = Monday) in the language being spoken ("Friday", "Jumat", "venerdì")."""
    from babel.dates import get_day_names

    return get_day_names("wide", locale=current_locale())[weekday]


def _either(options: Iterable[str]) -> str:
    """'"a" or "b"' in the language being spoken ('"a" atau "b"', '"a" o "b"')."""
    from babel.lists import format_list

    return format_list(list(options), style="or", locale=current_locale())


def format_day(d: date) -> str:
    """'Dec 1, 2026' in English; '1 Des 2026', '1 dic 2026' where the day comes first."""
    if current_locale() != "en":
        return f"{d.day} {_month_abbr(d.month)} {d.year}"
    return f"{_MONTH_ABBR[d.month]} {d.day}, {d.year}"


def format_range(start: date, end: date) -> str:
    """'Jul 6 – 12, 2026', 'Jun 29 – Jul 5, 2026', 'Dec 29, 2025 – Jan 4, 2026'."""
    if start == end:
        return format_day(start)
    if start.year != end.year:
        return f"{format_day(start)} – {format_day(end)}"
    if current_locale() != "en":
        if start.month != end.month:
            return f"{start.day} {_month_abbr(start.month)} – {end.day} {_month_abbr(end.month)} {end.year}"
        return f"{start.day} – {end.day} {_month_abbr(end.month)} {end.year}"
    if start.month != end.month:
        return f"{_MONTH_ABBR[start.month]} {start.day} – {_MONTH_ABBR[end.month]} {end.day}, {end.year}"
    return f"{_MONTH_ABBR[start.month]} {start.day} – {end.day}, {end.year}"


def quarter_label(fy: int, q: int) -> str:
    return f"Q{q} FY{fy}"


def year_label(fy: int) -> str:
    return f"FY{fy}"


def month_label(year: int, month: int) -> str:
    return f"{_month_abbr(month)} {year}"


# "this quarter (Q4 FY2026)": a relative period's label in the language being spoken.
RELATIVE_LABELS = {
    ("this", "week"): N_("this week ({label})"), ("last", "week"): N_("last week ({label})"),
    ("next", "week"): N_("next week ({label})"), ("this", "month"): N_("this month ({label})"),
    ("last", "month"): N_("last month ({label})"), ("next", "month"): N_("next month ({label})"),
    ("this", "quarter"): N_("this quarter ({label})"), ("last", "quarter"): N_("last quarter ({label})"),
    ("next", "quarter"): N_("next quarter ({label})"), ("this", "year"): N_("this year ({label})"),
    ("last", "year"): N_("last year ({label})"), ("next", "year"): N_("next year ({label})"),
}
DAY_LABELS = {"today": N_("today ({day})"), "yesterday": N_("yesterday ({day})"), "tomorrow": N_("tomorrow ({day})")}


# ---------------------------------------------------------------------------------------------------------------
# Period
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A closed range of days [start, end] with a human label and, for whole calendar units, a grain."""

    start: date
    end: date  # inclusive
    label: str
    grain: str | None = None  # "day" | "week" | "month" | "quarter" | "year" | None (ranges, to-date, rolling)
    # Needed by previous() to label fiscal quarters and years; not part of the period's identity.
    fiscal_year_start_month: int = field(default=1, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        if self.grain not in (None, *GRAINS):
            raise ValueError(f"unknown grain {self.grain!r}")

    def __str__(self) -> str:
        return self.label

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        return self.start <= d <= self.end

    __contains__ = contains

    def elapsed_fraction(self, today: date) -> Decimal:
        """Share of the period elapsed by the end of `today`: 0 before it starts, 1 after it ends.

        This is the "pace" of quota attainment: the attainment expected if closing were linear through the period.
        """
        if isinstance(today, datetime):
            today = today.date()
        if today < self.start:
            return Decimal(0)
        if today > self.end:
            return Decimal(1)
        return Decimal((today - self.start).days + 1) / Decimal(self.days)

    def previous(self) -> Period:
        """The period just before this one, for comparisons.

        Whole units step back one unit (the month, fiscal quarter or fiscal year before, which may have a different
        number of days); anything else is shifted back by its own length.
        """
        sm = self.fiscal_year_start_month
        try:
            if self.grain == "day":
                return day_period(self.start - timedelta(days=1), fiscal_year_start_month=sm)
            if self.grain == "week":
                return week_period(self.start - timedelta(days=7), fiscal_year_start_month=sm)
            if self.grain == "month":
                s = _add_months(self.start, -1)
                return month_period(s.year, s.month, fiscal_year_start_month=sm)
            if self.grain == "quarter":
                s = _add_months(self.start, -3)
                label = quarter_label(*fiscal_quarter_of(s, sm))
                return Period(s, self.start - timedelta(days=1), label, "quarter", sm)
            if self.grain == "year":
                s = _add_months(self.start, -12)
                return Period(s, self.start - timedelta(days=1), year_label(fiscal_year_of(s, sm)), "year", sm)
            s = self.start - timedelta(days=self.days)
            e = self.start - timedelta(days=1)
            if s < ALL_TIME_START:
                raise OverflowError
            return Period(s, e, format_range(s, e), None, sm)
        except (OverflowError, ValueError):
            raise PeriodError(_("There is no period before {period} to compare with.").format(
                period=self.label)) from None

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    @property
    def is_all_time(self) -> bool:
        return self.start <= ALL_TIME_START and self.end >= ALL_TIME_END

    @property
    def described(self) -> str:
        """The label with its dates, once: "this week (Nov 30 – Dec 6, 2026)", "Q3 FY2026 (Jul 1 – Sep 30, 2026)",
        "all time". A label that already shows its dates, or is a range itself, is not repeated."""
        if self.is_all_time or "(" in self.label:
            return self.label
        dates = format_range(self.start, self.end)
        return self.label if self.label == dates or self.label == format_day(self.start) else f"{self.label} ({dates})"

    def year_earlier(self) -> Period:
        """The same stretch one year back (Q4 FY2026 -> Q4 FY2025), for year-over-year comparisons."""
        sm = self.fiscal_year_start_month
        try:
            start, end = _add_months(self.start, -12), _add_months(self.end, -12)
            if self.grain in ("month", "quarter", "year"):
                end = _month_end(end)
        except OverflowError:
            raise PeriodError(_("There is no period a year before {period} to compare with.").format(
                period=self.label)) from None
        if self.grain == "quarter":
            label = quarter_label(*fiscal_quarter_of(start, sm))
        elif self.grain == "year":
            label = year_label(fiscal_year_of(start, sm))
        elif self.grain == "month":
            label = month_label(start.year, start.month)
        else:
            label = format_range(start, end)
        return Period(start, end, label, self.grain, sm)


def day_after_start(d: date, tz=UTC) -> datetime:
    """The first instant after day `d` (exclusive end of a window of days). The last day of the calendar has no day
    after it: its end is the latest instant there is, so "all time" never overflows."""
    if d >= date.max:
        return datetime.max.replace(tzinfo=tz)
    return datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz)


def day_period(d: date, *, fiscal_year_start_month: int = 1) -> Period:
    return Period(d, d, format_day(d), "day", fiscal_year_start_month)


def week_period(d: date, *, fiscal_year_start_month: int = 1) -> Period:
    """The Monday-to-Sunday week containing `d`."""
    start, end = week_bounds(d)
    return Period(start, end, format_range(start, end), "week", fiscal_year_start_month)


def month_period(year: int, month: int, *, fiscal_year_start_month: int = 1) -> Period:
    start = date(year, month, 1)
    return Period(start, _month_end(start), month_label(year, month), "month", fiscal_year_start_month)


def quarter_period(fy: int, q: int, fiscal_year_start_month: int = 1) -> Period:
    start, end = quarter_bounds(fy, q, fiscal_year_start_month)
    return Period(start, end, quarter_label(fy, q), "quarter", fiscal_year_start_month)


def year_period(fy: int, fiscal_year_start_month: int = 1) -> Period:
    start, end = fiscal_year_bounds(fy, fiscal_year_start_month)
    return Period(start, end, year_label(fy), "year", fiscal_year_start_month)


def period_containing(d: date, grain: str, fiscal_year_start_month: int = 1) -> Period:
    """The day, week, month, fiscal quarter or fiscal year containing `d`."""
    sm = fiscal_year_start_month
    if grain == "day":
        return day_period(d, fiscal_year_start_month=sm)
    if grain == "week":
        return week_period(d, fiscal_year_start_month=sm)
    if grain == "month":
        return month_period(d.year, d.month, fiscal_year_start_month=sm)
    if grain == "quarter":
        return quarter_period(*fiscal_quarter_of(d, sm), sm)
    if grain == "year":
        return year_period(fiscal_year_of(d, sm), sm)
    raise ValueError(f"unknown grain {grain!r}")


def all_time(fiscal_year_start_month: int = 1) -> Period:
    return Period(ALL_TIME_START, ALL_TIME_END, "all time", None, fiscal_year_start_month)


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary and tokens
# ---------------------------------------------------------------------------------------------------------------

_FILLER = ""  # canonical form of words that carry no meaning in a period phrase ("the", "in", "for", ...)

_MONTH_WORDS = {
    "jan": "jan", "january": "jan", "feb": "feb", "february": "feb", "mar": "mar", "march": "mar",
    "apr": "apr", "april": "apr", "may": "may", "jun": "jun", "june": "jun", "jul": "jul", "july": "jul",
    "aug": "aug", "august": "aug", "sep": "sep", "sept": "sep", "september": "sep", "oct": "oct",
    "october": "oct", "nov": "nov", "november": "nov", "dec": "dec", "december": "dec",
}
_MONTH_NUM = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                         "nov", "dec"), start=1)}
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fourteen": "14", "fifteen": "15", "twenty": "20",
    "thirty": "30", "sixty": "60", "ninety": "90",
}

# surface word -> canonical word
WORDS: dict[str, str] = {
    "this": "this", "current": "this", "curr": "this", "cur": "this", "present": "this",
    "last": "last", "lst": "last", "previous": "last", "prev": "last", "prior": "last",
    "next": "next", "nxt": "next", "coming": "next", "upcoming": "next", "following": "next",
    "past": "past",
    "day": "day", "days": "day", "dy": "day", "dys": "day",
    "week": "week", "weeks": "week", "wk": "week", "wks": "week",
    "month": "month", "months": "month", "mo": "month", "mos": "month", "mth": "month", "mths": "month",
    "mnth": "month", "mnths": "month",
    "quarter": "quarter", "quarters": "quarter", "qtr": "quarter", "qtrs": "quarter", "qr": "quarter",
    "q": "q",
    "half": "half", "halves": "half", "h": "h",  # "h1", "2h", "first half", "next half"
    "first": "ord1", "second": "ord2", "third": "ord3", "fourth": "ord4",
    "year": "year", "years": "year", "yr": "year", "yrs": "year",
    "d": "d", "w": "w", "m": "m", "y": "y",  # only after a number: "last 30d", "next 2w"
    "fy": "fy", "fiscal": "fiscal",
    "today": "today", "yesterday": "yesterday", "tomorrow": "tomorrow",
    "ytd": "ytd", "qtd": "qtd", "mtd": "mtd", "date": "date",
    "all": "all", "time": "time", "alltime": "alltime",
    "to": "to", "through": "to", "thru": "to", "until": "to", "till": "to", "and": "to", "by": "to",
    "before": "to",
    "the": _FILLER, "of": _FILLER, "in": _FILLER, "for": _FILLER, "during": _FILLER, "over": _FILLER,
    "from": _FILLER, "between": "between", "within": _FILLER,
    **_MONTH_WORDS,
    **_NUMBER_WORDS,
    **intl.WORDS_ID,
    **intl.WORDS_IT,
}
_INTL_WORDS = frozenset(intl.WORDS_ID) | frozenset(intl.WORDS_IT)

# Words that typo correction may aim at (fillers and one/two-letter forms are too easy to hit by accident).
# Indonesian and Italian words are typo targets from five letters ("kuartl", "trimestr"): shorter ones ("ini",
# "lalu", "mese") are too close to other words, and ordinals ("quarto") too close to "quarter".
_VOCAB = sorted(w for w, c in WORDS.items() if c not in (_FILLER, "half", "h") and not c.startswith("ord")
                and len(w) >= (5 if w in _INTL_WORDS else 3))
# Real words a typo must never be "corrected" from (lost -> last, weekly -> week, ...).
_STOPWORDS = frozenset({
    "lost", "list", "lust", "most", "best", "post", "pest", "test", "text", "mast", "vast", "cast", "fast", "east",
    "west", "paste", "team", "teams", "quota", "quotas", "quarts", "deal", "deals", "dash", "daily", "weekly",
    "monthly", "quarterly", "yearly", "annual", "annually", "near", "dear", "wear", "tear", "bear", "hear", "gear",
    "fear", "ears", "data", "yeah", "mark", "just", "must", "rest", "lest", "then", "than", "them", "they", "his",
    "thus", "thin", "weak", "seek", "peek", "weed", "weep", "mouth", "mouths", "mon", "way", "ways", "say", "says",
    "pay", "pays", "bay", "lay", "ray", "dry", "dad", "dan", "dam", "neat", "nest", "prion", "coning",
})
# What typo correction may produce inside free text (extract_period): the words of relative periods only.
_TEXT_CORRECTABLE = frozenset({"this", "last", "next", "past", "day", "week", "month", "quarter", "year",
                               "today", "yesterday", "tomorrow"})

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_TOKEN_RE = re.compile(
    r"(?<!\d)(?P<isodate>\d{4}(?P<sep1>[-/])\d{1,2}(?P=sep1)\d{1,2})(?!\d)"
    r"|(?<![\d/])(?<!\d\.)(?P<numdate>\d{1,2}(?P<sep2>[-/.])\d{1,2}(?P=sep2)(?:\d{4}|\d{2})|\d{1,2}/\d{1,2})(?![\d/])"
    r"|(?<!\d)(?P<isomonth>\d{4}[-/]\d{1,2})(?![\d/])"
    r"|(?P<dots>\.{2,}|(?<=\s)-(?=\s)|(?<=\d)-(?=\d{1,2}\b))"  # "oct 1..dec 31", "oct 1 - dec 31", "oct 1-15"
    r"|(?P<poss>['’]s\b)"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<num>\d+)"
)


@dataclass
class _Tok:
    kind: str  # "isodate" | "isomonth" | "word" | "num" | "dots"
    text: str  # lower-cased surface text
    start: int
    end: int
    canon: str | None = None  # canonical word, digits, placeholder; None when unknown
    corrected: bool = False  # canon came from typo correction
    fixed: str | None = None  # the vocabulary word a typo was read as
    options: tuple[str, ...] = ()  # equally close vocabulary words when the typo is ambiguous
    usable: bool = True  # extract mode: False when glued to an unknown word ("u2026xyz")
    day_first: bool = False  # numdate: 1/10 is the 1st of October (the asker's locale writes the day first)


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@functools.lru_cache(maxsize=4096)
def _correct(word: str, *, prose: bool = False) -> tuple[str | None, tuple[str, ...]]:
    """Read a typo as a vocabulary word.

    (word, ()) when one reading is closest, (None, options) when several different ones tie, (None, ()) when
    nothing is close. difflib shortlists the vocabulary; the edit distance (a swap counts once, so "thsi" is
    "this") ranks it. Prose allows one edit and never touches real words such as "lost" or "weekly".
    """
    if len(word) < (3 if prose else 2) or (prose and word in _STOPWORDS):
        return None, ()
    max_edits = 1 if prose or len(word) <= 4 else 2
    scored = [(_edit_distance(word, m), m) for m in difflib.get_close_matches(word, _VOCAB, n=12, cutoff=0.5)]
    scored = [(d, m) for d, m in scored if d <= max_edits]
    if not scored:
        return None, ()
    best = min(d for d, _ in scored)
    top = sorted(m for d, m in scored if d == best)
    if len({WORDS[m] for m in top}) == 1:
        return top[0], ()
    return None, tuple(top)


def day_first(lang: str | None = None) -> bool:
    """Whether `lang` (default: the language being spoken) writes a date's day before its month: 1/10 is the 1st
    of October in Italian and Indonesian, January 10 in English (CLDR's short date pattern, through Babel)."""
    return _day_first(lang or current_locale())


@functools.cache
def _day_first(lang: str) -> bool:
    from babel import Locale, UnknownLocaleError

    try:
        pattern = Locale.parse(lang).date_formats["short"].pattern
    except (UnknownLocaleError, ValueError):
        return False
    return pattern.lower().find("d") < pattern.find("M")


def _tokenize(text: str, *, prose: bool = False) -> list[_Tok]:
    """The period words of `text`; a numeric date is read in the order the language being spoken writes dates."""
    dayfirst = day_first()
    out: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text.translate(_DASHES)):
        kind = "isodate" if m.group("isodate") else "numdate" if m.group("numdate") else m.lastgroup
        if kind == "poss":
            continue
        tok = _Tok(kind, m.group(0).casefold(), m.start(), m.end(), day_first=dayfirst)
        if kind in ("isodate", "isomonth"):
            tok.canon = kind
        elif kind == "numdate":
            tok.canon = "isodate"
        elif kind == "dots":
            tok.canon = "to"
        elif kind == "num":
            tok.canon = str(int(tok.text)) if len(tok.text) <= 2 else tok.text
        elif tok.text in WORDS:
            tok.canon = WORDS[tok.text]
        else:
            fixed, tok.options = _correct(tok.text, prose=prose)
            if fixed is not None:
                tok.canon, tok.corrected, tok.fixed = WORDS[fixed], True, fixed
        out.append(tok)
    return out


def _restrict_for_text(toks: list[_Tok]) -> None:
    """Extract mode: drop typo corrections that are risky in prose, and words glued to unknown words."""
    for t in toks:
        if t.corrected and t.canon not in _TEXT_CORRECTABLE:
            t.canon, t.corrected = None, False
    group: list[_Tok] = []
    for t in [*toks, None]:
        if t is not None and group and group[-1].end == t.start:
            group.append(t)
            continue
        if any(g.canon is None for g in group):
            for g in group:
                g.usable = False
        group = [t] if t is not None else []


_UNITS = ("day", "week", "month", "quarter", "year")
_TO_DATE = {"year": "ytd", "fy": "ytd", "quarter": "qtd", "month": "mtd"}


def _spelled(tok: _Tok) -> str:
    """The word as meant: a typo's correction ("prosimo" → "prossimo")."""
    return tok.fixed or tok.text


def _in_english_order(raw: list[tuple[str, _Tok]]) -> list[tuple[str, _Tok]]:
    """Indonesian and Italian orders read as the English ones: "kuartal ini", "trimestre scorso" (this quarter,
    last quarter), "bulan kemarin" (last month), "hari ini" (today), "30 hari terakhir" (last 30 days),
    "kuartal ketiga", "terzo trimestre" (q3), "awal tahun", "inizio anno" (year to date)."""
    out: list[tuple[str, _Tok]] = []
    i = 0
    while i < len(raw):
        c, t = raw[i]
        nxt = raw[i + 1][0] if i + 1 < len(raw) else ""
        nxt2 = raw[i + 2][0] if i + 2 < len(raw) else ""
        if c == "day" and nxt == "this" and _spelled(raw[i + 1][1]) in intl.POSTFIX:
            out.append(("today", t))
        elif c == "month" and nxt in _MONTH_NUM and t.text in _INTL_WORDS:  # "bulan Oktober": October
            out.append(raw[i + 1])
        elif c in _UNITS and nxt in ("this", "last", "next", "yesterday") and _spelled(raw[i + 1][1]) in intl.POSTFIX:
            out += [("last" if nxt == "yesterday" else nxt, raw[i + 1][1]), (c, t)]
        elif (c.isdigit() and nxt in _UNITS and nxt2 in ("last", "next") and _spelled(raw[i + 2][1]) in intl.POSTFIX
              and not (out and out[-1][0] == "q")):  # "30 hari terakhir", not "Q1 tahun depan"
            out += [(nxt2, raw[i + 2][1]), (c, t), raw[i + 1]]
            i += 3
            continue
        elif c.startswith("ord") and nxt in ("quarter", "half"):
            out += [("q" if nxt == "quarter" else "h", t), (c[3:], t)]
        elif c in ("quarter", "half") and nxt.startswith("ord"):
            out += [("q" if c == "quarter" else "h", t), (nxt[3:], raw[i + 1][1])]
        elif c == "half" and nxt in ("this", "last", "next") and _spelled(raw[i + 1][1]) in intl.POSTFIX:
            out += [(nxt, raw[i + 1][1]), (c, t)]  # "semestre prossimo": next half
        elif c == "start" and nxt in _TO_DATE:
            out.append((_TO_DATE[nxt], t))
        else:
            out.append((c, t))
            i += 1
            continue
        i += 2
    return out


def _items(toks: list[_Tok]) -> list[tuple[str, _Tok]] | None:
    """Canonical (word, token) pairs with fillers dropped and multi-word forms joined; None if a word is unknown."""
    raw = []
    for t in toks:
        if t.canon is None:
            return None
        if t.canon != _FILLER:
            raw.append((t.canon, t))
    raw = _in_english_order(raw)
    out: list[tuple[str, _Tok]] = []
    i = 0
    while i < len(raw):
        c, t = raw[i]
        nxt = raw[i + 1][0] if i + 1 < len(raw) else None
        nxt2 = raw[i + 2][0] if i + 2 < len(raw) else None
        if c == "fiscal":
            if nxt == "year":
                out.append(("fy", t))
                i += 2
                continue
            if nxt in ("quarter", "q", "ytd", "qtd"):
                i += 1
                continue
            if nxt is not None and nxt.isdigit():
                out.append(("fy", t))
                i += 1
                continue
        if c in ("year", "quarter", "month", "fy") and nxt == "to" and nxt2 == "date":
            out.append(({"year": "ytd", "fy": "ytd", "quarter": "qtd", "month": "mtd"}[c], t))
            i += 3
            continue
        if c == "quarter" and nxt is not None and nxt.isdigit() and len(nxt) == 1:
            c = "q"
        if c == "to" and out and out[-1][0] == "to":  # "fino al": one "to"
            i += 1
            continue
        if c == "all" and nxt == "time":
            out.append(("alltime", t))
            i += 2
            continue
        out.append((c, t))
        i += 1
    return out


# ---------------------------------------------------------------------------------------------------------------
# The grammar
# ---------------------------------------------------------------------------------------------------------------

_MONTHS_RE = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_UNIT_NAME = {"day": "day", "d": "day", "week": "week", "w": "week", "month": "month", "m": "month",
              "quarter": "quarter", "q": "quarter", "year": "year", "y": "year", "fy": "year"}
_FULL_MONTH_NAMES = (frozenset(w for w in _MONTH_WORDS if len(w) > 4 and w != "march") | {"june", "july"}
                     | intl.FULL_MONTH_NAMES)


def _year(digits: str, *, two_digit_ok: bool) -> int | None:
    if len(digits) == 2 and two_digit_ok:
        return 2000 + int(digits)
    if len(digits) != 4:
        return None
    y = int(digits)
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise _outside_years(y)
    return y


def half_period(fy: int, h: int, fiscal_year_start_month: int = 1) -> Period:
    """Half `h` (1 or 2) of fiscal year `fy`: its first two quarters or its last two, labelled "H1 FY2027"."""
    start = quarter_bounds(fy, 2 * h - 1, fiscal_year_start_month)[0]
    end = quarter_bounds(fy, 2 * h, fiscal_year_start_month)[1]
    return Period(start, end, f"H{h} FY{fy}", None, fiscal_year_start_month)


_HALF = r"(?:(?:h|half) (?P<h>\d)|(?P<hb>\d) h)"


def _half(s: str, today: date, sm: int, *, in_text: bool) -> Period | None:
    """"h1", "2h", "half 1", "first half" (read as "h 1"), with "this", "next year", "2027", "fy27" or "fy 2027"
    around it, and "this", "last" or "next half": a fiscal half-year. In prose a number other than 1 or 2 ("24h")
    is no half; in a period typed alone it is an error."""
    if m := re.fullmatch(r"(this|last|next) half", s):
        fy, q = fiscal_quarter_of(today, sm)
        index = 2 * fy + (q - 1) // 2 + {"this": 0, "last": -1, "next": 1}[m[1]]
        return half_period(index // 2, index % 2 + 1, sm)
    for pattern in (rf"(?:this )?{_HALF}", rf"{_HALF} (?P<rel>this|last|next) (?:year|fy)",
                    rf"{_HALF} (?P<fy>fy )?(?P<year>\d+)", rf"(?P<fy>fy )?(?P<year>\d+) {_HALF}"):
        if m := re.fullmatch(pattern, s):
            break
    else:
        return None
    h = int(m["h"] or m["hb"])
    if h not in (1, 2):
        if in_text:
            return None
        raise PeriodError(_("There is no H{half}: a fiscal year has halves H1 and H2.").format(half=h)
                          + " " + accepted_forms_text())
    groups = m.groupdict()
    if groups.get("year"):
        fy = _year(m["year"], two_digit_ok=bool(m["fy"]) or not in_text)
        return None if fy is None else half_period(fy, h, sm)
    fy = fiscal_year_of(today, sm) + {None: 0, "this": 0, "last": -1, "next": 1}[groups.get("rel")]
    return half_period(fy, h, sm)


def _quarter_number(digits: str) -> int:
    q = int(digits)
    if not 1 <= q <= 4:
        raise PeriodError(_("There is no Q{quarter}: a fiscal year has quarters Q1 to Q4.").format(quarter=q)
                          + " " + accepted_forms_text())
    return q


def calendar_day(day: int, month: int, year: int | None, today: date) -> date:
    """A day of the calendar; without a year, the nearest one to `today` ("1 ottobre" on Dec 1 is Oct 1 this year,
    "15/1" is Jan 15 next year). ValueError when there is no such day."""
    if year is not None:
        return date(year, month, day)
    found = []
    for y in (today.year - 1, today.year, today.year + 1):
        try:
            found.append(date(y, month, day))
        except ValueError:
            continue
    if not found:
        raise ValueError(f"no day {day} in month {month}")
    return min(found, key=lambda d: (abs((d - today).days), d > today))


def _numeric_date(tok: _Tok, today: date) -> date:
    """1/10, 01/10/2026, 1.10.26 in the order the asker writes dates (an impossible order gives way to the other:
    13/10 is October 13 for anyone)."""
    parts = [int(p) for p in re.split(r"[-/.]", tok.text)]
    a, b = parts[0], parts[1]
    year = None if len(parts) == 2 else parts[2] + (2000 if parts[2] < 100 else 0)
    day, month = (a, b) if tok.day_first else (b, a)
    if month > 12 and day <= 12:
        day, month = month, day
    try:
        return calendar_day(day, month, year, today)
    except ValueError:
        order = _("dd/mm/yyyy") if tok.day_first else _("mm/dd/yyyy")
        raise PeriodError(_("{text} is not a date (you write dates as {order}, or 2026-07-01).").format(
            text=tok.text, order=order) + " " + accepted_forms_text()) from None


def _iso(tok: _Tok, today: date) -> tuple[date, date]:
    if tok.kind == "numdate":
        d = _numeric_date(tok, today)
        return d, d
    parts = [int(p) for p in re.split(r"[-/]", tok.text)]
    if tok.kind == "isomonth":
        y, m = parts
        if not 1 <= m <= 12:
            raise PeriodError(_("{text} is not a month: months run from 01 to 12.").format(text=tok.text)
                              + " " + accepted_forms_text())
        if not MIN_YEAR <= y <= MAX_YEAR:
            raise _outside_years(y)
        start = date(y, m, 1)
        return start, _month_end(start)
    try:
        d = date(*parts)
    except ValueError:
        raise PeriodError(_("{text} is not a date (dates look like 2026-07-01).").format(text=tok.text)
                          + " " + accepted_forms_text()) from None
    if d.year < MIN_YEAR:
        raise _outside_years(d.year)
    return d, d


def _relative(rel: str, unit: str, today: date, sm: int) -> Period:
    off = {"this": 0, "last": -1, "next": 1}[rel]
    unit = _UNIT_NAME[unit]
    if unit == "week":
        base = week_period(today + timedelta(weeks=off), fiscal_year_start_month=sm)
    elif unit == "month":
        first = _add_months(today.replace(day=1), off)
        base = month_period(first.year, first.month, fiscal_year_start_month=sm)
    elif unit == "quarter":
        fy, q = fiscal_quarter_of(today, sm)
        fy, q0 = divmod(fy * 4 + q - 1 + off, 4)
        base = quarter_period(fy, q0 + 1, sm)
    else:
        base = year_period(fiscal_year_of(today, sm) + off, sm)
    return replace(base, label=_(RELATIVE_LABELS[rel, unit]).format(label=base.label))


PAST_LABELS = {"day": N_("past day"), "week": N_("past week"), "month": N_("past month"),
               "quarter": N_("past quarter"), "year": N_("past year")}


def rolling_label(back: bool, n: int, unit: str) -> str:
    """'last 30 days' / 'next 2 weeks' in the current language, with the plural form the count wants."""
    if back:
        forms = {"day": ngettext("last {n} day", "last {n} days", n),
                 "week": ngettext("last {n} week", "last {n} weeks", n),
                 "month": ngettext("last {n} month", "last {n} months", n),
                 "quarter": ngettext("last {n} quarter", "last {n} quarters", n),
                 "year": ngettext("last {n} year", "last {n} years", n)}
    else:
        forms = {"day": ngettext("next {n} day", "next {n} days", n),
                 "week": ngettext("next {n} week", "next {n} weeks", n),
                 "month": ngettext("next {n} month", "next {n} months", n),
                 "quarter": ngettext("next {n} quarter", "next {n} quarters", n),
                 "year": ngettext("next {n} year", "next {n} years", n)}
    return forms[unit].format(n=n)


def _rolling(word: str, n: int | None, unit: str, today: date, sm: int) -> Period:
    """`last|past|next N unit` (a rolling window ending or starting today); 'past week' is the last 7 days. The
    label is in the asker's language ('past' reads as 'last' once counted)."""
    unit = _UNIT_NAME[unit]
    count = 1 if n is None else n
    label = _(PAST_LABELS[unit]) if n is None else rolling_label(word in ("last", "past"), count, unit)
    if count < 1:
        raise PeriodError(_('"{period}" is empty: the count must be at least 1, as in "{example}".').format(
            period=label, example=rolling_label(True, 30, "day")))
    months = {"month": 1, "quarter": 3, "year": 12}.get(unit)
    if word in ("last", "past"):
        end = today
        if months:
            start = _add_months(today, -months * count) + timedelta(days=1)
        else:
            start = today - timedelta(days=count * (7 if unit == "week" else 1) - 1)
    else:
        start = today
        if months:
            end = _add_months(today, months * count) - timedelta(days=1)
        else:
            end = today + timedelta(days=count * (7 if unit == "week" else 1) - 1)
    if start < ALL_TIME_START:
        raise OverflowError
    return Period(start, end, label, None, sm)


def _match(items: list[tuple[str, _Tok]], today: date, sm: int, *, in_text: bool = False) -> Period | None:
    """The period the canonical words spell, None if they spell none; PeriodError for impossible values."""
    s = " ".join(c for c, _ in items)
    toks = [t for _, t in items]

    if s in ("today", "yesterday", "tomorrow"):
        d = today + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[s])
        return replace(day_period(d, fiscal_year_start_month=sm), label=_(DAY_LABELS[s]).format(day=format_day(d)))

    if m := re.fullmatch(r"(this|last|next) (week|month|quarter|q|year|fy)", s):
        return _relative(m[1], m[2], today, sm)

    if m := re.fullmatch(r"(last|next|past) (\d+) (day|week|month|quarter|q|year|d|w|m|y)", s):
        return _rolling(m[1], int(m[2]), m[3], today, sm)
    if m := re.fullmatch(r"past (day|week|month|quarter|q|year)", s):
        return _rolling("past", None, m[1], today, sm)

    if s in ("ytd", "qtd", "mtd"):
        if s == "ytd":
            fy = fiscal_year_of(today, sm)
            start, what = fiscal_year_bounds(fy, sm)[0], _("year to date ({label})").format(label=year_label(fy))
        elif s == "qtd":
            fy, q = fiscal_quarter_of(today, sm)
            start, what = quarter_bounds(fy, q, sm)[0], _("quarter to date ({label})").format(
                label=quarter_label(fy, q))
        else:
            start, what = today.replace(day=1), _("month to date ({label})").format(
                label=month_label(today.year, today.month))
        return Period(start, today, what, None, sm)

    if m := re.fullmatch(r"(?:this )?q (\d+)", s):
        return quarter_period(fiscal_year_of(today, sm), _quarter_number(m[1]), sm)
    if m := re.fullmatch(r"q (\d+) (this|last|next) (?:year|fy)", s):  # "q1 next year", "Q1 tahun depan"
        fy = fiscal_year_of(today, sm) + {"this": 0, "last": -1, "next": 1}[m[2]]
        return quarter_period(fy, _quarter_number(m[1]), sm)
    if m := re.fullmatch(r"q (\d+) (fy )?(\d+)", s):
        q = _quarter_number(m[1])
        fy = _year(m[3], two_digit_ok=bool(m[2]) or not in_text)  # in prose "q3 10 deals" is not FY2010
        return None if fy is None else quarter_period(fy, q, sm)
    if m := re.fullmatch(r"(fy )?(\d+) q (\d+)", s):
        fy = _year(m[2], two_digit_ok=bool(m[1]))
        q = _quarter_number(m[3])
        return None if fy is None else quarter_period(fy, q, sm)

    if half := _half(s, today, sm, in_text=in_text):
        return half

    if m := re.fullmatch(r"fy (\d+)", s):
        fy = _year(m[1], two_digit_ok=True)
        return None if fy is None else year_period(fy, sm)
    if re.fullmatch(r"\d{4}", s):
        if in_text and not (today.year - 10 <= int(s) <= today.year + 5):
            return None
        return year_period(_year(s, two_digit_ok=False), sm)

    if m := re.fullmatch(rf"({_MONTHS_RE})(?: (\d{{4}}))?|(\d{{4}}) ({_MONTHS_RE})", s):
        month = _MONTH_NUM[m[1] or m[4]]
        digits = m[2] or m[3]
        if digits is None:
            if in_text and toks[0].text not in _FULL_MONTH_NAMES:
                return None  # "may", "mar", "jan" are too often other words
            return month_period(today.year, month, fiscal_year_start_month=sm)
        return month_period(_year(digits, two_digit_ok=False), month, fiscal_year_start_month=sm)

    if m := re.fullmatch(rf"(\d{{1,2}}) ({_MONTHS_RE})(?: (\d{{4}}))?|({_MONTHS_RE}) (\d{{1,2}})(?: (\d{{4}}))?", s):
        try:
            d = calendar_day(int(m[1] or m[5]), _MONTH_NUM[m[2] or m[4]], int(m[3] or m[6]) if m[3] or m[6] else None,
                             today)
        except ValueError:
            if in_text:
                return None
            raise PeriodError(_('"{phrase}" is not a day on the calendar.').format(
                phrase=" ".join(t.text for t in toks)) + " " + accepted_forms_text()) from None
        return day_period(d, fiscal_year_start_month=sm)

    if s in ("isodate", "isomonth"):
        start, end = _iso(toks[0], today)
        if s == "isodate":
            return day_period(start, fiscal_year_start_month=sm)
        return month_period(start.year, start.month, fiscal_year_start_month=sm)
    if re.fullmatch(r"(?:between )?(isodate|isomonth) (?:to )?(isodate|isomonth)", s):
        first, last = toks[1 if s.startswith("between ") else 0], toks[-1]
        start, end = _iso(first, today)[0], _iso(last, today)[1]
        if start > end:
            raise PeriodError(_("The range {first}..{last} starts after it ends; put the earlier date first, as in "
                                "2026-07-01..2026-09-30.").format(first=first.text, last=last.text))
        return Period(start, end, format_range(start, end), None, sm)

    if s == "alltime" or (s == "all" and not in_text):
        return all_time(sm)
    if s.startswith("to ") and toks[0].text in _UNTIL_WORDS:
        return _until(items[1:], today, sm, in_text=in_text and toks[0].text == "by",
                      before=toks[0].text in _BEFORE_WORDS) or (
            _match(items[1:], today, sm, in_text=in_text) if toks[0].text == "entro" else None)
    if s.startswith("between "):
        return _day_range(items[1:], today, sm, between=True) or _match(items[1:], today, sm, in_text=in_text)
    return _day_range(items, today, sm, between=False)


# "until dec 31", "by dec 31", "fino al 31/12", "entro il 31/12", "sampai 31/12": from today to that day; "before
# dec 31", "sebelum 31/12": to the day before
_BEFORE_WORDS = frozenset({"before", "sebelum"})
_UNTIL_WORDS = frozenset({"until", "till", "through", "thru", "by", "fino", "entro", "sampai", "hingga",
                          *_BEFORE_WORDS})
# "and", "e", "dan" join the two ends of a range only after "between", "tra", "fra", "antara" ("oct and dec" alone
# may be two months)
_AND_WORDS = frozenset({"and", "e", "dan"})


_RANGE_GRAINS = ("day", "month")
# "q3 to q4", "last week to this week": the two ends of a range; "until q4", "till next week": the end of one that
# runs from today
_RANGE_END_GRAINS = ("day", "week", "month", "quarter")


def _range_end(items: list[tuple[str, _Tok]], today: date, sm: int, *, in_text: bool = False,
               grains: tuple[str, ...] = _RANGE_GRAINS) -> Period | None:
    """One end of a range: a day or a month ("oct" alone is a month here, the range says it is a date); between two
    ends, a week or a quarter too."""
    if not items or any(c in ("to", "between") for c, _ in items):
        return None
    period = _match(items, today, sm, in_text=in_text)
    return period if period is not None and period.grain in grains else None


def _year_given(items: list[tuple[str, _Tok]]) -> bool:
    return any(t.kind in ("isodate", "isomonth") or (t.kind == "num" and len(t.text) == 4) for _, t in items)


def _day_range(items: list[tuple[str, _Tok]], today: date, sm: int, *, between: bool) -> Period | None:
    """"oct 1 to dec 31", "between oct and dec", "tra 1/10 e 31/12", "antara 1 Okt dan 31 Des": from the first day of
    one day or month through the last day of another, both ends included."""
    for k, (c, t) in enumerate(items):
        if c != "to" or (t.text in _AND_WORDS and not between):
            continue
        first = _range_end(items[:k], today, sm, grains=_RANGE_END_GRAINS)
        last = _range_end(items[k + 1:], today, sm, grains=_RANGE_END_GRAINS)
        if first is not None and last is None:
            last = _day_of_same_month(items[k + 1:], first, sm)  # "oct 1 - 15"
        elif first is None and last is not None:
            first = _day_of_same_month(items[:k], last, sm)  # "1 - 15 oct", "dal 1 al 15 ottobre"
        if first is None or last is None:
            continue
        if first.start > last.end and last.grain in ("month", "quarter") and not _year_given(items[k + 1:]):
            last = _year_later(last)  # "nov to feb", "q4 to q1"
        if first.start > last.end:
            raise PeriodError(_("The range {first}..{last} starts after it ends; put the earlier date first, as in "
                                "2026-07-01..2026-09-30.").format(first=" ".join(t.text for _, t in items[:k]),
                                                                 last=" ".join(t.text for _, t in items[k + 1:])))
        return Period(first.start, last.end, format_range(first.start, last.end), None, sm)
    return None


def _day_of_same_month(items: list[tuple[str, _Tok]], other: Period, sm: int) -> Period | None:
    """A bare day number at one end of a range whose other end is a day: that day of the other end's month."""
    if other.grain != "day" or len(items) != 1 or not (items[0][0].isdigit() and len(items[0][0]) <= 2):
        return None
    try:
        return day_period(other.start.replace(day=int(items[0][0])), fiscal_year_start_month=sm)
    except ValueError:
        return None


def _year_later(period: Period) -> Period:
    """The same month or quarter a year later."""
    sm = period.fiscal_year_start_month
    if period.grain == "month":
        return month_period(period.start.year + 1, period.start.month, fiscal_year_start_month=sm)
    fy, q = fiscal_quarter_of(period.start, sm)
    return quarter_period(fy + 1, q, sm)


def _until(items: list[tuple[str, _Tok]], today: date, sm: int, *, in_text: bool, before: bool) -> Period | None:
    """"until dec 31": from today through that day (or week, month, quarter), as "by the end of the month" runs
    from today;
    `before`: through the day before it. `in_text`: after "by" a bare "may" or "jan" is more likely someone's name
    ("pipeline by may")."""
    found = _range_end(items, today, sm, in_text=in_text, grains=_RANGE_END_GRAINS)
    if found is None:
        return None
    end, label = (found.start - timedelta(days=1), None) if before else (found.end, found.label)
    if end < today:
        raise PeriodError(_("{period} is already past, so there is nothing from today until then; say where the "
                            "period starts, as in 2026-07-01..2026-09-30.").format(period=label or format_day(end)))
    return Period(today, end, format_range(today, end), None, sm)


# ---------------------------------------------------------------------------------------------------------------
# Phrases read as a whole: weekdays, "since …", "end of the month"
# ---------------------------------------------------------------------------------------------------------------

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_WORDS = {name.lower(): i for i, name in enumerate(_WEEKDAY_NAMES)} | {
    "tues": 1, "weds": 2, "thurs": 3, "thur": 3} | intl.WEEKDAYS
# "since", "sejak", "dal", "dall'": the words that open a "since …" phrase, with the space after them.
_SINCE_LEAD = r"(?:(?:since|after|sejak|semenjak|dal|dalla|da)\s+|dall['’]\s*)"
_INTL_REL = "|".join(intl.RELATIVE)
_WEEKDAY_RE = re.compile(
    rf"\b(?P<since>{_SINCE_LEAD}|from\s+)?(?:(?P<rel>last|this|next|past|{_INTL_REL})\s+)?(?:hari\s+)?(?P<day>"
    + "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True)) + rf")(?:'s|’s)?(?:\s+(?P<post>{_INTL_REL}))?"
    r"(?!\w)", re.IGNORECASE)
_UNIT_WORDS = r"week|month|quarter|qtr|year|yr|fiscal year|fy"
_TO_END_RE = re.compile(
    r"\b(?:(?:by|until|till|through|thru|before|to)\s+)?(?:the\s+)?(?:"
    rf"(?:end|close)\s+of\s+(?:the\s+)?(?:(?P<rel>this|next)\s+)?(?P<unit>{_UNIT_WORDS})"
    rf"|(?:rest|remainder|balance)\s+of\s+(?:the\s+|this\s+)?(?P<unit2>{_UNIT_WORDS})"
    r"|eo(?P<abbr>[wmqy])"
    rf"|(?:(?P<rel3>this|next)\s+)?(?P<unit3>{_UNIT_WORDS})[- ]end)\b",
    re.IGNORECASE)
_INTL_UNITS = "|".join(intl.UNITS)
# "fine mese", "entro la fine del trimestre", "fine del prossimo trimestre", "akhir bulan", "sampai akhir kuartal"
_TO_END_INTL_RE = re.compile(
    r"\b(?:(?:entro|fino\s+a|sampai|hingga)\s+)?(?:la\s+)?(?:fine|akhir)\s+(?:(?:del|dello|della|di)\s+|dell['’]\s*)?"
    rf"(?:(?P<rel0>prossimo|prossima|questo|questa)\s+)?(?P<unit>{_INTL_UNITS})(?:\s+(?P<rel>ini|depan|prossimo|prossima))?"
    r"\b", re.IGNORECASE)
_ABBR_UNITS = {"w": "week", "m": "month", "q": "quarter", "y": "year"}
_SINCE_BEFORE = re.compile(rf"\b{_SINCE_LEAD}$", re.IGNORECASE)


def _weekday(m: re.Match, today: date) -> Period:
    target = _WEEKDAY_WORDS[m["day"].lower()]
    rel = (m["rel"] or m["post"] or "").lower()
    rel = intl.RELATIVE.get(rel, rel)
    back = (today.weekday() - target) % 7
    if rel in ("last", "past"):
        d = today - timedelta(days=back or 7)  # the most recent one before today
    elif rel == "this":
        d = week_bounds(today)[0] + timedelta(days=target)
    elif rel == "next":
        d = today + timedelta(days=(target - today.weekday()) % 7 or 7)
    else:
        d = today - timedelta(days=back)  # the most recent one, today included
    name = _weekday_name(target)
    if m["since"]:
        if d > today:
            raise PeriodError(_("{weekday}, {date} is still to come, so there is nothing since then yet.").format(
                weekday=name, date=format_day(d)))
        return Period(d, today, _("since {weekday} ({dates})").format(weekday=name, dates=format_range(d, today)))
    return Period(d, d, f"{name} ({format_day(d)})", "day")


def _to_end(m: re.Match, today: date, sm: int) -> Period:
    unit = (m["unit"] or m["unit2"] or m["unit3"] or _ABBR_UNITS.get((m["abbr"] or "").lower(), "")).lower()
    unit = {"qtr": "quarter", "yr": "year", "fiscal year": "year", "fy": "year"}.get(unit, unit)
    return _to_end_of((m["rel"] or m["rel3"] or "this").lower(), unit, today, sm)


def _to_end_intl(m: re.Match, today: date, sm: int) -> Period:
    rel = (m["rel0"] or m["rel"] or "this").lower()
    return _to_end_of(intl.RELATIVE.get(rel, rel), intl.UNITS[m["unit"].lower()], today, sm)


_TO_END_OF = {"week": N_("from today to the end of the week"), "month": N_("from today to the end of the month"),
              "quarter": N_("from today to the end of the quarter"), "year": N_("from today to the end of the year")}
_TO_END_OF_NEXT = {"week": N_("from today to the end of next week"),
                   "month": N_("from today to the end of next month"),
                   "quarter": N_("from today to the end of next quarter"),
                   "year": N_("from today to the end of next year")}


def _to_end_of(rel: str, unit: str, today: date, sm: int) -> Period:
    end = _relative(rel, unit, today, sm).end
    label = _((_TO_END_OF_NEXT if rel == "next" else _TO_END_OF)[unit])
    return Period(today, end, f"{label} ({format_range(today, end)})", None, sm)


def _whole_phrase(text: str, today: date, sm: int) -> tuple[Period, int, int] | None:
    """A weekday or "end of the month" phrase in `text`: (period, start char, end char), or None."""
    for regex, read in ((_TO_END_RE, lambda m: _to_end(m, today, sm)),
                        (_TO_END_INTL_RE, lambda m: _to_end_intl(m, today, sm)),
                        (_WEEKDAY_RE, lambda m: _weekday(m, today))):
        m = regex.search(text)
        if m is not None:
            try:
                period = read(m)
            except (OverflowError, ValueError):
                raise _outside_calendar(m[0]) from None
            return replace(period, fiscal_year_start_month=sm), m.start(), m.end()
    return None


def since(period: Period, today: date) -> Period:
    """From the start of `period` through today: "since last week"."""
    if period.start > today:
        raise PeriodError(_("{period} has not started yet, so there is nothing since then.").format(
            period=period.label))
    core = re.sub(r"\s*\(.*\)$", "", period.label)
    label = _("since {period} ({dates})").format(period=core, dates=format_range(period.start, today))
    return Period(period.start, today, label, None,
                  period.fiscal_year_start_month)


# ---------------------------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------------------------


def parse_period(text: str, today: date, fiscal_year_start_month: int = 1) -> Period:
    """The period `text` names, relative to `today`; PeriodError (with the accepted forms) when it names none."""
    _check_start_month(fiscal_year_start_month)
    raw = " ".join((text or "").split())
    if not raw:
        raise PeriodError(_("No period given.") + " " + accepted_forms_text(), text=text)
    if m := re.fullmatch(rf"({_SINCE_LEAD})(.+)", raw, re.IGNORECASE):
        return since(parse_period(m[2], today, fiscal_year_start_month), today)
    whole = _whole_phrase(raw, today, fiscal_year_start_month)
    if whole is not None and whole[1] == 0 and whole[2] == len(raw):
        return whole[0]
    toks = _tokenize(raw)
    items = _items(toks)
    if toks and items is not None:
        try:
            period = _match(items, today, fiscal_year_start_month)
        except (OverflowError, ValueError):
            raise _outside_calendar(raw, text=text) from None
        if period is not None:
            return period
    raise _not_understood(raw, toks, today, fiscal_year_start_month)


def _try_parse(text: str, today: date, sm: int) -> Period | None:
    try:
        return parse_period(text, today, sm)
    except PeriodError:
        return None


def _spelled_out(text: str) -> str:
    """`text` with each typo replaced by the word it was read as ("nxt quartr" -> "nxt quarter")."""
    for t in reversed(_tokenize(text, prose=True)):
        if t.fixed:
            text = text[: t.start] + t.fixed + text[t.end:]
    return text


def _suggestion_phrases(today: date, sm: int) -> list[str]:
    fy = fiscal_year_of(today, sm)
    phrases = ["today", "yesterday", "tomorrow", "ytd", "qtd", "mtd", "year to date", "quarter to date",
               "month to date", "all time", "last 7 days", "last 30 days", "last 90 days", "next 30 days",
               "next 90 days", "q1", "q2", "q3", "q4", f"fy{fy}", f"fy{fy + 1}", f"fy{fy - 1}"]
    for rel in ("this", "last", "next"):
        phrases += [f"{rel} {unit}" for unit in ("week", "month", "quarter", "year")]
    return phrases


def _not_understood(raw: str, toks: list[_Tok], today: date, sm: int) -> PeriodError:
    suggestions: list[str] = []
    # 1. an ambiguous typo: try each reading
    for t in toks:
        if t.options:
            for option in t.options:
                candidate = raw[: t.start] + option + raw[t.end:]
                if _try_parse(candidate, today, sm) is not None and candidate not in suggestions:
                    suggestions.append(candidate)
            if suggestions:
                break
    # 2. a period inside a longer text: "pipeline q3" -> "q3"
    if not suggestions:
        try:
            found = _find(raw, today, sm)
        except PeriodError:
            found = None
        if found is not None:
            suggestions.append(_spelled_out(raw[found[1]: found[2]]))
    # 3. the nearest common phrase, reading typos as corrected
    if not suggestions:
        spelled = " ".join(_UNIT_NAME.get(t.canon or "", t.fixed or t.text) for t in toks)
        if m := re.fullmatch(r"(\d+) (day|week|month|quarter|year)", spelled):
            suggestions = [f"last {m[1]} {m[2]}{'' if m[1] == '1' else 's'}"]  # "30d" -> "last 30 days"
        else:
            suggestions = difflib.get_close_matches(spelled, _suggestion_phrases(today, sm), n=1, cutoff=0.6)
    hints = []
    canons = [t.canon for t in toks]
    if "fy" in canons:
        hints.append(_("A fiscal year is written fy2027, fy27 or fy 2027, and a quarter of it fy2027 q1."))
    elif "q" in canons:
        hints.append(_("A quarter is written q3 (this fiscal year), q3 2026 or fy2027 q1."))
    message = _('I couldn\'t understand the period "{text}".').format(text=raw)
    if hints:
        message += " " + " ".join(hints)
    if suggestions:
        message += " " + _("Did you mean {options}?").format(options=_either(f'"{s}"' for s in suggestions))
    message += " " + accepted_forms_text()
    return PeriodError(message, text=raw, suggestion=suggestions[0] if suggestions else None)


_MAX_WINDOW = 8


def _find(text: str, today: date, sm: int) -> tuple[Period, int, int, int] | None:
    """(period, start char, end char, start char including leading fillers) of the best period phrase in `text`."""
    toks = _tokenize(text, prose=True)
    _restrict_for_text(toks)
    n = len(toks)
    best = None  # ((length, -first), i, j, Period | PeriodError)
    for i in range(n):
        if not toks[i].usable or toks[i].canon in (None, _FILLER):
            continue
        if i > 0 and toks[i - 1].end == toks[i].start:
            continue  # a window never starts inside a glued word such as "fy27q1"
        for j in range(i, min(n, i + _MAX_WINDOW)):
            window = toks[i: j + 1]
            last = toks[j]
            if last.canon is None or not last.usable:
                break  # no period phrase runs through an unknown word
            if last.canon == _FILLER:
                continue
            if j + 1 < n and toks[j + 1].start == last.end:
                continue  # nor ends inside one
            if all(t.corrected for t in window if t.canon != _FILLER):
                continue  # at least one word must be spelled right
            if i == j and last.kind == "num" and text[last.start - 1: last.start] in ("$", "€", "£", "#"):
                continue  # "$2026" is money, "#2026" a number, not a year
            items = _items(window)
            if not items:
                continue
            try:
                result: Period | PeriodError | None = _match(items, today, sm, in_text=True)
            except PeriodError as exc:
                result = exc
            except (OverflowError, ValueError):
                result = _outside_calendar(text[toks[i].start: last.end])
            if result is None:
                continue
            key = (j - i + 1, -i)
            if best is None or key > best[0]:
                best = (key, i, j, result)
    if best is None:
        return None
    _, i, j, result = best
    if isinstance(result, PeriodError):
        raise result
    first = i
    while first > 0 and toks[first - 1].canon in (_FILLER, "between"):
        first -= 1
    end = toks[j].end
    if text[end: end + 2] in ("'s", "’s"):
        end += 2
    return result, toks[i].start, end, toks[first].start


def extract_period(text: str, today: date, fiscal_year_start_month: int = 1) -> tuple[Period | None, str]:
    """Find a period phrase inside free text: (period, the text without it), or (None, text) when there is none.

    "west team pipeline next quarter" -> (next quarter, "west team pipeline"). The longest phrase wins, then the
    leftmost; a preposition or "the" just before it goes with it ("over the last 30 days"). Inside prose it is more
    careful than parse_period: a bare "all", "may" or "mar", a year far from today, or a word glued to something
    else ("u2026x") is not taken for a period, and typos are forgiven only in relative words ("nxt quater").
    A phrase that is clearly a period but an impossible one (q5, 2026-13, a range that ends before it starts)
    raises PeriodError.
    """
    _check_start_month(fiscal_year_start_month)
    whole = _whole_phrase(text, today, fiscal_year_start_month)
    if whole is not None:
        period, begin, end = whole
    else:
        found = _find(text, today, fiscal_year_start_month)
        if found is None:
            return None, text
        period, _, end, begin = found
        if m := _SINCE_BEFORE.search(text[:begin]):
            # "da inizio anno" already runs to today, "dal 1/12 al 15/12" is a range of its own
            whole = period.end == today or (period.grain is None and period.start < period.end)
            period, begin = period if whole else since(period, today), m.start()
    rest = text[:begin] + " " + text[end:]
    rest = re.sub(r"\s+", " ", rest).strip()
    rest = re.sub(r"\s+([?!.,;:])", r"\1", rest)
    return period, rest
