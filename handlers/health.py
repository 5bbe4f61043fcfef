"""What /readyz and /metrics report: readiness (database, migrations, Slack auth) and the gauges read at scrape."""

from __future__ import annotations

import logging
from functools import cache

from prometheus_client import CollectorRegistry
from sqlalchemy import text

from handlers.deps import BotDeps
from ops import telemetry

log = logging.getLogger(__name__)


@cache
def _head_revision() -> str:
    from db.engine import head_revision

    return head_revision()


class Health:
    """Readiness and scrape-time state of one serving bot. `slack_auth` is set once Slack accepted the token (and,
    in Socket Mode, the connection is open): until then /readyz says the bot is not ready."""

    def __init__(self, deps: BotDeps, *, slack_auth: bool = True):
        self.deps = deps
        self.slack_auth = slack_auth
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(telemetry.StateCollector(self.state))

    def readiness(self) -> tuple[dict[str, bool], list[str]]:
        """{"database", "migrations", "slack_auth"} → whether each holds, and a sentence for each that does not."""
        from db.engine import current_revision

        database = migrations = False
        reasons = []
        try:
            with self.deps.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = True
            current, head = current_revision(self.deps.engine), _head_revision()
            migrations = current == head
            if not migrations:
                reasons.append(f"migrations: the database is at {current or 'no migration'}, the newest is {head}; "
                               "run `python bot.py db upgrade`.")
        except Exception as exc:  # noqa: BLE001 - readiness is a yes/no with a reason; the details go to the log
            log.warning("readiness: database check failed: %s", exc)
            reasons.append(f"database: cannot reach it ({type(exc).__name__}); check DATABASE_URL and that the "
                           "server is up.")
        if not self.slack_auth:
            reasons.append("slack_auth: Slack has not accepted the token yet (or Socket Mode is not connected).")
        return {"database": database, "migrations": migrations, "slack_auth": self.slack_auth}, reasons

    def metrics(self) -> tuple[bytes, str]:
        return telemetry.exposition(self._registry)

    def state(self) -> dict:
        deps = self.deps
        pool = deps.engine.pool
        checked_out = pool.checkedout() if hasattr(pool, "checkedout") else 0
        out = {
            "salesbot_db_pool_in_use": ("Database connections checked out of the pool.", [({}, checked_out)]),
            "salesbot_answers_running": ("Answers being computed now.", [({}, deps.gate.running)]),
            "salesbot_answers_waiting": ("Answers waiting for a free database connection.",
                                         [({}, deps.gate.waiting)]),
            "salesbot_scheduler_leader": ("1 when this replica fires the scheduled jobs.", [({}, _leader())]),
        }
        lag = _crm_sync_lag(deps)
        if lag:
            out["salesbot_crm_sync_lag_seconds"] = ("Seconds since each CRM object last synced successfully.", lag)
        return out


def _leader() -> int:
    from scheduler.jobs import RUNTIME

    return int(RUNTIME.leader() is not None)


def _crm_sync_lag(deps: BotDeps) -> list[tuple[dict[str, str], float]]:
    connector = deps.settings.crm.connector
    if connector is None:
        return []
    from crm.state import read_states

    try:
        with deps.engine.connect() as conn:
            states = read_states(conn, connector)
    except Exception:  # noqa: BLE001 - a scrape must not fail on a database hiccup
        log.debug("crm sync lag unavailable", exc_info=True)
        return []
    return [({"connector": s.connector, "object": s.object}, telemetry.seconds_since(s.last_success_at))
            for s in states if s.last_success_at is not None]
