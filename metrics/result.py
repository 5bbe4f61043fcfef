"""What evaluating a metric gives back (`MetricResult`) and the steps every kind of metric shares: running a
compiled query through the cache, counting the deals left out for want of a rate, rounding a figure as shown.
Below metrics.evaluate and metrics.special, which both use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Connection, Select

from metrics.cache import ResultCache, default_cache
from metrics.compile import render_sql
from metrics.model import MISSING_RATES
from metrics.periods import Period
from metrics.scopes import Scope

CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")


@dataclass
class MetricResult:
    metric: str
    label: str
    fmt: str
    description: str
    period: Period
    scope: Scope
    by: tuple[str, ...]
    rows: list[dict]
    queries: list[tuple[Select, dict]] = field(default_factory=list)
    dialect: object = None
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    left_out: int = 0  # deals left out: an amount in a currency with no exchange rate on the deal's day
    org_currency: str = "USD"
    currency: str = "USD"  # the currency the money figures are in: the org's, or the one asked for
    rate: Decimal | None = None  # units of `currency` per org-currency unit (today's), when it is not the org's
    as_of: datetime | None = None  # the moment the figures are as of, when not now (a trend's are in its rows)

    @property
    def sql(self) -> list[str]:
        """The exact SQL sent, parameters inlined (rendered on demand: only --explain needs it)."""
        return [render_sql(q, self.dialect, values) for q, values in self.queries]

    @property
    def value(self):
        """The single value of an ungrouped result."""
        return self.rows[0]["value"] if self.rows else None


def left_out(parts: list[list[dict]]) -> int:
    """The deals the queries left out for want of an exchange rate (the largest count of any one query: the
    queries of one answer read the same deals)."""
    return max((sum(int(r.get(MISSING_RATES) or 0) for r in part) for part in parts), default=0)


def run_query(conn: Connection, query: tuple[Select, dict], cache: ResultCache | None) -> list[dict]:
    """Run a (statement, parameters) pair through the cache."""
    cache = cache or default_cache()
    statement, values = query
    return cache.fetch(conn, statement, values)


def quantize(value, fmt: str):
    """A figure as shown: money to the cent, a count whole, days to 0.1, a ratio to 4 places (None stays None)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if fmt == "money":
        return Decimal(str(value)).quantize(CENT)
    if fmt == "count":
        return int(value)
    if fmt == "days":
        return Decimal(str(value)).quantize(Decimal("0.1"))
    return Decimal(str(value)).quantize(RATIO_PLACES)
