"""Dialect hooks: the few SQL pieces SQLite and PostgreSQL spell differently, one implementation per dialect.

Every function takes the dialect first, as a name (``"sqlite"``/``"postgresql"``), a ``Connection``, an
``Engine`` or a SQLAlchemy ``Dialect`` (see :func:`dialect_name`), and returns a SQLAlchemy expression or
selectable; callers never write dialect-specific SQL themselves. Nothing here reads data.

Conventions: SQLite stores timestamps as naive UTC text ``'YYYY-MM-DD HH:MM:SS.ffffff'`` and dates as
``'YYYY-MM-DD'``; PostgreSQL stores ``timestamptz`` and ``date``. A date counts as midnight UTC.

Hooks
-----
``dialect_name(d) -> str``
    ``"sqlite"`` or ``"postgresql"`` for any of the accepted forms of ``d``.

``to_date(d, ts) -> ColumnElement[date]``
    The UTC calendar date of a timestamp (SQLite ``date(ts)``; PostgreSQL
    ``CAST(timezone('UTC', ts) AS DATE)``, independent of the session time zone).

``days_between(d, later, earlier) -> ColumnElement[int]``
    Whole days from ``earlier`` to ``later`` as an integer, truncated toward zero (negative when ``later`` is
    earlier). Each side may be a date or a timestamp expression (its SQLAlchemy type decides); dates count as
    midnight UTC. Two dates give the plain calendar-day difference. SQLite: ``julianday`` arithmetic;
    PostgreSQL: ``date - date`` for two dates, else ``extract(epoch ...)`` seconds / 86400.

``normalised_names(d, stmt, name="name", *, label="norm", alias="normalised") -> Subquery``
    ``stmt`` (a ``Select``) with every one of its columns plus ``label``: its column ``name`` normalised in SQL
    — lower case, every character of :data:`PUNCTUATION` and every whitespace character turned into a space,
    runs of spaces collapsed to one, trimmed: ``"  ACME, Inc. "`` → ``"acme inc"``, ``"AT&T"`` → ``"at t"``,
    ``"..."`` → ``""``. PostgreSQL: ``regexp_replace`` + ``btrim``; SQLite: nested ``replace`` calls, staged
    over a few subquery levels (one expression with ~40 nested calls overflows SQLite's parser stack once it is
    compared). A subquery rather than an expression for that reason; join on ``label``. Case folding is the
    same on both for ASCII letters; PostgreSQL also folds other letters (``Ü``), SQLite does not.
    ``normalise_name_text(str)`` is the same normalisation in Python (the ASCII behaviour), for tests.

``percentile_subquery(d, value_expr, fraction, group_by_cols=(), from_select=None, *, name="pct",
value_label="value", count_label="n") -> Subquery``
    A selectable with one row per group: the group columns, ``value_label`` (the ``fraction`` percentile of
    ``value_expr`` with linear interpolation between the closest ranks, exactly like PostgreSQL's
    ``percentile_cont``; NULL values ignored) and ``count_label`` (how many non-NULL values the group has).
    ``fraction`` is a Python float in [0, 1] (0.5 = median).

    ``from_select`` is the population: a ``Select`` (its FROM, joins and WHERE are kept) or a ``FromClause``
    (a table, join or subquery). ``value_expr`` and each of ``group_by_cols`` is either a column *name* of
    ``from_select`` (a string) or a SQLAlchemy expression over the tables of ``from_select``. Group columns
    keep their name (a string, a labelled expression or a named column) or are called ``g0``, ``g1``, ...
    With no group columns the result is one row (value NULL and n 0 when the population is empty).
    When ``from_select`` is None, the expressions' own tables make the FROM.

    PostgreSQL: ``percentile_cont(f) WITHIN GROUP (ORDER BY v)`` with ``GROUP BY``. SQLite (which has no
    percentile aggregate): ``row_number()`` and ``count()`` windows over the group, then the two rows around
    the rank ``f × (n − 1)`` are interpolated in a ``GROUP BY``. Join the result back on the group columns, e.g.::

        p75 = percentile_subquery(conn, "days", 0.75, ["stage"], samples_select, name="stage_p75")
        select(...).select_from(opps.outerjoin(p75, p75.c.stage == opps.c.stage))

``percentile_value(d, value_expr, fraction, from_select=None) -> ScalarSelect``
    The org-wide percentile as a scalar subquery (``percentile_subquery`` with no groups).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import FromClause, ScalarSelect, Subquery
from sqlalchemy.types import DateTime

# Characters normalised_names turns into spaces (with whitespace). One list, so both dialects agree.
PUNCTUATION = ".,;:!?'\"`()[]{}<>/\\|-_&+*#@%^~=$"
_WHITESPACE_CHARS = "\t\n\r\f\v"
_SQLITE_STAGE = 12  # replace() calls nested in one SQLite expression


def dialect_name(d: Any) -> str:
    """The dialect name of a name, Connection, Engine, Session-like object or Dialect."""
    if isinstance(d, str):
        name = d
    elif hasattr(d, "dialect"):
        name = d.dialect.name
    else:
        name = getattr(d, "name", None)
    if name not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database dialect {name!r}: the bot runs on SQLite and PostgreSQL")
    return name


def _is_date(expr: ColumnElement) -> bool:
    t = getattr(expr, "type", None)
    return isinstance(t, Date) and not isinstance(t, DateTime)


# --- dates ---------------------------------------------------------------------------------------------------

def to_date(d: Any, ts: ColumnElement) -> ColumnElement:
    """The UTC calendar date of a timestamp expression (a date passes through unchanged)."""
    if _is_date(ts):
        return ts
    if dialect_name(d) == "sqlite":
        return func.date(ts, type_=Date)
    return cast(func.timezone("UTC", ts), Date)


def _pg_epoch(expr: ColumnElement) -> ColumnElement:
    """Seconds since the epoch of a date (midnight UTC) or timestamp expression, on PostgreSQL."""
    if _is_date(expr):
        # date -> timestamp without time zone (midnight) -> read as UTC.
        expr = func.timezone("UTC", cast(expr, DateTime(timezone=False)))
    elif isinstance(getattr(expr, "type", None), DateTime) and not expr.type.timezone:
        expr = func.timezone("UTC", expr)
    return func.extract("epoch", expr)


def days_between(d: Any, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """Whole days from `earlier` to `later` (integer, truncated toward zero)."""
    if dialect_name(d) == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    if _is_date(later) and _is_date(earlier):
        return type_coerce(later - earlier, Integer)
    return cast(func.trunc((_pg_epoch(later) - _pg_epoch(earlier)) / 86400.0), Integer)


# --- names ---------------------------------------------------------------------------------------------------

def normalise_name_text(name: str | None) -> str | None:
    """The Python reference of what normalised_names computes in SQL (ASCII case folding)."""
    if name is None:
        return None
    out = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in name)
    for ch in PUNCTUATION + _WHITESPACE_CHARS:
        out = out.replace(ch, " ")
    return " ".join(part for part in out.split(" ") if part)


def _pg_normalise(expr: ColumnElement) -> ColumnElement:
    cls = "".join("\\" + ch if ch in "]\\^-[" else ch for ch in PUNCTUATION + _WHITESPACE_CHARS)
    spaced = func.regexp_replace(func.lower(expr), f"[{cls}]", " ", "g")
    return func.btrim(func.regexp_replace(spaced, " +", " ", "g"))


def normalised_names(d: Any, stmt: Select, name: str = "name", *, label: str = "norm",
                     alias: str = "normalised") -> Subquery:
    """`stmt`'s rows and columns plus `label`, the normalised form of its column `name` (see the docstring)."""
    if dialect_name(d) == "postgresql":
        sub = stmt.subquery(f"{alias}_src")
        return select(*sub.c, _pg_normalise(sub.c[name]).label(label)).subquery(alias)
    # SQLite: nested replace(), in stages of at most _SQLITE_STAGE calls, each stage a subquery level: one
    # expression nesting ~40 calls overflows SQLite's parser stack once it sits inside a comparison.
    sub = stmt.subquery(f"{alias}_0")
    keep = [c for c in sub.c]
    current = func.lower(sub.c[name])
    chars = list(PUNCTUATION + _WHITESPACE_CHARS)
    level = 0
    while chars:
        chunk, chars = chars[:_SQLITE_STAGE], chars[_SQLITE_STAGE:]
        for ch in chunk:
            current = func.replace(current, ch, " ")
        level += 1
        sub = select(*keep, current.label("_norm")).subquery(f"{alias}_{level}")
        keep = [sub.c[c.name] for c in keep]
        current = sub.c["_norm"]
    # Collapse runs of spaces whatever their length: ' ' -> '\x01\x02', drop '\x02\x01', then '\x01\x02' -> ' '.
    collapsed = func.replace(func.replace(func.replace(current, " ", "\x01\x02"), "\x02\x01", ""), "\x01\x02", " ")
    return select(*keep, func.trim(collapsed).label(label)).subquery(alias)


