"""Answer a request: parse it, check who may see what, ask the metrics layer, return an Answer.

Slack handlers, the console, `ask` and the scheduler all call `answer_text`; nothing here knows Slack.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from assistant.answers import Answer
from assistant.grammar import Request, parse_request
from config import Settings
from errors import UserError
from metrics.cache import ResultCache
from metrics.evaluate import MetricResult, evaluate
from metrics.periods import Period, parse_period
from metrics.scopes import Scope, Viewer, default_scope, resolve_scope

log = logging.getLogger(__name__)

DEFAULT_PERIODS = {"deals": "this week", "changes": "this quarter"}
UNAVAILABLE = "The sales data source is unavailable right now. Please try again in a minute."


@dataclass
class Ask:
    """Everything one answer needs: the connection, who asks, their calendar, the parsed request."""

    conn: Connection
    viewer: Viewer
    settings: Settings
    today: date
    now: datetime
    request: Request
    cache: ResultCache | None = None

    @property
    def fiscal(self) -> int:
        return self.settings.fiscal_year_start_month

    def period(self, default: str = "this quarter") -> Period:
        if self.request.period is not None:
            return self.request.period
        return parse_period(DEFAULT_PERIODS.get(self.request.intent, default), self.today, self.fiscal)

    def scope(self) -> Scope:
        """What the request names. "me" from a manager, exec or ops person means what they look after (their
        team, or the org): they rarely own deals, and "how am I tracking?" is a question about their number."""
        if self.request.scope_text == "me" and self.viewer.role != "rep":
            return default_scope(self.viewer)
        return resolve_scope(self.conn, self.viewer, self.request.scope_text)

    def freshness(self) -> str:
        return freshness_line(self.conn, self.settings, self.now)

    def metric(self, name: str, period: Period, scope: Scope, by=()) -> MetricResult:
        return evaluate(self.conn, name, period, scope, by=by, today=self.today, fiscal_start_month=self.fiscal,
                        cache=self.cache)


def viewer_today(viewer: Viewer, settings: Settings, now: datetime) -> date:
    tz = ZoneInfo(viewer.timezone) if viewer.timezone else settings.tz
    return now.astimezone(tz).date()


def error_answer(message: str, *, error_id: str | None = None, suggestion: str | None = None) -> Answer:
    return Answer(kind="error", title="Sorry, I couldn't answer that", lines=[message], error_id=error_id,
                  suggestion=suggestion)


def answer_text(engine: Engine, viewer: Viewer, text: str, *, settings: Settings, now: datetime | None = None,
                cache: ResultCache | None = None) -> Answer:
    """The whole pipeline for one request; never raises: failures become an error Answer with an id."""
    from assistant import intents

    now = now or datetime.now(UTC)
    today = viewer_today(viewer, settings, now)
    try:
        request = parse_request(text, today, settings.fiscal_year_start_month)
        with engine.connect() as conn:
            ask = Ask(conn, viewer, settings, today, now, request, cache)
            answer = intents.HANDLERS[request.intent](ask)
        if request.notes and not answer.understood:
            answer.understood = "I read this as: " + "; ".join(request.notes)
        answer.request_text = text
        return answer
    except UserError as exc:
        answer = error_answer(str(exc), suggestion=getattr(exc, "suggestion", None))
        answer.kind = "refusal" if type(exc).__name__ == "ScopeRefused" else "error"
        answer.request_text = text
        return answer
    except (OperationalError, DBAPIError) as exc:
        if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
            error_id = uuid.uuid4().hex[:8]
            log.warning("data source unavailable (error id %s): %s", error_id, exc)
            return error_answer(UNAVAILABLE, error_id=error_id)
        return _unexpected(text)
    except Exception:  # noqa: BLE001 - the user gets a sentence and an id; the log gets the trace
        return _unexpected(text)


def _unexpected(text: str) -> Answer:
    error_id = uuid.uuid4().hex[:8]
    log.exception("failed to answer %r (error id %s)", text, error_id)
    return error_answer(f"Something went wrong on my side (error id {error_id}). The team has the details.",
                        error_id=error_id)


def freshness_line(conn: Connection, settings: Settings, now: datetime) -> str:
    """How old the data is: the CRM sync's age when a CRM is configured, else the moment of the answer."""
    from crm.freshness import sync_freshness

    fresh = sync_freshness(conn, settings.crm, now)
    return fresh.sentence(now) if fresh else f"as of {now.astimezone(UTC):%b %-d, %H:%M} UTC"


def since_default(now: datetime) -> datetime:
    return now - timedelta(days=1)
