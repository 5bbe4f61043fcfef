"""The scheduler of `python bot.py run`: APScheduler 3 with its job store in the bot's database, fired by the
leader replica only.

Every replica starts a BackgroundScheduler *paused*, on a SQLAlchemy job store (table `bot_scheduler_jobs`) in
the bot's own database, and takes part in the leader election (scheduler.leader). The replica that wins:
1. syncs the registry (scheduler.jobs.JOBS) into the job store: missing jobs are added, changed ones replaced,
   unchanged ones kept as stored (so a cron run missed while no replica led is still caught up, within its
   misfire grace time), jobs no longer in the registry removed;
2. resumes its scheduler, which fires the due jobs.
When it loses the lock (its database connection died, or it shuts down) it pauses again; another replica
takes over. Each job is a frequent idempotent tick and every message goes through the delivery ledger, so a
tick run twice (a leader change mid-tick) sends nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from sqlalchemy import Engine, text

from config import Settings
from scheduler import jobs as registry
from scheduler.context import JobContext
from scheduler.leader import CHECK_SECONDS, RETRY_SECONDS, LeaderElection, LeaderLock, lock_for

log = logging.getLogger(__name__)
JOBS_TABLE = "bot_scheduler_jobs"
_TABLE_LOCK_KEY = 0x5A1E5C4F  # serialises the job-store table creation between replicas starting together


def job_store(engine: Engine) -> SQLAlchemyJobStore:
    """The job store, its table created if missing (safely, when several replicas start at once)."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _TABLE_LOCK_KEY})
        store.jobs_t.create(conn, checkfirst=True)
    return store


