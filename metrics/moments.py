"""Moments for as-of questions (DESIGN §4a): "as of oct 1", `--as-of 2026-10-01`, the points of a trend.

A date means the end of that day where the org is (DEFAULT_TIMEZONE); a timestamp is taken as given (one without
a zone is read in the org's). Pure Python, no database.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from errors import UserError
from i18n import _
from metrics.periods import Period, PeriodError, parse_period, week_bounds

TREND_GRAINS = ("weekly", "monthly")
DEFAULT_POINTS = {"weekly": 13, "monthly": 12}
MAX_POINTS = 60
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}
_MONTH = r"(?P<{}>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<{}>\d{{4}}))?"
_MONTH_DAY = re.compile(
    rf"(?:{_MONTH.format('m1')}\s+{_DAY.format('d1')}{_YEAR.format('y1')}"
    rf"|{_DAY.format('d2')}\s+(?:of\s+)?{_MONTH.format('m2')}{_YEAR.format('y2')})", re.IGNORECASE)
_AS_OF = re.compile(r"\bas\s+(?:of|at)\s+", re.IGNORECASE)


class MomentError(UserError):
    """An as-of date or a trend that cannot be read or asked."""


class FutureMoment(MomentError):
    """An as-of moment after the end of today."""


def end_of_day(d: date, tz: ZoneInfo) -> datetime:
    """A date as an as-of moment: the last instant of that day where the org is."""
    return datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz) - timedelta(microseconds=1)


def _month_day(m: re.Match, today: date) -> date:
    month = _MONTHS[(m["m1"] or m["m2"])[:3].lower()]
    day, year = int(m["d1"] or m["d2"]), m["y1"] or m["y2"]
    if year:
        return date(int(year), month, day)
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


def _past(period: Period, raw: str, today: date) -> date:
    """The period's last day; a day typed without its year ("1 ottobre", "15/1") is the last one that has come."""
    end = period.end
    if period.grain == "day" and end > today and not re.search(r"\d{4}|\d+[/.-]\d+[/.-]\d+", raw):
        return end.replace(year=end.year - 1)
    return end


def parse_moment(text: str, today: date, tz: ZoneInfo, fiscal_start_month: int = 1) -> datetime:
    """"2026-10-01", "2026-10-01T09:30:00+02:00", "oct 1", "1 october 2025", "1 ottobre", "1 okt", "1/10" (in the
    order the asker writes dates), "yesterday", "last quarter" (its last day): the instant meant. Not a moment after
    the end of today."""
    raw = " ".join((text or "").split())
    moment: datetime | None = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}.*", raw):
        try:
            stamp = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise MomentError(_("I couldn't read the timestamp “{text}”.").format(text=raw)) from exc
        moment = stamp if stamp.tzinfo else stamp.replace(tzinfo=tz)
    elif (m := _MONTH_DAY.fullmatch(raw)) is not None:
        try:
            moment = end_of_day(_month_day(m, today), tz)
        except ValueError as exc:
            raise MomentError(_("“{text}” is not a date on the calendar.").format(text=raw)) from exc
    else:
        try:
            moment = end_of_day(_past(parse_period(raw, today, fiscal_start_month), raw, today), tz)
        except PeriodError as exc:
            raise MomentError(_("I couldn't read “{text}” as a date. Dates look like 2026-10-01, oct 1, "
                                "1 october 2025, yesterday, last friday, last quarter (its last day).")
                              .format(text=raw)) from exc
    if moment > end_of_day(today, tz):
        raise FutureMoment(_("{text} is in the future: the history can say how things stood, not how they will.")
                           .format(text=raw))
    return moment


def extract_moment(text: str, today: date, tz: ZoneInfo, fiscal_start_month: int = 1
                   ) -> tuple[datetime | None, str, str | None]:
    """"pipeline as of oct 1 west team": (the moment, the text without "as of …", a problem sentence or None).
    The date is the longest run of up to four words after "as of" that reads as one."""
    m = _AS_OF.search(text)
    if m is None:
        return None, text, None
    words = list(re.finditer(r"\S+", text[m.end():]))
    problem = None
    for n in range(min(4, len(words)), 0, -1):
        phrase = text[m.end(): m.end() + words[n - 1].end()].rstrip("?!.,")
        try:
            moment = parse_moment(phrase, today, tz, fiscal_start_month)
        except MomentError as exc:
            if problem is None and isinstance(exc, FutureMoment):
                problem = str(exc)
            continue
        return moment, f"{text[:m.start()]} {text[m.end() + words[n - 1].end():]}", None
    after = " ".join(w[0] for w in words[:2])
    return None, text[:m.start()], problem or _("I couldn't read “{text}” as a date after “as of”.").format(
        text=after)


def trend_moments(grain: str, points: int, now: datetime, tz: ZoneInfo) -> tuple[datetime, ...]:
    """The ends of the last `points` weeks (Monday to Sunday) or calendar months where the org is, oldest first;
    the current one ends now."""
    if grain not in TREND_GRAINS:
        raise MomentError(_("A trend is weekly or monthly, not {grain!r}.").format(grain=grain))
    if not 2 <= points <= MAX_POINTS:
        raise MomentError(_("A trend has 2 to {most} points, not {points}.").format(most=MAX_POINTS, points=points))
    today = now.astimezone(tz).date()
    ends = []
    if grain == "weekly":
        sunday = week_bounds(today)[1]
        ends = [sunday - timedelta(weeks=k) for k in range(points)]
    else:
        first = today.replace(day=1)
        for _point in range(points):
            nxt = (first + timedelta(days=32)).replace(day=1)
            ends.append(nxt - timedelta(days=1))
            first = (first - timedelta(days=1)).replace(day=1)
    return tuple(min(end_of_day(d, tz), now) for d in reversed(ends))
