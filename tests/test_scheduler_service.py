"""The scheduler service: the job registry, the leader lock (PostgreSQL advisory lock, SQLite file lock), one
replica firing jobs and another taking over when it goes away, the SQLAlchemy job store."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy import create_engine, inspect, text

import bot
from config import load_settings
from handlers.deps import BotDeps
from scheduler import jobs as registry
from scheduler.context import JobContext
from scheduler.jobs import JOBS, JobSpec, resolve
from scheduler.leader import FileLeaderLock, PostgresLeaderLock
from scheduler.ledger import DeliveryLedger
from scheduler.sender import SlackSender
from scheduler.service import JOBS_TABLE, SchedulerService, start_scheduler
from tests.backends import postgres_only

TICKS: list[str] = []
_TICKS_LOCK = threading.Lock()


def tick(ctx, now) -> dict:
    """A test job: records which replica ran it."""
    with _TICKS_LOCK:
        TICKS.append(ctx.tag)
    return {"tag": ctx.tag}


TEST_JOBS = (JobSpec("tick", "tests.test_scheduler_service:tick", "test tick",
                     lambda _s: IntervalTrigger(seconds=1)),)


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture
def jobs_table(db):
    """The job store's table comes with the migrations; empty it after the test (the PostgreSQL test database is
    shared by the session)."""
    yield
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {JOBS_TABLE}"))


def context(db, tag: str) -> JobContext:
    settings = replace(load_settings({}), database_url=db.url)
    ctx = JobContext(db.engine, settings, SlackSender(WebClient(token="x", base_url="http://127.0.0.1:9/")),
                     DeliveryLedger(db.engine))
    ctx.tag = tag
    return ctx


def replica(db, tag: str, retry_seconds: float = 0.2, **kw) -> SchedulerService:
    ctx = context(db, tag)
    return SchedulerService(db.engine, ctx.settings, ctx, jobs=TEST_JOBS, retry_seconds=retry_seconds,
                            check_seconds=0.2, **kw)


# ---------------------------------------------------------------------------------------------------------------


def test_the_registry_names_importable_jobs(caplog):
    assert [j.id for j in JOBS] == ["digests", "alerts", "nudges", "integrity", "snapshots", "forecast_calls",
                                    "crm_sync", "forecast_snapshots"]
    for spec in JOBS:
        assert callable(resolve(spec.target)), spec.target
    with caplog.at_level(logging.INFO, logger="scheduler.jobs"):
        assert resolve("scheduler.not_built_yet:run") is None
        assert resolve("scheduler.digests:no_such_function") is None
    assert "not available in this version" in caplog.text and "has no function" in caplog.text
    missing = (*JOBS, JobSpec("later", "scheduler.not_built_yet:run", "later", JOBS[0].trigger))
    assert [j.id for j in registry.available(missing)] == [j.id for j in JOBS]
    settings = load_settings({})
    assert str(JOBS[0].make_trigger(settings)).startswith("interval[0:05:00]")
    assert "cron" in str(JOBS[3].make_trigger(settings))


def test_the_file_lock_admits_one_holder(tmp_path):
    path = tmp_path / "sales.db.scheduler.lock"
    a, b = FileLeaderLock(path), FileLeaderLock(path)
    assert a.try_acquire() and a.still_held()
    assert not b.try_acquire()
    a.release()
    assert not a.still_held()
    assert b.try_acquire()
    assert not a.try_acquire()
    b.release()


@postgres_only
def test_the_advisory_lock_moves_when_the_leaders_connection_dies(db):
    a, b = PostgresLeaderLock(db.url), PostgresLeaderLock(db.url)
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        assert a.try_acquire() and a.still_held()
        assert not b.try_acquire()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": a.backend_pid()})
        assert not a.still_held()  # the leader notices its lock is gone
        assert b.try_acquire() and b.still_held()
        assert not a.try_acquire()
    finally:
        a.dispose()
        b.dispose()
        admin.dispose()


def test_one_replica_fires_and_another_takes_over(db, jobs_table):
    TICKS.clear()
    first, second = replica(db, "A").start(), replica(db, "B")
    try:
        assert wait_until(lambda: first.is_leader)
        second.start()
        assert wait_until(lambda: len(TICKS) >= 2)
        assert not second.is_leader and set(TICKS) == {"A"}
        stored = {j.id for j in first.scheduler.get_jobs()}
        assert stored == {"tick"}
        assert inspect(db.engine).has_table(JOBS_TABLE)
        first.shutdown(wait=False)  # the leader goes away
        assert wait_until(lambda: second.is_leader, timeout=5)
        assert wait_until(lambda: TICKS[-1] == "B", timeout=5)
        time.sleep(0.5)
        b_ticks = TICKS.count("B")
        assert b_ticks >= 1 and "A" not in TICKS[-b_ticks:]
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)


@postgres_only  # an advisory lock lives on a PostgreSQL connection
def test_a_leader_whose_database_connection_dies_steps_down(db, jobs_table):
    TICKS.clear()
    # the old leader waits its retry interval before trying again: the healthy replica takes over first
    first, second = replica(db, "A", retry_seconds=3).start(), replica(db, "B")
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        assert wait_until(lambda: first.is_leader)
        second.start()
        assert wait_until(lambda: "A" in TICKS)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first.lock.backend_pid()})
        assert wait_until(lambda: second.is_leader, timeout=5)
        assert wait_until(lambda: not first.is_leader, timeout=5)
        assert wait_until(lambda: TICKS[-1] == "B", timeout=5)
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)
        admin.dispose()


def test_run_starts_the_real_registry_and_jobs_shows_it(db, jobs_table, monkeypatch, capsys):
    settings = replace(load_settings({}), database_url=db.url)
    service = start_scheduler(BotDeps(db.engine, settings), WebClient(token="x", base_url="http://127.0.0.1:9/"))
    try:
        assert wait_until(lambda: service.is_leader, timeout=20)
        scheduled = {j.id for j in JOBS if j.enabled(settings)}  # no CRM is configured: no crm_sync
        assert wait_until(lambda: {j.id for j in service.scheduler.get_jobs()} == scheduled)
        for job in service.scheduler.get_jobs():
            assert job.func is registry.run_job and job.next_run_time is not None
        monkeypatch.setenv("DATABASE_URL", db.url)
        assert bot.main(["jobs"]) == 0
        out = capsys.readouterr().out
        assert "a replica leads" in out and "table bot_scheduler_jobs" in out
        digests_row = next(line for line in out.splitlines() if line.startswith("digests "))
        assert digests_row.count("UTC") == 2  # the computed next run and the one in the job store
    finally:
        service.shutdown(wait=False)
    assert not service.is_leader
