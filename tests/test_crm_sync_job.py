"""The scheduled CRM sync: the real job registry and scheduler service, the real Salesforce connector over HTTP
to the fake Salesforce, ops messages through the delivery ledger to the fake Slack."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, text

import bot
from config import load_settings
from crm.cli import status_lines
from crm.http import CrmHttp
from crm.salesforce import SalesforceConnector
from crm.state import RUN
from db.schema import bot_sync_state, opportunities
from scheduler import jobs as registry
from scheduler.crm_sync import run_crm_sync
from scheduler.jobs import JOBS, job_by_id
from scheduler.leader import FileLeaderLock, PostgresLeaderLock, sqlite_lock_path
from scheduler.service import JOBS_TABLE, SchedulerService
from tests.fakecrm.org import seed_org
from tests.fakecrm.salesforce import FakeSalesforce
from tests.test_nudges import make_ctx

OPS = "C0PS"
RETRIES = 2  # each failed run makes 1 + RETRIES requests before it gives up
CRM_SYNC = job_by_id("crm_sync")


@pytest.fixture
def fake():
    with FakeSalesforce(page_size=50) as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def jobs_table(db):
    yield
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {JOBS_TABLE}"))


def quick_connector(crm) -> SalesforceConnector:
    return SalesforceConnector(crm, CrmHttp(retries=RETRIES, backoff=0.001, max_wait=0.01))


def job_context(db, fake_slack, fake):
    ctx = make_ctx(db.engine, fake_slack, ops_channel=OPS, crm=load_settings(fake.env()).crm,
                   database_url=db.url)
    ctx.crm_connector = quick_connector
    return ctx


def leader_lock(db, key: int | None = None):
    """A lock of the kind the service uses, private to this test (other test sessions share the server)."""
    if db.backend == "postgresql":
        return PostgresLeaderLock(db.url, key=key or random.getrandbits(40))
    return FileLeaderLock(sqlite_lock_path(db.url))


def service(db, ctx, jobs, lock=None) -> SchedulerService:
    return SchedulerService(db.engine, ctx.settings, ctx, lock=lock or leader_lock(db), jobs=jobs,
                            retry_seconds=0.2, check_seconds=0.2)


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def ops_posts(fake_slack) -> list:
    return [m for m in fake_slack.messages(kind="message") if m.channel == OPS]


def message_text(m) -> str:
    return m.text + json.dumps(m.blocks)


def test_three_failed_runs_tell_ops_once_and_the_recovery_once_more(db, fake_slack, fake, jobs_table):
    org = seed_org(fake, seed=11, reps=3, deals=12, tasks=4)
    fake.add("Opportunity", Name="Ghost owner", OwnerId="005000000000999", StageName="Prospecting",
             Amount=Decimal(100), Probability=10, ForecastCategoryName="Pipeline", CloseDate="2026-12-10")
    ctx = job_context(db, fake_slack, fake)
    leader = service(db, ctx, jobs=()).start()  # the job runs with the leader's context, as APScheduler calls it
    try:
        assert wait_until(lambda: leader.is_leader)

        def run():
            return registry.run_job("crm_sync", CRM_SYNC.target)

        assert run()["ok"]  # a good run first: the ghost-owned deal and its one history row are rejected
        fake.fail("any", 500, times=3 * (1 + RETRIES))
        for n in (1, 2):
            assert run()["failures_in_a_row"] == n
        assert ops_posts(fake_slack) == []
        third = run()
        assert third["failures_in_a_row"] == 3 and third["alert"] == "sent"
        [alert] = ops_posts(fake_slack)
        body = message_text(alert)
        assert "The last 3 salesforce syncs failed in a row" in body
        assert "stopped at OpportunityStage" in body and "500" in body  # the error
        assert "Rejected records: 2" in body  # the ghost-owned deal and its history row

        fake.fail("any", 500, times=1 + RETRIES)
        fourth = run()
        assert fourth["failures_in_a_row"] == 4 and fourth["alert"] == "already_sent"
        assert len(ops_posts(fake_slack)) == 1

        fake.update("Opportunity", org["opps"][0], Amount=Decimal("4321.00"))
        recovered = run()
        assert recovered["ok"] and recovered["recovery"] == ["sent"]
        posts = ops_posts(fake_slack)
        assert len(posts) == 2 and "after 4 failed runs in a row" in message_text(posts[1])
        with db.engine.connect() as conn:
            amount = conn.execute(select(opportunities.c.amount)
                                  .where(opportunities.c.external_id == org["opps"][0])).scalar_one()
        assert amount == Decimal("4321.00")
        assert "recovery" not in run() and len(ops_posts(fake_slack)) == 2

        fake.fail("any", 500, times=3 * (1 + RETRIES))  # a new streak is a new message
        streak = [run() for _ in range(3)]
        assert len(ops_posts(fake_slack)) == 3, streak
    finally:
        leader.shutdown(wait=False)


def test_two_failures_then_a_success_say_nothing(db, fake_slack, fake, jobs_table):
    seed_org(fake, seed=12, reps=2, deals=5, tasks=0)
    ctx = job_context(db, fake_slack, fake)
    leader = service(db, ctx, jobs=()).start()
    try:
        assert wait_until(lambda: leader.is_leader)
        fake.fail("any", 500, times=2 * (1 + RETRIES))
        results = [registry.run_job("crm_sync", CRM_SYNC.target) for _ in range(3)]
        assert [r["ok"] for r in results] == [False, False, True]
        assert ops_posts(fake_slack) == []
    finally:
        leader.shutdown(wait=False)


def test_a_replica_that_does_not_lead_does_not_sync(db, fake_slack, fake, jobs_table):
    seed_org(fake, seed=13, reps=2, deals=9, tasks=2)
    ctx = job_context(db, fake_slack, fake)
    every_second = (replace(CRM_SYNC, trigger=lambda _s: IntervalTrigger(seconds=1)),)
    other = leader_lock(db)  # another replica holds the leader lock
    assert other.try_acquire()
    follower = service(db, ctx, every_second, lock=leader_lock(db, getattr(other, "key", None))).start()
    try:
        time.sleep(2.5)  # two and more ticks' worth
        assert not follower.is_leader
        assert fake.requests == []
        with db.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(bot_sync_state)).scalar_one() == 0
        other.release()  # the leader goes away: this replica takes over and syncs
        assert wait_until(lambda: follower.is_leader)
        assert wait_until(lambda: _count(db, opportunities) == 9, timeout=30)
    finally:
        follower.shutdown(wait=False)
        other.dispose()


def _count(db, table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_job_is_scheduled_only_with_a_crm_and_jobs_lists_it(db, fake_slack, fake, jobs_table, monkeypatch,
                                                                  capsys):
    assert "crm_sync" in [j.id for j in JOBS]
    ctx = job_context(db, fake_slack, fake)
    ctx.settings = replace(ctx.settings, crm=load_settings(fake.env(CRM_SYNC_MINUTES="20")).crm)
    with_crm = service(db, ctx, JOBS).start()
    try:
        assert wait_until(lambda: with_crm.is_leader)
        assert wait_until(lambda: with_crm.scheduler.get_job("crm_sync") is not None)
        assert str(with_crm.scheduler.get_job("crm_sync").trigger).startswith("interval[0:20:00]")
    finally:
        with_crm.shutdown(wait=False)
    no_crm = replace(ctx, settings=replace(ctx.settings, crm=load_settings({}).crm))
    without = service(db, no_crm, JOBS).start()
    try:
        assert wait_until(lambda: without.is_leader)
        # the job store still holds crm_sync from the replica above: the leader without a CRM removes it
        assert wait_until(lambda: without.scheduler.get_job("crm_sync") is None)
        assert without.scheduler.get_job("digests") is not None
    finally:
        without.shutdown(wait=False)

    monkeypatch.setenv("DATABASE_URL", db.url)
    for name in ("SALESFORCE_CLIENT_ID", "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert bot.main(["jobs"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("crm_sync "))
    assert "off: no CRM is configured" in row
    for name, value in fake.env(CRM_SYNC_MINUTES="20").items():
        monkeypatch.setenv(name, value)
    assert bot.main(["jobs"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("crm_sync "))
    assert "every 20 min" in row and "ready" in row and row.count("UTC") == 1


def test_the_job_keeps_its_own_row_in_sync_status(db, fake_slack, fake, jobs_table):
    seed_org(fake, seed=14, reps=2, deals=4, tasks=0)
    ctx = job_context(db, fake_slack, fake)
    fake.fail("any", 500, times=1 + RETRIES)
    run_crm_sync(ctx, datetime.now(UTC))
    status = "\n".join(status_lines(db.engine, "salesforce"))
    row = next(line for line in status.splitlines() if line.startswith(RUN))
    assert "never" in row and "(1 failed run in a row)" in row