# --- percentiles ---------------------------------------------------------------------------------------------

def _column_name(col: Any, i: int) -> str:
    if isinstance(col, str):
        return col
    name = getattr(col, "name", None) or getattr(col, "key", None)
    return name if isinstance(name, str) and not name.startswith("%") else f"g{i}"


def _population(value_expr, group_by_cols, from_select) -> Subquery:
    """A subquery with columns v, g0.. (the value and the group keys) over the population."""
    def resolve(ref, source_cols):
        if isinstance(ref, str):
            if source_cols is None:
                raise ValueError(f"column name {ref!r} needs a from_select to look it up in")
            return source_cols[ref]
        return ref

    groups = list(group_by_cols or ())
    if isinstance(from_select, Select):
        cols = from_select.selected_columns
        value = resolve(value_expr, cols)
        keys = [resolve(g, cols) for g in groups]
        if all(isinstance(r, str) for r in (value_expr, *groups)):
            sub = from_select.subquery("pop_src")
            stmt = select(sub.c[value_expr].label("v"), *(sub.c[g].label(f"g{i}") for i, g in enumerate(groups)))
        else:
            stmt = from_select.with_only_columns(
                value.label("v"), *(k.label(f"g{i}") for i, k in enumerate(keys)), maintain_column_froms=True
            )
    else:
        cols = from_select.c if isinstance(from_select, FromClause) else None
        value = resolve(value_expr, cols)
        keys = [resolve(g, cols) for g in groups]
        stmt = select(value.label("v"), *(k.label(f"g{i}") for i, k in enumerate(keys)))
        if from_select is not None:
            stmt = stmt.select_from(from_select)
    return stmt.subquery("pop")


