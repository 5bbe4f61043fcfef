"""Forecast accuracy over the last finished quarters: the trailing mean absolute percentage error of the commit
roll-up at mid-quarter, and the band it stayed within (the exec digest's line, `/sales accuracy`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection

from i18n import _, ngettext
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period, period_containing
from metrics.scopes import Scope


@dataclass(frozen=True)
class Trail:
    quarters: list[tuple[Period, dict]]  # oldest first: each finished quarter and its accuracy row

    @property
    def errors(self) -> list[Decimal]:
        """|F − A| / A of each quarter with an actual (a quarter with A = 0 has none)."""
        return [abs(row["forecast"] - row["actual"]) / row["actual"] for _, row in self.quarters if row["actual"]]

    @property
    def mape(self) -> Decimal | None:
        errors = self.errors
        return sum(errors, Decimal(0)) / len(errors) if errors else None

    @property
    def within(self) -> Decimal | None:
        errors = self.errors
        return max(errors) if errors else None


def last_quarters(today: date, n: int, fiscal_start_month: int = 1) -> list[Period]:
    """The n fiscal quarters finished before today's, oldest first."""
    quarter = period_containing(today, "quarter", fiscal_start_month)
    out = []
    for _step in range(n):
        quarter = quarter.previous()
        out.append(quarter)
    return out[::-1]


def trailing_accuracy(conn: Connection, scope: Scope, today: date, fiscal_start_month: int = 1, quarters: int = 4,
                      cache: ResultCache | None = None) -> Trail:
    rows = []
    for quarter in last_quarters(today, quarters, fiscal_start_month):
        result = evaluate(conn, "forecast_accuracy", quarter, scope, today=today,
                          fiscal_start_month=fiscal_start_month, cache=cache)
        rows.append((quarter, result.rows[0]))
    return Trail(rows)


def within_line(trail: Trail) -> str | None:
    """"Commit at mid-quarter has been within ±8% of actual over the last 4 quarters" (the worst quarter's error,
    rounded up to a whole percent), or None when no quarter had closed won to compare with."""
    within = trail.within
    if within is None:
        return None
    n = len(trail.errors)
    band = math.ceil(within * 100)
    if n == 1:
        return _("Commit at mid-quarter has been within ±{band}% of actual over the last quarter").format(band=band)
    return ngettext("Commit at mid-quarter has been within ±{band}% of actual over the last {n} quarter",
                    "Commit at mid-quarter has been within ±{band}% of actual over the last {n} quarters",
                    n).format(band=band, n=n)
