"""Exactly once, with real processes: several `python bot.py digest --all` runs against one database (PostgreSQL,
and a SQLite file shared by the processes) and the fake Slack; a run killed mid-send and restarted; Slack
answering 429 and 5xx for a while.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from db.schema import bot_delivery_ledger
from tests.factories import Factory
from tests.test_digest_schedule import build_org

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-03-09"
# the entry point: bot.py's digest command, with the ledger's "abandoned claim" age cut from 2 minutes to 1 s
ENTRY = ("import datetime, sys; import scheduler.ledger as ledger; ledger.STALE_AFTER = datetime.timedelta(seconds=1);"
         " import bot; sys.exit(bot.main(sys.argv[1:]))")
MANAGER_USERS = ("USIA", "UBERTA", "ULARS", "UERIN", "UNORA", "UM1", "UM2", "UM3")


@pytest.fixture
def org(db, fake_slack):
    ids = build_org(db.engine, fake_slack)
    f = Factory(db.engine)
    for i in (1, 2, 3):
        m = f.rep(f"Mgr {i}", role="manager", manager=ids["erin"], timezone="Europe/Paris", slack_user_id=f"UM{i}",
                  email=f"m{i}@example.com", external_id=f"m{i}")
        f.rep(f"Rep {i}", manager=m, timezone="Europe/Paris", email=f"r{i}@example.com", external_id=f"r{i}")
    return ids


def start(db, fake, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake.api_url,
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("SLACK_APP_TOKEN", None)
    return subprocess.Popen([sys.executable, "-c", ENTRY, "digest", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def posts_per_dm(fake) -> Counter:
    return Counter(m.channel for m in fake.messages(kind="message"))


def assert_each_manager_once(db, fake) -> None:
    posts = posts_per_dm(fake)
    assert {f"D{u}": 1 for u in MANAGER_USERS} == dict(posts), posts
    charts = Counter(u.channel_id for u in fake.uploads() if u.completed)
    assert {f"D{u}": 1 for u in MANAGER_USERS} == dict(charts), charts
    with db.engine.connect() as conn:
        rows = conn.execute(select(bot_delivery_ledger.c.kind, bot_delivery_ledger.c.status)).all()
    assert Counter(rows) == Counter({("digest", "sent"): 7, ("exec_digest", "sent"): 1, ("digest_chart", "sent"): 7,
                                     ("exec_digest_chart", "sent"): 1})


@pytest.mark.parametrize("processes", [2, 3])
def test_concurrent_runs_send_each_digest_once(db, org, fake_slack, processes):
    procs = [start(db, fake_slack, "--all", "--date", DAY) for _ in range(processes)]
    results = [finish(p) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
    assert_each_manager_once(db, fake_slack)
    outs = "".join(out for _, out, _ in results)
    assert outs.count("sent ") + outs.count("already_sent") >= len(MANAGER_USERS)


def test_a_run_killed_mid_send_is_finished_by_the_next_without_duplicates(db, org, fake_slack):
    # every post is processed at once but answered 1.5 s late: the kill lands after Slack took a message and
    # before the process could record it
    slow = fake_slack.fail("chat.postMessage", status=None, delay=1.5, times=100)
    first = start(db, fake_slack, "--all", "--date", DAY)
    try:
        fake_slack.wait_for("chat.postMessage", count=3, timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    taken = len(fake_slack.calls("chat.postMessage"))
    assert 3 <= taken < len(MANAGER_USERS)
    with db.engine.connect() as conn:
        sending = conn.execute(select(bot_delivery_ledger).where(bot_delivery_ledger.c.status == "sending")).all()
    assert sending, "the kill should leave a claim that was never recorded"
    slow.times = 0  # Slack answers promptly again
    time.sleep(1.2)  # the claim is abandoned (STALE_AFTER is 1 s in the entry point)
    code, out, err = finish(start(db, fake_slack, "--all", "--date", DAY))
    assert code == 0, err
    assert_each_manager_once(db, fake_slack)
    assert fake_slack.calls("conversations.history"), "the recovery path looked in Slack"
    assert "already_sent" in out


def test_rate_limits_and_server_errors_still_end_with_each_digest_once(db, org, fake_slack):
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=3)
    fake_slack.fail("chat.postMessage", status=500, times=3)
    fake_slack.fail("conversations.open", status=503, times=2)
    fake_slack.fail("files.getUploadURLExternal", status=502, times=1)
    procs = [start(db, fake_slack, "--all", "--date", DAY) for _ in range(2)]
    for p in procs:
        code, _out, err = finish(p)
        assert code in (0, 1), err  # 1: a send gave up after the client's retries; the next run retries it
    code, _out, err = finish(start(db, fake_slack, "--all", "--date", DAY))  # the next tick
    assert code == 0, err
    assert_each_manager_once(db, fake_slack)
    statuses = Counter(c.status for c in fake_slack.attempts("chat.postMessage"))
    assert statuses[429] == 3 and statuses[500] == 3
