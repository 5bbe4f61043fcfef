"""What the stalled-deal rules (metrics.stalled) and the integrity rules (metrics.integrity) share.

A rule function takes ``(conn, *, today, now=None, settings, owner_ids=None)`` and returns ``list[Finding]``.
``owner_ids`` is None for the whole org, or a scope: a SELECT (or subquery) of one column of rep ids, as
``metrics.scopes.Scope.owner_ids()`` returns it (a plain collection of ids is accepted too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select, true
from sqlalchemy.sql.selectable import FromClause

from config import Settings
from db.schema import accounts, reps
from metrics.dialect import among


@dataclass(frozen=True)
class Finding:
    """One rule tripped by one record."""

    rule: str  # stable snake_case id, e.g. "no_activity"
    record_type: str  # opportunity | account | rep
    record_id: int
    record: str  # the record's external id
    record_name: str
    owner_id: int | None
    owner: str | None  # the owner's name
    detail: str  # a sentence with the figures
    amount: Decimal | None
    fingerprint: str  # rule + record external id: stable across runs
    reason: dict[str, Any] | None = None  # the detail as data (metrics.reasons), written out in the reader's language

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_finding(rule: str, record_type: str, row: Any, reason_data: dict[str, Any], *,
                 amount: Decimal | None = None) -> Finding:
    """A Finding from a result row with id, external_id, name, owner_id and owner_name columns, and its reason
    (metrics.reasons.reason); the detail is the reason's English sentence."""
    from metrics.reasons import english

    if amount is not None:  # a converted amount comes back from SQLite as a float of the cents
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    return Finding(
        rule=rule,
        record_type=record_type,
        record_id=row.id,
        record=row.external_id,
        record_name=row.name,
        owner_id=row.owner_id,
        owner=row.owner_name,
        detail=english(reason_data),
        amount=amount,
        fingerprint=f"{rule}:{row.external_id}",
        reason=reason_data,
    )


def sort_findings(findings: Iterable[Finding], rule_order: Mapping[str, Any]) -> list[Finding]:
    """Deterministic order: rule (in the order its module lists them), owner name, record external id."""
    order = {rule: i for i, rule in enumerate(rule_order)}
    return sorted(
        findings,
        key=lambda f: (order.get(f.rule, len(order)), f.rule, f.owner is None, f.owner or "", f.record, f.record_id),
    )


def in_scope(column: ColumnElement, owner_ids: Any) -> ColumnElement:
    """`column IN (scope)`, or TRUE for the whole org (owner_ids None)."""
    if owner_ids is None:
        return true()
    if isinstance(owner_ids, Select):
        return column.in_(owner_ids)
    if isinstance(owner_ids, FromClause):
        return column.in_(select(*owner_ids.c))
    return among(column, owner_ids)


def default_now(today: date, settings: Settings) -> datetime:
    """The end of `today` in the org's time zone (midnight starting the next day), as an aware UTC instant."""
    return datetime.combine(today + timedelta(days=1), time.min, tzinfo=settings.tz).astimezone(UTC)


def deal_segment() -> ColumnElement:
    """A deal's segment, lower case: its account's segment, else its owner's (needs accounts and reps joined)."""
    return func.lower(func.coalesce(func.nullif(accounts.c.segment, ""), func.nullif(reps.c.segment, "")))


def segment_threshold(segment: ColumnElement, default: int, by_segment: Mapping[str, int]) -> ColumnElement:
    """`by_segment[segment]` (keys lower case) else `default`, as a SQL CASE on bound values."""
    if not by_segment:
        return literal(default)
    lowered = {key.lower(): days for key, days in by_segment.items()}
    return case(*((segment == key, literal(days)) for key, days in sorted(lowered.items())), else_=literal(default))


def money(value: Decimal | None) -> str:
    if value is None:
        return "none"
    value = Decimal(value)
    return f"{value:,.2f}" if value != value.to_integral_value() else f"{value:,.0f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def fiscal_quarter_bounds(day: date, start_month: int) -> tuple[date, date]:
    """First and last day of the fiscal quarter containing `day` (fiscal year starting in `start_month`)."""
    months_in = (day.month - start_month) % 12
    q_start_month_index = (months_in // 3) * 3
    year = day.year if day.month >= start_month else day.year - 1  # calendar year the fiscal year started in
    m = start_month - 1 + q_start_month_index
    start = date(year + m // 12, m % 12 + 1, 1)
    m_next = m + 3
    end = date(year + m_next // 12, m_next % 12 + 1, 1) - timedelta(days=1)
    return start, end


def fiscal_quarter_name(start: date, start_month: int) -> str:
    """'FY2027 Q1' for the quarter starting on `start` (a fiscal year is named by the calendar year it ends in)."""
    months_in = (start.month - start_month) % 12
    fy = start.year + (1 if start_month != 1 and start.month >= start_month else 0)
    return f"FY{fy} Q{months_in // 3 + 1}"


def deal_rows(*cols: Any, owner_ids: Any, convert: Any = None) -> Select:
    """SELECT deal identity (what make_finding reads) + cols FROM deals joined to stage, owner and account,
    in scope. Both rule modules start from it. `amount` is in the org currency with `convert` (a
    metrics.currency.Conversion: NULL when the deal's currency has no rate), else the deal's own."""
    from db.schema import opportunities as o
    from db.schema import stages as s

    amount = o.c.amount if convert is None else convert.amount().label("amount")
    return (
        select(o.c.id, o.c.external_id, o.c.name, o.c.owner_id, reps.c.name.label("owner_name"), amount, *cols)
        .select_from(o.join(s, s.c.name == o.c.stage).outerjoin(reps, reps.c.id == o.c.owner_id)
                     .outerjoin(accounts, accounts.c.id == o.c.account_id))
        .where(in_scope(o.c.owner_id, owner_ids))
    )


def run_rules(titles: Mapping[str, str], functions: Mapping[str, Any], rules: Any, conn: Any, **kwargs: Any
              ) -> list[Finding]:
    """Run the selected rules (all of `titles` when `rules` is None) with the same arguments, findings sorted."""
    if "convert" not in kwargs and "today" in kwargs and "settings" in kwargs:
        from metrics.currency import Conversion

        kwargs["convert"] = Conversion.of(conn, kwargs["settings"].org_currency, kwargs["today"])
    wanted = None if rules is None else set(rules)
    findings: list[Finding] = []
    for rule in titles:
        if wanted is None or rule in wanted:
            findings.extend(functions[rule](conn, **kwargs))
    return sort_findings(findings, titles)
