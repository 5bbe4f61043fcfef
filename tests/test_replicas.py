"""Replicas: real `python bot.py run` processes on one database (SQLite file or PostgreSQL), serving Slack over
HTTP against the fake Slack.

- An event Slack delivers to one replica and redelivers (X-Slack-Retry-Num) to another is answered once: the
  seen event ids live in the database (bot_seen_events), not in each process.
- After a restart, a redelivered event is not answered again; a new one is.
- Exactly one replica leads the scheduler; when the leader is killed, the other takes over.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from db.schema import bot_seen_events
from tests.fakeslack import FakeSlackError, dm_message, post_event
from tests.orgs import build_small_org
from tests.slackbot import SECRET, TOKEN, USERS

ROOT = Path(__file__).resolve().parent.parent
# bot.py with its clock set to the test process's (held at the small org's "now" by small_org_clock), ticking
ENTRY = ("import datetime, sys, time_machine; "
         "time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), tick=True).start(); "
         "import bot; sys.exit(bot.main(sys.argv[2:]))")
LEADER_LINE = "this replica is the leader"
# scheduler.leader.RETRY_SECONDS: a follower tries the lock this often; a killed leader is replaced within it
TAKEOVER_TIMEOUT = 15 + 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Replica:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"replica {self.name} exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"replica {self.name} did not come up within {timeout} s:\n{self.log_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)


@pytest.fixture
def replicas(db, fake_slack, small_org_clock, tmp_path):
    """Start replicas of the bot (`start("A")`), all on the test database; every one is stopped after the test."""
    build_small_org(db.engine)
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    started: list[Replica] = []

    def start(name: str) -> Replica:
        port = free_port()
        log = tmp_path / f"replica-{name}-{len(started)}.log"
        env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": fake_slack.api_url, "PORT": str(port), "LOG_LEVEL": "INFO",
               "PYTHONUNBUFFERED": "1"}
        env.pop("SLACK_APP_TOKEN", None)
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-c", ENTRY, datetime.now(UTC).isoformat(), "run"], cwd=ROOT,
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        replica = Replica(name, proc, port, log)
        started.append(replica)
        replica.wait_ready()
        return replica

    try:
        yield start
    finally:
        for replica in started:
            replica.stop(signal.SIGKILL)


def replies(fake) -> Counter:
    """How many times the bot answered each DM (by the thread it answered in: the asking message's ts)."""
    return Counter(m.thread_ts for m in fake.messages(kind="message"))


def assert_no_further_reply(fake, count: int) -> None:
    """No reply beyond `count` arrives (a late duplicate would, within this wait)."""
    with pytest.raises(FakeSlackError):
        fake.wait_for_messages(count + 1, kind="message", timeout=2)


def deliver_to_both(first: Replica, second: Replica, event: dict, event_id: str) -> None:
    """Slack's delivery to one replica and its redelivery to the other, at the same moment."""
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(replica: Replica, retry_num: int | None) -> None:
        start.wait()
        statuses.append(post_event(replica.url, SECRET, event, event_id=event_id, retry_num=retry_num).status)

    threads = [threading.Thread(target=send, args=(first, None)), threading.Thread(target=send, args=(second, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200, 200]


def test_an_event_redelivered_to_another_replica_is_answered_once(db, replicas, fake_slack):
    a, b = replicas("A"), replicas("B")
    events = [dm_message("UANN", "pipeline", ts=f"1764601200.{i:06d}") for i in range(6)]
    for i, event in enumerate(events):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        deliver_to_both(first, second, event, event_id=f"EvDup{i}")
    fake_slack.wait_for_messages(len(events), kind="message", timeout=60)
    assert_no_further_reply(fake_slack, len(events))
    assert replies(fake_slack) == {e["ts"]: 1 for e in events}
    with db.engine.connect() as conn:
        stored = set(conn.execute(select(bot_seen_events.c.event_id)).scalars())
    assert stored == {f"EvDup{i}" for i in range(len(events))}


def test_after_a_restart_a_redelivered_event_is_not_answered_again_and_a_new_one_is(replicas, fake_slack):
    first = replicas("A")
    asked = dm_message("UANN", "pipeline", ts="1764601200.000001")
    assert post_event(first.url, SECRET, asked, event_id="EvBefore").status == 200
    fake_slack.wait_for_messages(1, kind="message", timeout=30)
    assert first.stop() == 0
    restarted = replicas("A again")
    assert post_event(restarted.url, SECRET, asked, event_id="EvBefore", retry_num=2).status == 200
    new = dm_message("UANN", "quota", ts="1764601200.000002")
    assert post_event(restarted.url, SECRET, new, event_id="EvAfter").status == 200
    fake_slack.wait_for_messages(2, kind="message", timeout=30)
    assert_no_further_reply(fake_slack, 2)
    assert replies(fake_slack) == {asked["ts"]: 1, new["ts"]: 1}


def test_one_replica_leads_and_another_takes_over_when_the_leader_is_killed(replicas):
    a, b = replicas("A"), replicas("B")

    def leaders() -> list[Replica]:
        return [r for r in (a, b) if LEADER_LINE in r.log_text()]

    deadline = time.monotonic() + 30
    while not leaders() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(leaders()) == 1, (a.log_text(), b.log_text())
    leader = leaders()[0]
    follower = b if leader is a else a
    assert leader.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + TAKEOVER_TIMEOUT
    while LEADER_LINE not in follower.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert LEADER_LINE in follower.log_text(), follower.log_text()
