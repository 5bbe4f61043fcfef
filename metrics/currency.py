"""Currencies (DESIGN §3a): every amount the metrics layer reads is converted to the org currency in SQL.

A deal keeps its own `currency`; `exchange_rates` says how many units of a currency make one unit of the org
currency (Salesforce's ConversionRate), valid from `valid_from` through `valid_to` (inclusive, NULL = open).
A closed deal converts at the rate valid on its close date, an open deal at the rate valid today (Salesforce's
dated-rate convention); when ranges overlap, the one that started last wins. A deal in the org currency, or
with no currency, needs no rate. The converted amount is rounded half-even to the cent, deal by deal, so totals
are exact sums of cents.

`org_amount` is that conversion as one expression over a deal row: every money measure, list and rule reads it
instead of the raw amount. It is NULL when the deal has an amount but its currency has no rate on that day;
such a deal is left out (`rate_known` is false) and counted (`rate_missing`), never summed unconverted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Connection, Date, and_, bindparam, case, func, literal, literal_column, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from db.schema import exchange_rates, opportunities, stages
from metrics import dialect as hooks

CENT = Decimal("0.01")
# Today, for open deals: a bound parameter, so a statement's shape does not change from day to day.
RATE_DAY = bindparam("rate_day", type_=Date)


def _org_literal(org_currency: str) -> ColumnElement:
    """The org currency as an inlined constant (ours, validated as three letters, never user input)."""
    if not (len(org_currency) == 3 and org_currency.isalpha() and org_currency.isupper()):
        raise ValueError(f"org currency {org_currency!r} is not a three-letter ISO 4217 code")
    return literal_column(f"'{org_currency}'")


def rate_day(is_closed: ColumnElement, close_date: ColumnElement, today: ColumnElement = RATE_DAY) -> ColumnElement:
    """The day whose rate converts the deal: its close date once closed, else today."""
    return case((is_closed, close_date), else_=today)


def rate_lookup(currency: ColumnElement, day: ColumnElement, value=None) -> ColumnElement:
    """A scalar subquery: `value(rate)` of the rate of `currency` valid on `day` (NULL when there is none)."""
    r = exchange_rates
    picked = r.c.rate if value is None else value(r.c.rate)
    return (
        select(picked)
        .where(r.c.currency == currency, r.c.valid_from <= day, or_(r.c.valid_to.is_(None), r.c.valid_to >= day))
        .order_by(r.c.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )


def in_org_currency(org_currency: str, currency: ColumnElement = opportunities.c.currency) -> ColumnElement:
    return func.coalesce(currency, _org_literal(org_currency)) == _org_literal(org_currency)


def org_amount(dialect: str, org_currency: str, *, amount: ColumnElement = opportunities.c.amount,
               currency: ColumnElement = opportunities.c.currency, is_closed: ColumnElement = stages.c.is_closed,
               close_date: ColumnElement = opportunities.c.close_date, today: ColumnElement = RATE_DAY
               ) -> ColumnElement:
    """The deal's amount in the org currency, to the cent (half-even); NULL when it needs a rate there is not.

    The lookup sits in the ELSE of a CASE, so a deal in the org currency costs no lookup at all."""
    day = rate_day(is_closed, close_date, today)
    converted = rate_lookup(currency, day, lambda rate: hooks.money_quotient(dialect, amount, rate))
    return case((in_org_currency(org_currency, currency), amount), else_=converted)


def rate_exists(currency: ColumnElement, day: ColumnElement) -> ColumnElement:
    """Some rate of `currency` is valid on `day`: the condition under which rate_lookup finds one."""
    r = exchange_rates
    return (select(literal_column("1"))
            .where(r.c.currency == currency, r.c.valid_from <= day, or_(r.c.valid_to.is_(None), r.c.valid_to >= day))
            .exists())


def _convertible(org_currency: str, columns: dict[str, ColumnElement]) -> ColumnElement:
    """The deal's amount converts: it is in the org currency (or has none), or a rate is valid on its day.

    The same deals as `org_amount(...) IS NOT NULL` for a deal with an amount (a rate is positive, so a found
    rate always gives a quotient), but an existence probe instead of the quotient: a count or the left-out count
    costs no arithmetic, and a statement with several counts does not compute the conversion once for each."""
    currency = columns.get("currency", opportunities.c.currency)
    day = rate_day(columns.get("is_closed", stages.c.is_closed), columns.get("close_date", opportunities.c.close_date),
                   columns.get("today", RATE_DAY))
    return or_(in_org_currency(org_currency, currency), rate_exists(currency, day))


def rate_missing(dialect: str, org_currency: str, **columns: ColumnElement) -> ColumnElement:
    """The deal has an amount that cannot be converted: no rate for its currency on its day."""
    amount = columns.get("amount", opportunities.c.amount)
    return and_(amount.is_not(None), not_(_convertible(org_currency, columns)))


def rate_known(dialect: str, org_currency: str, **columns: ColumnElement) -> ColumnElement:
    """The deal counts: it has no amount, or its amount converts."""
    amount = columns.get("amount", opportunities.c.amount)
    return or_(amount.is_(None), _convertible(org_currency, columns))


@dataclass(frozen=True)
class Conversion:
    """What converting a deal row needs outside the metric compiler (lists, changes, rules): the dialect, the
    org currency and today (the asker's). `amount()` is org_amount with today inlined as a value."""

    dialect: str
    org_currency: str
    today: date

    @classmethod
    def of(cls, conn: Connection, org_currency: str, today: date) -> Conversion:
        return cls(conn.dialect.name, org_currency, today)

    def amount(self, **columns: ColumnElement) -> ColumnElement:
        return org_amount(self.dialect, self.org_currency, today=literal(self.today, Date), **columns)

    def missing(self, **columns: ColumnElement) -> ColumnElement:
        return rate_missing(self.dialect, self.org_currency, today=literal(self.today, Date), **columns)


# --- in Python: answers shown in another currency ------------------------------------------------------------

def rate_on(conn: Connection, currency: str, day: date) -> Decimal | None:
    """The rate of `currency` valid on `day` (units per org-currency unit), or None."""
    value = conn.execute(select(rate_lookup(literal(currency), literal(day, Date)))).scalar()
    return None if value is None else Decimal(str(value))


def to_display(amount: Decimal | None, rate: Decimal) -> Decimal | None:
    """An org-currency amount in a currency whose rate is `rate`: amount × rate, to the cent, half-even."""
    if amount is None:
        return None
    return (Decimal(amount) * rate).quantize(CENT, ROUND_HALF_EVEN)
