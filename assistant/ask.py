"""What one answer needs (the connection, who asks, their calendar, the reading), shared by the intents and the
service that runs them: a floor below both, so neither imports the other's module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection

from assistant.grammar import Request
from assistant.resolve import Reading
from config import Settings
from i18n import _
from metrics.cache import ResultCache
from metrics.clock import viewer_today, viewer_zone
from metrics.currency import Conversion
from metrics.evaluate import MetricResult, evaluate
from metrics.periods import Period, parse_period
from metrics.scopes import Scope, Viewer

__all__ = ["Ask", "freshness_line", "since_default", "viewer_today", "viewer_zone"]


@dataclass
class Ask:
    conn: Connection
    viewer: Viewer
    settings: Settings
    today: date
    now: datetime
    reading: Reading
    cache: ResultCache | None = None

    @property
    def request(self) -> Request:
        return self.reading.request

    @property
    def fiscal(self) -> int:
        return self.settings.fiscal_year_start_month

    def period(self, default: str = "this quarter") -> Period:
        return self.reading.period or parse_period(default, self.today, self.fiscal)

    def scope(self) -> Scope:
        """The scope the reading resolved; raises the sentence saying why when it could not be used."""
        if self.reading.scope is None:
            from metrics.scopes import default_scope

            return default_scope(self.viewer)
        return self.reading.scope.require()

    def compare_scope(self) -> Scope | None:
        return None if self.reading.compare_scope is None else self.reading.compare_scope.require()

    @property
    def money(self) -> Conversion:
        """How deal amounts become org-currency amounts for this asker (open deals at their today's rate)."""
        return Conversion.of(self.conn, self.settings.org_currency, self.today)

    def freshness(self) -> str:
        return freshness_line(self.conn, self.settings, self.now)

    def freshness_at(self, moment: datetime | None) -> str | None:
        """The data-freshness line when it bears on the figures of `moment`: always for an answer about now; for a
        past moment only when the CRM data was last synced (in full) before it, so changes up to the moment may be
        missing. An imported database's "as of now" says nothing about a past moment, so it is left out."""
        if moment is None:
            return self.freshness()
        from crm.freshness import sync_freshness

        fresh = sync_freshness(self.conn, self.settings.crm, self.now)
        if fresh is None or (fresh.oldest_success is not None and fresh.oldest_success >= moment):
            return None
        return fresh.sentence(self.now)

    def metric(self, name: str, period: Period, scope: Scope, by=()) -> MetricResult:
        """The metric now, or as the data stood at the moment the question asks about ("as of oct 1")."""
        return evaluate(self.conn, name, period, scope, by=by, today=self.today, fiscal_start_month=self.fiscal,
                        cache=self.cache, org_currency=self.settings.org_currency, as_of=self.request.as_of)


def freshness_line(conn: Connection, settings: Settings, now: datetime) -> str:
    """How old the data is: the CRM sync's age when a CRM is configured, else the moment of the answer."""
    from crm.freshness import sync_freshness

    fresh = sync_freshness(conn, settings.crm, now)
    if fresh:
        return fresh.sentence(now)
    from render.format import moment_text

    return _("as of {moment}").format(moment=moment_text(now.astimezone(UTC), weekday=False))


def since_default(now: datetime) -> datetime:
    return now - timedelta(days=1)
