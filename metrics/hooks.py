"""Dialect hooks for the KPI compiler: the few SQL pieces SQLite and PostgreSQL spell differently.

Each hook takes the dialect name ("sqlite" or "postgresql") and SQLAlchemy expressions and returns an
expression; the compiler never writes dialect-specific SQL itself. Constants inside these expressions are
inlined SQL literals (never user input), so the same expression in SELECT and GROUP BY is textually identical,
which PostgreSQL requires.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, cast, extract, func, literal_column
from sqlalchemy.sql.elements import ColumnElement


def _lit(text: str):
    """An inlined string constant (ours, never user input)."""
    return literal_column("'" + text.replace("'", "''") + "'", String)


def year_of(dialect: str, d: ColumnElement) -> ColumnElement:
    if dialect == "sqlite":
        return cast(func.strftime(_lit("%Y"), d), Integer)
    return cast(extract("year", d), Integer)


def month_of(dialect: str, d: ColumnElement) -> ColumnElement:
    if dialect == "sqlite":
        return cast(func.strftime(_lit("%m"), d), Integer)
    return cast(extract("month", d), Integer)


def month_label(dialect: str, d: ColumnElement) -> ColumnElement:
    """'2026-10' for any date in October 2026."""
    if dialect == "sqlite":
        return func.strftime(_lit("%Y-%m"), d)
    return func.to_char(d, _lit("YYYY-MM"))


def fiscal_quarter_label(dialect: str, d: ColumnElement, start_month: int) -> ColumnElement:
    """'FY2027 Q1' for a date, with fiscal years named by the calendar year they end in."""
    month = month_of(dialect, d)
    year = year_of(dialect, d)
    shift = literal_column(str(12 - start_month))
    shifted = (month + shift) % literal_column("12")  # months since the fiscal year began, 0..11
    three, one = literal_column("3"), literal_column("1")
    quarter = shifted / three + one if dialect == "sqlite" else func.div(shifted, three) + one
    if start_month == 1:
        fiscal_year = year
    else:
        fiscal_year = year + cast(month >= literal_column(str(start_month)), Integer)
    return _lit("FY") + cast(fiscal_year, String) + _lit(" Q") + cast(cast(quarter, Integer), String)


def date_of(dialect: str, ts: ColumnElement) -> ColumnElement:
    """The UTC calendar date of a timestamp column."""
    if dialect == "sqlite":
        return func.date(ts)
    return func.date(func.timezone(_lit("UTC"), ts))


def days_between(dialect: str, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """Whole days from `earlier` to `later`; both are dates (use date_of on timestamps first)."""
    if dialect == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier


def median(dialect: str, expr: ColumnElement) -> ColumnElement:
    """The median of a numeric expression as an aggregate (NULLs ignored).

    PostgreSQL has percentile_cont; SQLite gets a `median` aggregate registered on each connection
    (db.engine), so the database still does the work inside the same GROUP BY.
    """
    if dialect == "sqlite":
        return func.median(expr)
    return func.percentile_cont(0.5).within_group(expr)


def least(dialect: str, *exprs: ColumnElement) -> ColumnElement:
    return func.min(*exprs) if dialect == "sqlite" else func.least(*exprs)


def greatest(dialect: str, *exprs: ColumnElement) -> ColumnElement:
    return func.max(*exprs) if dialect == "sqlite" else func.greatest(*exprs)
