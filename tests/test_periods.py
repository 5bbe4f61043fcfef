"""metrics.periods: the fiscal calendar, the period parser, extract_period and Period helpers. No database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import UserError
from metrics.periods import (
    ACCEPTED_FORMS,
    ALL_TIME_END,
    ALL_TIME_START,
    Period,
    PeriodError,
    extract_period,
    fiscal_quarter_of,
    fiscal_year_bounds,
    fiscal_year_of,
    parse_period,
    period_containing,
    quarter_bounds,
)

D = date
TODAY = D(2026, 7, 15)  # a Wednesday


def span(p: Period) -> tuple[date, date]:
    return p.start, p.end


# --------------------------------------------------------------------------------------------------------------
# The fiscal calendar
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "sm", "fy", "q"),
    [
        (D(2026, 1, 1), 1, 2026, 1),
        (D(2026, 12, 31), 1, 2026, 4),
        (D(2026, 7, 1), 1, 2026, 3),
        (D(2026, 1, 31), 2, 2026, 4),  # Feb 2025 – Jan 2026 is FY2026
        (D(2026, 2, 1), 2, 2027, 1),  # Feb 2026 – Jan 2027 is FY2027
        (D(2026, 4, 30), 2, 2027, 1),
        (D(2026, 5, 1), 2, 2027, 2),
        (D(2026, 12, 31), 2, 2027, 4),
        (D(2027, 1, 1), 2, 2027, 4),
        (D(2026, 6, 30), 7, 2026, 4),  # Jul 2025 – Jun 2026 is FY2026
        (D(2026, 7, 1), 7, 2027, 1),
        (D(2026, 12, 31), 7, 2027, 2),
        (D(2027, 1, 1), 7, 2027, 3),
        (D(2028, 2, 29), 7, 2028, 3),
        (D(2026, 12, 15), 12, 2027, 1),
        (D(2026, 11, 30), 12, 2026, 4),
    ],
)
def test_fiscal_year_and_quarter_of(d, sm, fy, q):
    assert fiscal_year_of(d, sm) == fy
    assert fiscal_quarter_of(d, sm) == (fy, q)
    start, end = quarter_bounds(fy, q, sm)
    assert start <= d <= end


def test_fiscal_year_bounds():
    assert fiscal_year_bounds(2026, 1) == (D(2026, 1, 1), D(2026, 12, 31))
    assert fiscal_year_bounds(2027, 2) == (D(2026, 2, 1), D(2027, 1, 31))
    assert fiscal_year_bounds(2027, 7) == (D(2026, 7, 1), D(2027, 6, 30))
    assert fiscal_year_bounds(2024, 3) == (D(2023, 3, 1), D(2024, 2, 29))  # ends on a leap day


def test_quarter_bounds():
    assert quarter_bounds(2026, 1, 1) == (D(2026, 1, 1), D(2026, 3, 31))
    assert quarter_bounds(2026, 4, 1) == (D(2026, 10, 1), D(2026, 12, 31))
    assert quarter_bounds(2027, 1, 2) == (D(2026, 2, 1), D(2026, 4, 30))
    assert quarter_bounds(2027, 4, 2) == (D(2026, 11, 1), D(2027, 1, 31))
    assert quarter_bounds(2028, 3, 2) == (D(2027, 8, 1), D(2027, 10, 31))
    assert quarter_bounds(2027, 2, 7) == (D(2026, 10, 1), D(2026, 12, 31))
    assert quarter_bounds(2024, 4, 12) == (D(2024, 9, 1), D(2024, 11, 30))  # FY2024 = Dec 2023 – Nov 2024
    with pytest.raises(ValueError):
        quarter_bounds(2026, 5, 1)
    with pytest.raises(ValueError):
        fiscal_year_of(TODAY, 13)


# --------------------------------------------------------------------------------------------------------------
# Every form, with the fiscal year starting in January and in February
# --------------------------------------------------------------------------------------------------------------

# text -> (start, end, label, grain) with FISCAL_YEAR_START_MONTH=1 and today = Wed 2026-07-15
FORMS_JAN = {
    "today": (D(2026, 7, 15), D(2026, 7, 15), "today (Jul 15, 2026)", "day"),
    "yesterday": (D(2026, 7, 14), D(2026, 7, 14), "yesterday (Jul 14, 2026)", "day"),
    "tomorrow": (D(2026, 7, 16), D(2026, 7, 16), "tomorrow (Jul 16, 2026)", "day"),
    "this week": (D(2026, 7, 13), D(2026, 7, 19), "this week (Jul 13 – 19, 2026)", "week"),
    "last week": (D(2026, 7, 6), D(2026, 7, 12), "last week (Jul 6 – 12, 2026)", "week"),
    "next wk": (D(2026, 7, 20), D(2026, 7, 26), "next week (Jul 20 – 26, 2026)", "week"),
    "this month": (D(2026, 7, 1), D(2026, 7, 31), "this month (Jul 2026)", "month"),
    "last mo": (D(2026, 6, 1), D(2026, 6, 30), "last month (Jun 2026)", "month"),
    "next month": (D(2026, 8, 1), D(2026, 8, 31), "next month (Aug 2026)", "month"),
    "this quarter": (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q3 FY2026)", "quarter"),
    "current quarter": (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q3 FY2026)", "quarter"),
    "this qtr": (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q3 FY2026)", "quarter"),
    "this q": (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q3 FY2026)", "quarter"),
    "last quarter": (D(2026, 4, 1), D(2026, 6, 30), "last quarter (Q2 FY2026)", "quarter"),
    "previous quarter": (D(2026, 4, 1), D(2026, 6, 30), "last quarter (Q2 FY2026)", "quarter"),
    "next quarter": (D(2026, 10, 1), D(2026, 12, 31), "next quarter (Q4 FY2026)", "quarter"),
    "this year": (D(2026, 1, 1), D(2026, 12, 31), "this year (FY2026)", "year"),
    "last yr": (D(2025, 1, 1), D(2025, 12, 31), "last year (FY2025)", "year"),
    "next year": (D(2027, 1, 1), D(2027, 12, 31), "next year (FY2027)", "year"),
    "this fiscal year": (D(2026, 1, 1), D(2026, 12, 31), "this year (FY2026)", "year"),
    "q3": (D(2026, 7, 1), D(2026, 9, 30), "Q3 FY2026", "quarter"),
    "Q1": (D(2026, 1, 1), D(2026, 3, 31), "Q1 FY2026", "quarter"),
    "quarter 4": (D(2026, 10, 1), D(2026, 12, 31), "Q4 FY2026", "quarter"),
    "q3 2025": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "q3 '25": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "2025 q3": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "2025-q3": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "2025-Q3": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "q3-2025": (D(2025, 7, 1), D(2025, 9, 30), "Q3 FY2025", "quarter"),
    "fy2027": (D(2027, 1, 1), D(2027, 12, 31), "FY2027", "year"),
    "FY27": (D(2027, 1, 1), D(2027, 12, 31), "FY2027", "year"),
    "fy 2027": (D(2027, 1, 1), D(2027, 12, 31), "FY2027", "year"),
    "fiscal 2027": (D(2027, 1, 1), D(2027, 12, 31), "FY2027", "year"),
    "fy2027 q1": (D(2027, 1, 1), D(2027, 3, 31), "Q1 FY2027", "quarter"),
    "q1 fy2027": (D(2027, 1, 1), D(2027, 3, 31), "Q1 FY2027", "quarter"),
    "fy27q2": (D(2027, 4, 1), D(2027, 6, 30), "Q2 FY2027", "quarter"),
    "2026-10": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "oct 2026": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "October 2026": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "2026 october": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "october": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "feb": (D(2026, 2, 1), D(2026, 2, 28), "Feb 2026", "month"),
    "2024-02": (D(2024, 2, 1), D(2024, 2, 29), "Feb 2024", "month"),
    "2026": (D(2026, 1, 1), D(2026, 12, 31), "FY2026", "year"),
    "ytd": (D(2026, 1, 1), D(2026, 7, 15), "year to date (FY2026)", None),
    "YTD": (D(2026, 1, 1), D(2026, 7, 15), "year to date (FY2026)", None),
    "year to date": (D(2026, 1, 1), D(2026, 7, 15), "year to date (FY2026)", None),
    "qtd": (D(2026, 7, 1), D(2026, 7, 15), "quarter to date (Q3 FY2026)", None),
    "mtd": (D(2026, 7, 1), D(2026, 7, 15), "month to date (Jul 2026)", None),
    "last 30 days": (D(2026, 6, 16), D(2026, 7, 15), "last 30 days", None),
    "the last 7 days": (D(2026, 7, 9), D(2026, 7, 15), "last 7 days", None),
    "last 30d": (D(2026, 6, 16), D(2026, 7, 15), "last 30 days", None),
    "last 1 day": (D(2026, 7, 15), D(2026, 7, 15), "last 1 day", None),
    "past 2 weeks": (D(2026, 7, 2), D(2026, 7, 15), "last 2 weeks", None),
    "past two weeks": (D(2026, 7, 2), D(2026, 7, 15), "last 2 weeks", None),
    "past week": (D(2026, 7, 9), D(2026, 7, 15), "past week", None),
    "next 90 days": (D(2026, 7, 15), D(2026, 10, 12), "next 90 days", None),
    "last 3 months": (D(2026, 4, 16), D(2026, 7, 15), "last 3 months", None),
    "next 2 quarters": (D(2026, 7, 15), D(2027, 1, 14), "next 2 quarters", None),
    "2026-07-01..2026-09-30": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "2026-07-01 .. 2026-09-30": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "2026-07-01 to 2026-09-30": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "from 2026-07-01 through 2026-09-30": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "2026-07-01 – 2026-09-30": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "2025-12-29..2026-01-04": (D(2025, 12, 29), D(2026, 1, 4), "Dec 29, 2025 – Jan 4, 2026", None),
    "2026-07..2026-09": (D(2026, 7, 1), D(2026, 9, 30), "Jul 1 – Sep 30, 2026", None),
    "2026-07-01..2026-07-01": (D(2026, 7, 1), D(2026, 7, 1), "Jul 1, 2026", None),
    "2026-07-01": (D(2026, 7, 1), D(2026, 7, 1), "Jul 1, 2026", "day"),
    "all": (ALL_TIME_START, ALL_TIME_END, "all time", None),
    "all time": (ALL_TIME_START, ALL_TIME_END, "all time", None),
    "All-Time": (ALL_TIME_START, ALL_TIME_END, "all time", None),
    # forgiving of whitespace, hyphens and case
    "  This   Quarter ": (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q3 FY2026)", "quarter"),
    "next-quarter": (D(2026, 10, 1), D(2026, 12, 31), "next quarter (Q4 FY2026)", "quarter"),
    "last_week": (D(2026, 7, 6), D(2026, 7, 12), "last week (Jul 6 – 12, 2026)", "week"),
}


@pytest.mark.parametrize("text", list(FORMS_JAN))
def test_forms_fiscal_year_in_january(text):
    p = parse_period(text, TODAY, 1)
    assert (p.start, p.end, p.label, p.grain) == FORMS_JAN[text]


# the same forms with FISCAL_YEAR_START_MONTH=2: Feb 2026 – Jan 2027 is FY2027, today is in Q2 FY2027 (May–Jul)
FORMS_FEB = {
    "this quarter": (D(2026, 5, 1), D(2026, 7, 31), "this quarter (Q2 FY2027)", "quarter"),
    "last quarter": (D(2026, 2, 1), D(2026, 4, 30), "last quarter (Q1 FY2027)", "quarter"),
    "next quarter": (D(2026, 8, 1), D(2026, 10, 31), "next quarter (Q3 FY2027)", "quarter"),
    "this year": (D(2026, 2, 1), D(2027, 1, 31), "this year (FY2027)", "year"),
    "last year": (D(2025, 2, 1), D(2026, 1, 31), "last year (FY2026)", "year"),
    "next year": (D(2027, 2, 1), D(2028, 1, 31), "next year (FY2028)", "year"),
    "q3": (D(2026, 8, 1), D(2026, 10, 31), "Q3 FY2027", "quarter"),
    "q4": (D(2026, 11, 1), D(2027, 1, 31), "Q4 FY2027", "quarter"),
    "2026-q3": (D(2025, 8, 1), D(2025, 10, 31), "Q3 FY2026", "quarter"),
    "q1 2027": (D(2026, 2, 1), D(2026, 4, 30), "Q1 FY2027", "quarter"),
    "fy2027": (D(2026, 2, 1), D(2027, 1, 31), "FY2027", "year"),
    "fy2027 q1": (D(2026, 2, 1), D(2026, 4, 30), "Q1 FY2027", "quarter"),
    "2026": (D(2025, 2, 1), D(2026, 1, 31), "FY2026", "year"),
    "ytd": (D(2026, 2, 1), D(2026, 7, 15), "year to date (FY2027)", None),
    "qtd": (D(2026, 5, 1), D(2026, 7, 15), "quarter to date (Q2 FY2027)", None),
    "mtd": (D(2026, 7, 1), D(2026, 7, 15), "month to date (Jul 2026)", None),
    # months and weeks do not depend on the fiscal year
    "this month": (D(2026, 7, 1), D(2026, 7, 31), "this month (Jul 2026)", "month"),
    "october": (D(2026, 10, 1), D(2026, 10, 31), "Oct 2026", "month"),
    "this week": (D(2026, 7, 13), D(2026, 7, 19), "this week (Jul 13 – 19, 2026)", "week"),
}


@pytest.mark.parametrize("text", list(FORMS_FEB))
def test_forms_fiscal_year_in_february(text):
    p = parse_period(text, TODAY, 2)
    assert (p.start, p.end, p.label, p.grain) == FORMS_FEB[text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("this quarter", (D(2026, 7, 1), D(2026, 9, 30), "this quarter (Q1 FY2027)")),
        ("last quarter", (D(2026, 4, 1), D(2026, 6, 30), "last quarter (Q4 FY2026)")),
        ("this year", (D(2026, 7, 1), D(2027, 6, 30), "this year (FY2027)")),
        ("q3", (D(2027, 1, 1), D(2027, 3, 31), "Q3 FY2027")),
        ("fy2026", (D(2025, 7, 1), D(2026, 6, 30), "FY2026")),
        ("fy2026 q2", (D(2025, 10, 1), D(2025, 12, 31), "Q2 FY2026")),
        ("ytd", (D(2026, 7, 1), D(2026, 7, 15), "year to date (FY2027)")),
    ],
)
def test_forms_fiscal_year_in_july(text, expected):
    p = parse_period(text, TODAY, 7)
    assert (p.start, p.end, p.label) == expected


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("quater", None),  # a bare unit is not a period (see the error tests)
        ("this quater", "this quarter (Q3 FY2026)"),
        ("nxt quarter", "next quarter (Q4 FY2026)"),
        ("next quartr", "next quarter (Q4 FY2026)"),
        ("lst month", "last month (Jun 2026)"),
        ("lats month", "last month (Jun 2026)"),
        ("thsi week", "this week (Jul 13 – 19, 2026)"),
        ("prev yr", "last year (FY2025)"),
        ("next yeer", "next year (FY2027)"),
        ("tody", "today (Jul 15, 2026)"),
        ("yesteday", "yesterday (Jul 14, 2026)"),
        ("ocotber 2026", "Oct 2026"),
        ("last 30 dyas", "last 30 days"),
    ],
)
def test_typos_resolve_and_the_label_says_what_was_understood(text, label):
    if label is None:
        with pytest.raises(PeriodError):
            parse_period(text, TODAY)
    else:
        assert parse_period(text, TODAY).label == label


# --------------------------------------------------------------------------------------------------------------
# Boundaries
# --------------------------------------------------------------------------------------------------------------


def test_today_on_the_first_and_last_day_of_a_quarter():
    first, last = D(2026, 7, 1), D(2026, 9, 30)
    for today in (first, last):
        assert span(parse_period("this quarter", today)) == (first, last)
        assert span(parse_period("last quarter", today)) == (D(2026, 4, 1), D(2026, 6, 30))
        assert span(parse_period("next quarter", today)) == (D(2026, 10, 1), D(2026, 12, 31))
    assert span(parse_period("qtd", first)) == (first, first)
    assert span(parse_period("qtd", last)) == (first, last)
    # with a February fiscal year the quarter containing Jul 31 ends that day and Aug 1 starts the next one
    assert span(parse_period("this quarter", D(2026, 7, 31), 2)) == (D(2026, 5, 1), D(2026, 7, 31))
    assert span(parse_period("this quarter", D(2026, 8, 1), 2)) == (D(2026, 8, 1), D(2026, 10, 31))


def test_year_end_and_new_year():
    dec31, jan1 = D(2026, 12, 31), D(2027, 1, 1)
    assert parse_period("this year", dec31).label == "this year (FY2026)"
    assert parse_period("this year", jan1).label == "this year (FY2027)"
    assert parse_period("next quarter", dec31).label == "next quarter (Q1 FY2027)"
    assert parse_period("last quarter", jan1).label == "last quarter (Q4 FY2026)"
    assert span(parse_period("ytd", jan1)) == (jan1, jan1)
    assert span(parse_period("mtd", dec31)) == (D(2026, 12, 1), dec31)
    assert parse_period("next month", dec31).label == "next month (Jan 2027)"
    assert parse_period("last month", jan1).label == "last month (Dec 2026)"
    assert parse_period("yesterday", jan1).start == dec31
    assert parse_period("q1", dec31).label == "Q1 FY2026"  # q3 means the current fiscal year's
    # a February fiscal year does not turn over on Jan 1 but on Feb 1
    assert parse_period("this year", jan1, 2).label == "this year (FY2027)"
    assert parse_period("this year", D(2027, 2, 1), 2).label == "this year (FY2028)"
    assert parse_period("this quarter", jan1, 2).label == "this quarter (Q4 FY2027)"
    assert parse_period("next quarter", D(2027, 1, 31), 2).label == "next quarter (Q1 FY2028)"


def test_leap_day():
    feb29 = D(2028, 2, 29)
    assert span(parse_period("this month", feb29)) == (D(2028, 2, 1), feb29)
    assert span(parse_period("mtd", feb29)) == (D(2028, 2, 1), feb29)
    assert span(parse_period("last 3 months", feb29)) == (D(2027, 11, 30), feb29)
    assert span(parse_period("last 30 days", feb29)) == (D(2028, 1, 31), feb29)
    assert span(parse_period("next month", D(2028, 1, 31))) == (D(2028, 2, 1), feb29)
    assert span(parse_period("this week", feb29)) == (D(2028, 2, 28), D(2028, 3, 5))
    assert span(parse_period("this quarter", feb29, 3)) == (D(2027, 12, 1), feb29)
    assert parse_period("this quarter", feb29, 3).label == "this quarter (Q4 FY2028)"
    assert span(parse_period("fy2028", TODAY, 3)) == (D(2027, 3, 1), feb29)
    assert span(parse_period("2028-02-29", TODAY)) == (feb29, feb29)


def test_weeks_start_on_monday_and_cross_year_boundaries():
    thu = D(2026, 12, 31)  # a Thursday
    assert span(parse_period("this week", thu)) == (D(2026, 12, 28), D(2027, 1, 3))
    assert parse_period("this week", thu).label == "this week (Dec 28, 2026 – Jan 3, 2027)"
    assert span(parse_period("next week", thu)) == (D(2027, 1, 4), D(2027, 1, 10))
    fri = D(2027, 1, 1)
    assert span(parse_period("last week", fri)) == (D(2026, 12, 21), D(2026, 12, 27))
    monday, sunday = D(2026, 7, 13), D(2026, 7, 19)
    assert span(parse_period("this week", monday)) == (monday, sunday)
    assert span(parse_period("this week", sunday)) == (monday, sunday)
    assert span(parse_period("last week", monday)) == (D(2026, 7, 6), D(2026, 7, 12))


# --------------------------------------------------------------------------------------------------------------
# Period helpers
# --------------------------------------------------------------------------------------------------------------


def test_days_contains_and_dict():
    q3 = parse_period("q3", TODAY)
    assert q3.days == 92
    assert q3.contains(D(2026, 7, 1)) and q3.contains(D(2026, 9, 30))
    assert not q3.contains(D(2026, 6, 30)) and not q3.contains(D(2026, 10, 1))
    assert D(2026, 8, 1) in q3
    assert q3.to_dict() == {"start": "2026-07-01", "end": "2026-09-30", "label": "Q3 FY2026"}
    assert str(q3) == "Q3 FY2026"
    assert Period(D(2026, 7, 1), D(2026, 9, 30), "Q3 FY2026", "quarter") == q3
    with pytest.raises(ValueError):
        Period(D(2026, 7, 2), D(2026, 7, 1), "backwards")


def test_pace_is_the_share_of_the_period_elapsed():
    q4 = Period(D(2026, 10, 1), D(2026, 12, 31), "Q4 FY2026", "quarter")  # 92 days
    assert q4.elapsed_fraction(D(2026, 9, 30)) == 0
    assert q4.elapsed_fraction(D(2020, 1, 1)) == 0
    assert q4.elapsed_fraction(D(2026, 10, 1)) == Decimal(1) / Decimal(92)
    assert q4.elapsed_fraction(D(2026, 11, 15)) == Decimal(46) / Decimal(92)
    assert q4.elapsed_fraction(D(2026, 11, 15)) == Decimal("0.5")
    assert q4.elapsed_fraction(D(2026, 12, 31)) == 1
    assert q4.elapsed_fraction(D(2027, 1, 1)) == 1
    assert isinstance(q4.elapsed_fraction(D(2026, 11, 25)), Decimal)
    day = parse_period("today", TODAY)
    assert day.elapsed_fraction(TODAY) == 1


def test_previous():
    sm = 2
    q = parse_period("this quarter", TODAY, sm)
    prev = q.previous()
    assert (prev.start, prev.end, prev.label, prev.grain) == (D(2026, 2, 1), D(2026, 4, 30), "Q1 FY2027", "quarter")
    assert prev.previous().label == "Q4 FY2026"
    assert parse_period("fy2027", TODAY, sm).previous().label == "FY2026"
    assert span(parse_period("fy2027", TODAY, sm).previous()) == (D(2025, 2, 1), D(2026, 1, 31))
    march = parse_period("2026-03", TODAY).previous()
    assert (march.start, march.end, march.label) == (D(2026, 2, 1), D(2026, 2, 28), "Feb 2026")
    week = parse_period("this week", D(2027, 1, 1)).previous()
    assert span(week) == (D(2026, 12, 21), D(2026, 12, 27))
    assert parse_period("today", TODAY).previous().label == "Jul 14, 2026"
    last30 = parse_period("last 30 days", TODAY).previous()
    assert span(last30) == (D(2026, 5, 17), D(2026, 6, 15)) and last30.days == 30
    assert span(parse_period("2026-07-01..2026-07-10", TODAY).previous()) == (D(2026, 6, 21), D(2026, 6, 30))
    with pytest.raises(PeriodError, match="no period before all time"):
        parse_period("all", TODAY).previous()


def test_period_containing():
    assert span(period_containing(TODAY, "week")) == (D(2026, 7, 13), D(2026, 7, 19))
    assert period_containing(TODAY, "quarter", 2).label == "Q2 FY2027"
    assert period_containing(TODAY, "year", 7).label == "FY2027"
    assert period_containing(TODAY, "month").label == "Jul 2026"
    assert period_containing(TODAY, "day").days == 1


# --------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------


def _error(text: str, today: date = TODAY, sm: int = 1) -> PeriodError:
    with pytest.raises(PeriodError) as info:
        parse_period(text, today, sm)
    assert isinstance(info.value, UserError)
    return info.value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("q5", "There is no Q5: a fiscal year has quarters Q1 to Q4."),
        ("q0 2026", "There is no Q0"),
        ("fy2027 q7", "There is no Q7"),
        ("2026-13", "2026-13 is not a month"),
        ("2026-02-30", "2026-02-30 is not a date"),
        ("2026-07-01..2026-02-30", "2026-02-30 is not a date"),
        ("fy20x", "A fiscal year is written fy2027, fy27 or fy 2027"),
        ("fy 123", "A fiscal year is written"),
        ("q3 of next", "A quarter is written q3"),
        ("1850", "outside the years"),
    ],
)
def test_invalid_values_say_why(text, says):
    err = _error(text)
    assert says in str(err)


def test_range_that_ends_before_it_starts():
    err = _error("2026-09-30..2026-07-01")
    assert "starts after it ends" in str(err)
    err = _error("2026-09-30 to 2026-07-01")
    assert "starts after it ends" in str(err)


def test_not_understood_lists_the_accepted_forms_and_suggests():
    err = _error("quater")
    msg = str(err)
    assert msg.startswith('I couldn\'t understand the period "quater".')
    assert 'Did you mean "this quarter"?' in msg
    assert err.suggestion == "this quarter"
    for form in ("today", "this week", "q3", "2026-q3", "fy2027 q1", "2026-10", "ytd", "last 30 days",
                 "2026-07-01..2026-09-30", "all"):
        assert form in msg
    assert set(ACCEPTED_FORMS) <= set(msg.split("Periods look like: ")[1].rstrip(".").split(", "))


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("quater", "this quarter"),
        ("mnth", "this month"),
        ("30d", "last 30 days"),
        ("ju 2026", "jul 2026"),  # ambiguous: both readings are offered
        ("pipeline q3", "q3"),  # a period inside other words
        ("next quartr 2026", "next quarter"),
        ("yestrday please", "yesterday"),
    ],
)
def test_suggestions(text, suggestion):
    err = _error(text)
    assert err.suggestion == suggestion
    assert f'Did you mean "{suggestion}"' in str(err)


def test_ambiguous_typo_offers_both_readings():
    assert 'Did you mean "jul 2026" or "jun 2026"?' in str(_error("ju 2026"))


@pytest.mark.parametrize("text", ["", "   ", "???", "blah", "soon", "last", "q", "fy", "week"])
def test_nonsense_is_an_error_with_the_forms(text):
    assert "Periods look like: today" in str(_error(text))


def test_out_of_range_dates_are_user_errors():
    assert "outside" in str(_error("next quarter", D(9999, 12, 1)))
    assert "outside" in str(_error("last 99999 days", D(1900, 2, 1)))


# --------------------------------------------------------------------------------------------------------------
# extract_period
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label", "rest"),
    [
        ("west team pipeline next quarter", "next quarter (Q4 FY2026)", "west team pipeline"),
        ("how am I tracking to quota this qtr?", "this quarter (Q3 FY2026)", "how am I tracking to quota?"),
        ("/sales pipeline q3 dana", "Q3 FY2026", "/sales pipeline dana"),
        ("deals closed last week by dana", "last week (Jul 6 – 12, 2026)", "deals closed by dana"),
        ("pipeline for the last 30 days", "last 30 days", "pipeline"),
        ("what closed today?", "today (Jul 15, 2026)", "what closed?"),
        ("pipeline fy2027 q1 for west", "Q1 FY2027", "pipeline for west"),
        ("forecast in October", "Oct 2026", "forecast"),
        ("deals closing between 2026-07-01 and 2026-09-30 please", "Jul 1 – Sep 30, 2026", "deals closing please"),
        ("this week's deals", "this week (Jul 13 – 19, 2026)", "deals"),
        ("nxt quater pipeline for dana", "next quarter (Q4 FY2026)", "pipeline for dana"),
        ("leaderboard ytd", "year to date (FY2026)", "leaderboard"),
        ("win rate past 2 weeks", "last 2 weeks", "win rate"),
        ("pipeline 2026-q3 west", "Q3 FY2026", "pipeline west"),
        ("quota fy27", "FY2027", "quota"),
        ("pipeline all time", "all time", "pipeline"),
        ("lost deals this month", "this month (Jul 2026)", "lost deals"),
        ("closed won 2026-07-01..2026-07-31 by rep", "Jul 1 – 31, 2026", "closed won by rep"),
        ("pipeline this q3", "Q3 FY2026", "pipeline"),
        ("/sales winrate 2025", "FY2025", "/sales winrate"),
        ("biggest q3 10 deals", "Q3 FY2026", "biggest 10 deals"),
        ("pipeline q3 fy26 west", "Q3 FY2026", "pipeline west"),
    ],
)
def test_extract_period_finds_the_phrase(text, label, rest):
    period, remaining = extract_period(text, TODAY)
    assert period is not None and period.label == label
    assert remaining == rest


@pytest.mark.parametrize(
    "text",
    [
        "how am I tracking to quota?",
        "which of Dana's deals are stuck?",
        "show all stalled deals",  # a bare "all" in prose is not "all time"
        "may I see my pipeline",  # nor is "may"
        "pipeline mark",  # a name close to "mar" is not corrected in prose
        "show my last 5 deals",  # "deals" is not a typo of "days"
        "<@U2026XYZ> pipeline",  # a year glued inside an id
        "deals over $2026",  # money
        "top 10 deals",
        "last weak deals",
        "cycle 1999",  # a bare year far from today
        "",
    ],
)
def test_extract_period_none(text):
    assert extract_period(text, TODAY) == (None, text)


def test_extract_period_uses_the_fiscal_calendar():
    period, rest = extract_period("forecast next quarter for the west", TODAY, 2)
    assert period.label == "next quarter (Q3 FY2027)" and rest == "forecast for the west"


def test_extract_period_raises_on_an_impossible_period():
    with pytest.raises(PeriodError, match="no Q5"):
        extract_period("pipeline q5 dana", TODAY)
    with pytest.raises(PeriodError, match="starts after it ends"):
        extract_period("deals from 2026-09-30..2026-07-01", TODAY)


# --------------------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------------------

dates = st.dates(min_value=D(1950, 1, 1), max_value=D(2150, 12, 31))
start_months = st.integers(min_value=1, max_value=12)


@settings(max_examples=300, deadline=None)
@given(d=dates, sm=start_months)
def test_quarter_containing_a_day_and_quarters_tile_the_year(d, sm):
    fy, q = fiscal_quarter_of(d, sm)
    start, end = quarter_bounds(fy, q, sm)
    assert start <= d <= end
    y_start, y_end = fiscal_year_bounds(fy, sm)
    assert y_start <= d <= y_end
    assert y_start.month == sm and y_start.day == 1
    assert y_end.year == fy  # named by the calendar year it ends in
    bounds = [quarter_bounds(fy, k, sm) for k in (1, 2, 3, 4)]
    assert bounds[0][0] == y_start and bounds[-1][1] == y_end
    for (_, e), (s, _) in zip(bounds, bounds[1:], strict=False):
        assert s == e + timedelta(days=1)
    assert sum((e - s).days + 1 for s, e in bounds) == (y_end - y_start).days + 1
    assert all(fiscal_quarter_of(s, sm) == (fy, k) and fiscal_quarter_of(e, sm) == (fy, k)
               for k, (s, e) in enumerate(bounds, start=1))


@settings(max_examples=200, deadline=None)
@given(today=dates, sm=start_months, unit=st.sampled_from(["week", "month", "quarter", "year"]))
def test_last_this_next_are_adjacent(today, sm, unit):
    last, this, nxt = (parse_period(f"{rel} {unit}", today, sm) for rel in ("last", "this", "next"))
    assert this.contains(today)
    assert last.end + timedelta(days=1) == this.start
    assert this.end + timedelta(days=1) == nxt.start
    prev = this.previous()
    assert (prev.start, prev.end, prev.grain) == (last.start, last.end, unit)
    assert last.label.endswith(f"({prev.label})")  # "last quarter (Q2 FY2026)" vs "Q2 FY2026"


@settings(max_examples=200, deadline=None)
@given(today=dates, sm=start_months, n=st.integers(min_value=1, max_value=400))
def test_rolling_and_to_date_periods(today, sm, n):
    last = parse_period(f"last {n} days", today, sm)
    nxt = parse_period(f"next {n} days", today, sm)
    assert last.end == today == nxt.start and last.days == n == nxt.days
    for form in ("ytd", "qtd", "mtd"):
        p = parse_period(form, today, sm)
        assert p.end == today and p.elapsed_fraction(today) == 1
    assert parse_period("ytd", today, sm).start == fiscal_year_bounds(fiscal_year_of(today, sm), sm)[0]


@settings(max_examples=200, deadline=None)
@given(today=dates, d=dates)
def test_pace_is_monotonic_and_bounded(today, d):
    q = period_containing(today, "quarter")
    a, b = sorted((today, d))
    assert 0 <= q.elapsed_fraction(a) <= q.elapsed_fraction(b) <= 1