def percentile_subquery(
    d: Any,
    value_expr: Any,
    fraction: float,
    group_by_cols: Any = (),
    from_select: Any = None,
    *,
    name: str = "pct",
    value_label: str = "value",
    count_label: str = "n",
) -> Subquery:
    """Per-group percentile (percentile_cont semantics) and sample count; see the module docstring."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"percentile fraction must be between 0 and 1, not {fraction}")
    fraction = float(fraction)
    groups = list(group_by_cols or ())
    names = [_column_name(g, i) for i, g in enumerate(groups)]
    pop = _population(value_expr, groups, from_select)
    keys = [pop.c[f"g{i}"] for i in range(len(groups))]
    out_keys = [k.label(n) for k, n in zip(keys, names, strict=True)]

    if dialect_name(d) == "postgresql":
        stmt = select(
            *out_keys,
            type_coerce(func.percentile_cont(fraction).within_group(pop.c.v), Float).label(value_label),
            func.count(pop.c.v).label(count_label),
        ).where(pop.c.v.is_not(None))
        if keys:
            stmt = stmt.group_by(*keys)
        return stmt.subquery(name)

    ranked = (
        select(
            *(k.label(f"g{i}") for i, k in enumerate(keys)),
            pop.c.v,
            func.row_number().over(partition_by=keys or None, order_by=pop.c.v).label("rn"),
            func.count().over(partition_by=keys or None).label("cnt"),
        )
        .where(pop.c.v.is_not(None))
        .subquery("ranked")
    )
    rkeys = [ranked.c[f"g{i}"] for i in range(len(groups))]
    pos = literal(fraction, Float) * (ranked.c.cnt - 1)  # 0-based fractional rank
    lo = cast(pos, Integer)  # floor: pos is never negative
    frac = pos - lo
    v_lo = func.max(case((ranked.c.rn == lo + 1, ranked.c.v)))
    v_hi = func.coalesce(func.max(case((ranked.c.rn == lo + 2, ranked.c.v))), v_lo)
    # frac is the same on every row of a group; max() picks it up inside the aggregate.
    value = v_lo + func.max(frac) * (v_hi - v_lo)
    stmt = select(
        *(k.label(n) for k, n in zip(rkeys, names, strict=True)),
        type_coerce(value * 1.0, Float).label(value_label),
        func.count(ranked.c.v).label(count_label),
    )
    if rkeys:
        stmt = stmt.group_by(*rkeys)
    return stmt.subquery(name)


def percentile_value(d: Any, value_expr: Any, fraction: float, from_select: Any = None) -> ScalarSelect:
    """The percentile over the whole population as a scalar subquery (NULL when it is empty)."""
    sub = percentile_subquery(d, value_expr, fraction, (), from_select, name="pct_all")
    return select(sub.c.value).scalar_subquery()


# --- time grains, medians and bounds for the KPI compiler -------------------------------------------------
# Constants in these expressions are inlined SQL literals (ours, never user input), so the same expression in
# SELECT and GROUP BY is textually identical, which PostgreSQL requires.

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


def codepoint_order(dialect: str, expr: ColumnElement) -> ColumnElement:
    """`expr` compared by code point, as Python sorts strings: SQLite's default BINARY collation already does;
    PostgreSQL's "C" collation does for UTF-8, whatever the database's own collation."""
    return expr.collate("C") if dialect == "postgresql" else expr


def money_total(dialect: str, total: ColumnElement) -> ColumnElement:
    """A SUM of money terms, exact to the cent. PostgreSQL's NUMERIC is exact already. SQLite sums binary floats,
    so a prorated quota of exactly 16.555 arrives as 16.554999999999996 and would round to 16.55 instead of
    16.56: the total is rounded to 6 places in SQL, far below a cent and far above the float noise, and comes
    back as that float (not through the Numeric type, which would cut it to 2 places the float way)."""
    return func.round(total, 6, type_=Float) if dialect == "sqlite" else total


def money_quotient(dialect: str, amount: ColumnElement, rate: ColumnElement) -> ColumnElement:
    """`amount ÷ rate` rounded half-even to the cent, exactly, for money (2 places) and rates (at most 6 places,
    rate > 0): 10.00 ÷ 8 = 1.25; 0.05 ÷ 2 = 0.025 → 0.02; 0.15 ÷ 2 = 0.075 → 0.08; −0.05 ÷ 2 → −0.02.

    Both are turned into whole numbers (cents, millionths of the rate) and divided as integers, so no binary
    float decides a tie: the quotient in cents is cents × 10⁶ ÷ rate × 10⁶, its remainder decides the rounding.
    PostgreSQL divides NUMERIC with div() and mod(); SQLite divides 64-bit integers in two steps (cents ÷ rate,
    then the remainder × 10⁶ ÷ rate) so that no product overflows for any amount a NUMERIC(18, 2) can hold whose
    quotient does. The result is NUMERIC on PostgreSQL and a float of the exact cents on SQLite (as sums are).
    """
    million = literal_column("1000000")
    if dialect == "sqlite":
        cents = cast(func.round(amount * literal_column("100")), Integer)
        units = cast(func.round(rate * million), Integer)
        # `//` on two integer expressions is SQLite's integer division, truncating toward zero like its `%`
        head, rest = cents // units, (cents % units) * million
        quotient, remainder = head * million + rest // units, rest % units
        hundred = literal_column("100.0")
    else:
        cents = amount * literal_column("100")
        units = rate * million
        quotient, remainder = func.div(cents * million, units), func.mod(cents * million, units)
        hundred = literal_column("100")
    twice = func.abs(remainder) * literal_column("2")
    odd = (func.abs(quotient) % literal_column("2")) if dialect == "sqlite" else func.mod(func.abs(quotient), 2)
    away = case((remainder < literal_column("0"), literal_column("-1")), else_=literal_column("1"))
    step = case((or_(twice > units, and_(twice == units, odd == literal_column("1"))), away),
                else_=literal_column("0"))
    return (quotient + step) / hundred


# --- membership in a list of ids ------------------------------------------------------------------------------

class _Among(ColumnElement):
    """`column` is one of `ids`; see :func:`among`. Rendered per dialect when the statement is compiled."""

    type = Boolean()
    inherit_cache = False  # the ids are values, not shape: statements holding one are compiled each time

    def __init__(self, column: ColumnElement, ids: list[int]):
        self.column, self.ids = column, ids


@compiles(_Among)
def _among_listed(element: _Among, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(_Among, "postgresql")
def _among_array(element: _Among, compiler: Any, **kw: Any) -> str:
    ids = bindparam(None, element.ids, type_=ARRAY(Integer))
    return compiler.process(element.column == any_(ids), **kw)


def among(column: ColumnElement, ids: Any) -> ColumnElement:
    """``column`` is one of ``ids`` (rep or deal ids), whatever their number. No dialect argument: the choice is
    made when the statement is compiled. PostgreSQL: ``column = ANY(:ids)``, one array parameter, which the
    executor looks up in a hash table and a reused (generic) plan keeps; ``IN ($1, …, $500)`` would rebuild
    the array for every row of a generic plan (a VP's tree over half the org: a scan ~1.7× slower). SQLite:
    ``column IN (…)``."""
    return _Among(column, list(ids))