class SchedulerService:
    """One replica's scheduler: paused until elected. `shutdown(wait=False)` stops it."""

    def __init__(self, engine: Engine, settings: Settings, context: JobContext, *,
                 lock: LeaderLock | None = None, jobs: tuple[registry.JobSpec, ...] = registry.JOBS,
                 retry_seconds: float = RETRY_SECONDS, check_seconds: float = CHECK_SECONDS, workers: int = 2):
        self.engine, self.settings, self.context = engine, settings, context
        self.jobs = jobs
        self.lock = lock or lock_for(engine)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": job_store(engine)},
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        self.election = LeaderElection(self.lock, on_elected=self._elected, on_lost=self._lost,
                                       retry_seconds=retry_seconds, check_seconds=check_seconds)
        self.runs: list[tuple[str, datetime, dict | None, bool]] = []  # recent runs (job id, at, summary, error)
        self._runs_lock = threading.Condition()
        self._running = 0  # jobs under way in run_job
        self._cut_short: set[str] = set()  # jobs a shutdown interrupted, to run again at once
        self._started = False

    @property
    def is_leader(self) -> bool:
        return self.election.is_leader

    def start(self) -> SchedulerService:
        self.scheduler.start(paused=True)
        with registry.RUNTIME.lock:
            registry.RUNTIME.services.append(self)
        self.election.start()
        self._started = True
        log.info("scheduler started (paused until this replica leads; %s)", self.lock.describe())
        return self

    def _elected(self) -> None:
        self.sync_jobs()
        self.scheduler.resume()
        log.info("scheduler: running %s", ", ".join(j.id for j in self.scheduler.get_jobs()) or "no jobs")

    def _lost(self) -> None:
        try:
            self.scheduler.pause()
        except Exception:  # noqa: BLE001 - already shut down
            log.debug("scheduler pause failed", exc_info=True)

    def sync_jobs(self) -> list[str]:
        """Make the job store match the registry; returns the ids now scheduled."""
        wanted = {}
        for spec in self.jobs:
            if not spec.enabled(self.settings) or registry.resolve(spec.target) is None:
                continue
            wanted[spec.id] = spec
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                log.info("scheduler: removing job %s (no longer registered or not available)", job.id)
                job.remove()
        for spec in wanted.values():
            trigger = spec.make_trigger(self.settings)
            existing = self.scheduler.get_job(spec.id)
            if (existing is not None and str(existing.trigger) == str(trigger)
                    and list(existing.args) == [spec.id, spec.target]
                    and existing.misfire_grace_time == spec.misfire_grace_seconds
                    and existing.next_run_time is not None):
                continue  # unchanged: keep its stored next run time (catch-up after downtime)
            self.scheduler.add_job(registry.run_job, trigger, args=[spec.id, spec.target], id=spec.id,
                                   name=spec.description, replace_existing=True,
                                   misfire_grace_time=spec.misfire_grace_seconds, coalesce=True, max_instances=1)
        return list(wanted)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Around one job's run (scheduler.jobs.run_job), so a graceful stop can wait for the jobs under way."""
        with self._runs_lock:
            self._running += 1
        try:
            yield
        finally:
            with self._runs_lock:
                self._running -= 1
                self._runs_lock.notify_all()

    def record_run(self, job_id: str, at: datetime, summary: dict | None, error: bool = False) -> None:
        if isinstance(summary, dict):  # keep the counts, not the per-person details (digests, payloads)
            summary = {k: v for k, v in summary.items() if not isinstance(v, list)}
        with self._runs_lock:
            self.runs.append((job_id, at, summary, error))
            del self.runs[:-100]
            if isinstance(summary, dict) and summary.get("interrupted"):
                self._cut_short.add(job_id)

    def request_stop(self) -> None:
        """Fire no more jobs, and ask the one running to stop at its next safe point (JobContext.stopping)."""
        self.context.stopping.set()
        self._lost()

    def stop_gracefully(self, deadline: float) -> bool:
        """Fire no more jobs, let a running one stop at its next safe point (a digest run after the delivery it
        is sending) until the monotonic `deadline`, mark a job so interrupted due at once in the job store (the
        next leader, this replica restarted or another, resumes it on taking over rather than at its next tick),
        then step down and release the leader lock. Returns whether every job finished; one cut off by the
        deadline leaves its delivery claimed in the ledger, and the next leader takes the claim over (after
        ledger.STALE_AFTER) without sending it twice."""
        if not self._started:
            return True
        self.request_stop()
        with self._runs_lock:
            self._runs_lock.wait_for(lambda: self._running == 0, timeout=max(deadline - time.monotonic(), 0))
        finished = threading.Thread(target=self._shutdown_scheduler, args=(True,), name="scheduler-stop", daemon=True)
        finished.start()
        finished.join(max(deadline - time.monotonic(), 0))
        # after APScheduler's shutdown (its loop looks for due jobs once more on the way out and would move a job
        # due now on to its next tick), and before the lock goes to another replica
        self._due_at_once(sorted(self._cut_short))
        self.shutdown(wait=False)
        return not finished.is_alive()

    def _due_at_once(self, job_ids: list[str]) -> None:
        """Mark the jobs a shutdown interrupted due now in the job store: the next leader runs them on taking over."""
        store = SQLAlchemyJobStore(engine=self.engine, tablename=JOBS_TABLE)
        for job_id in job_ids:
            try:
                job = store.lookup_job(job_id)
                if job is None:
                    continue
                job.next_run_time = datetime.now(UTC)
                store.update_job(job)
                log.info("scheduler: %s was interrupted; the next leader runs it again at once", job_id)
            except Exception:  # noqa: BLE001 - its next tick catches up instead
                log.warning("scheduler: could not mark %s to run again at once", job_id, exc_info=True)

    def _shutdown_scheduler(self, wait: bool) -> None:
        try:
            self.scheduler.shutdown(wait=wait)
        except Exception:  # noqa: BLE001 - not running
            log.debug("scheduler shutdown", exc_info=True)

    def shutdown(self, wait: bool = False) -> None:
        if not self._started:
            return
        self._started = False
        self.election.stop()
        if self.scheduler.running:
            self._shutdown_scheduler(wait)
        with registry.RUNTIME.lock:
            if self in registry.RUNTIME.services:
                registry.RUNTIME.services.remove(self)
        dispose = getattr(self.lock, "dispose", None)
        if dispose:
            dispose()
        log.info("scheduler stopped")


def start_scheduler(deps, client: WebClient) -> SchedulerService:
    """Called by `python bot.py run` (runner.serve): the scheduler of this replica, started."""
    context = JobContext.build(deps.engine, deps.settings, client)
    return SchedulerService(deps.engine, deps.settings, context).start()
