"""The job registry: every scheduled job, by import path, with its trigger.

Jobs are plain functions `job(ctx, now) -> dict` (scheduler.context). They are *frequent idempotent ticks*
("send what is due and not yet sent"), not one cron entry per person, so a missed tick, a restart or a new
leader simply catches up on the next one; the delivery ledger makes a repeated tick harmless.

A job's module is imported lazily when the scheduler starts: a job whose module is not part of this version
(or fails to import) is skipped with a log line, and the others run.

APScheduler stores each job in the SQLAlchemy job store as `run_job(job_id, target)`: a reference to this
module's function plus two strings, so nothing unpicklable (the engine, the Slack client) is ever persisted.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Settings
from ops import telemetry

log = logging.getLogger(__name__)

# Interval ticks are aligned to this instant, so every replica agrees on :00, :05, :10 …
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class JobSpec:
    id: str
    target: str  # "package.module:function", called as function(ctx, now) -> dict
    description: str
    trigger: Callable[[Settings], BaseTrigger]
    misfire_grace_seconds: int = 300  # a tick this late still runs (coalesced); a later one waits for the next
    enabled: Callable[[Settings], bool] = lambda _settings: True  # scheduled only when the settings call for it
    off_reason: str = ""  # what `python bot.py jobs` says when it is not enabled

    def make_trigger(self, settings: Settings) -> BaseTrigger:
        return self.trigger(settings)


def _every(minutes: int) -> Callable[[Settings], BaseTrigger]:
    return lambda _settings: IntervalTrigger(minutes=minutes, start_date=EPOCH, timezone=UTC)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_weekday(token: str) -> int:
    """A crontab weekday, 0-7 (0 and 7 are Sunday) or a name, as 0 (Sunday) to 7."""
    if token.isdigit() and int(token) <= 7:
        return int(token)
    name = token.lower()[:3]
    if name in _WEEKDAYS:
        return _WEEKDAYS.index(name)
    raise ValueError(f"{token!r} is not a weekday")


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler 3 day names.

    APScheduler 3 numbers weekdays from Monday (0 = Monday), crontab from Sunday (0 or 7 = Sunday): handed
    `0 7 * * 1-5` as is, it fired Tuesday to Saturday. Names mean the same to both, so the field is spelt out."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        body, _, step = part.partition("/")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, _, end = body.partition("-")
            first, last = _cron_weekday(start), _cron_weekday(end)
        else:
            first = _cron_weekday(body)
            last = 6 if step else first
        days |= {day % 7 for day in range(first, last + 1, int(step or 1))}
    if not days:
        raise ValueError(f"the weekday field {field!r} names no day")
    return ",".join(_WEEKDAYS[day] for day in sorted(days))
def _crm_interval(settings: Settings) -> BaseTrigger:
    return IntervalTrigger(minutes=settings.crm.sync_minutes, start_date=EPOCH, timezone=UTC)


def _integrity_cron(settings: Settings) -> BaseTrigger:
    """INTEGRITY_CRON, read as crontab reads it, in DEFAULT_TIMEZONE."""
    fields = settings.integrity_cron.split()
    if len(fields) != 5:
        raise ValueError(f"INTEGRITY_CRON needs 5 fields (minute hour day month weekday), not {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekday),
                       timezone=settings.tz)


def _weekly_snapshot(_settings: Settings) -> BaseTrigger:
    return CronTrigger(day_of_week="mon", hour=6, minute=0, timezone=UTC)


JOBS: tuple[JobSpec, ...] = (
    JobSpec("digests", "scheduler.digests:run_digests",
            "morning digests (managers, weekdays) and weekly exec digests (Mondays) that are due", _every(5)),
    JobSpec("alerts", "scheduler.alerts:refresh_alerts",
            "stalled-deal alert lifecycle: open, resolve, escalate", _every(15)),
    JobSpec("nudges", "scheduler.nudges:run_nudges",
            "one grouped stalled-deal nudge a day per rep", _every(10)),
    JobSpec("integrity", "scheduler.integrity_run:run_integrity",
            "data-integrity findings and delivery failures to OPS_CHANNEL (INTEGRITY_CRON)", _integrity_cron,
            misfire_grace_seconds=6 * 3600),
    JobSpec("snapshots", "scheduler.snapshots:refresh_snapshots",
            "history snapshot (stage conversion, pushed close dates): new history in, rebuilt daily", _every(15)),
    JobSpec("forecast_calls", "scheduler.call_reminders:run_call_reminders",
            "weekly forecast-call reminders (FORECAST_CALL_DAY at FORECAST_CALL_TIME, local), with the deadline",
            _every(5)),
    JobSpec("crm_sync", "scheduler.crm_sync:run_crm_sync",
            "CRM sync (CRM_SYNC_MINUTES); 3 failed runs in a row tell OPS_CHANNEL once, recovery once more",
            _crm_interval, enabled=lambda settings: settings.crm.connector is not None,
            off_reason="off: no CRM is configured"),
    JobSpec("forecast_snapshots", "scheduler.forecast_snapshots:take_weekly_snapshots",
            "weekly forecast snapshots per rep and manager, as of Monday 06:00 UTC", _weekly_snapshot,
            misfire_grace_seconds=6 * 24 * 3600),
)


def job_by_id(job_id: str, jobs: tuple[JobSpec, ...] = JOBS) -> JobSpec | None:
    return next((j for j in jobs if j.id == job_id), None)


def resolve(target: str) -> Callable | None:
    """The function behind "module:function", or None (logged) when this version does not have it."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            log.info("job %s skipped: module %s is not available in this version", target, module_name)
        else:
            log.warning("job %s skipped: importing %s failed: %s", target, module_name, exc)
        return None
    except Exception:  # noqa: BLE001 - a broken job module must not stop the others
        log.exception("job %s skipped: importing %s failed", target, module_name)
        return None
    fn = getattr(module, attr, None)
    if not callable(fn):
        log.info("job %s skipped: %s has no function %s", target, module_name, attr)
        return None
    return fn


def available(jobs: tuple[JobSpec, ...] = JOBS) -> list[JobSpec]:
    return [spec for spec in jobs if resolve(spec.target) is not None]


# ---------------------------------------------------------------------------------------------------------------
# the function APScheduler calls


class _Runtime:
    """The live scheduler services of this process (normally one); a job runs with the leader's context."""

    def __init__(self) -> None:
        self.services: list = []
        self.lock = threading.Lock()

    def leader(self):
        with self.lock:
            return next((s for s in self.services if s.is_leader), None)


RUNTIME = _Runtime()


def run_job(job_id: str, target: str) -> dict | None:
    """Run one registered job with the leader's JobContext (skipped when this replica is not the leader)."""
    service = RUNTIME.leader()
    if service is None:
        log.info("job %s not run: this replica is not the scheduler leader", job_id)
        return None
    fn = resolve(target)
    if fn is None:
        return None
    started = time.perf_counter()
    now = datetime.now(UTC)
    telemetry.JOB_RUNS.labels(job=job_id).inc()
    with service.running():  # until its run is recorded: a graceful stop reads what it left undone
        try:
            summary = fn(service.context, now)
        except Exception:
            telemetry.JOB_FAILURES.labels(job=job_id).inc()
            log.exception("job %s failed", job_id)
            service.record_run(job_id, now, None, error=True)
            raise
        took = time.perf_counter() - started
        log.info("job %s done in %.1f s: %s", job_id, took, _short(summary))
        service.record_run(job_id, now, summary)
    return summary


def _short(summary) -> str:
    if not isinstance(summary, dict):
        return repr(summary)[:300]
    return ", ".join(f"{k}={v}" for k, v in summary.items() if not isinstance(v, list | dict))[:300]
