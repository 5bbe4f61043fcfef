"""`python bot.py run` in HTTP mode as a real process against the fake Slack: SIGTERM while a question is being
answered lets it finish (the answer arrives), the process exits 0 within SHUTDOWN_GRACE_SECONDS and gives up the
scheduler's leader lock (another process can take it). Its JSON log has one line per request and never a token
or the signing secret, error path included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import time_machine

from scheduler.leader import lock_for
from tests.fakeslack import post_slash_command
from tests.orgs import build_small_org
from tests.slackbot import SECRET, TOKEN, USERS
from tests.test_signatures import free_port

ROOT = Path(__file__).resolve().parent.parent
GRACE = 30  # SHUTDOWN_GRACE_SECONDS given to the bot
WAIT = 60  # seconds to wait for an event that must come (no timing is asserted)


def real_now() -> int:
    """Slack signs with the real clock; the bot process runs on it even when this session's clock is shifted."""
    if time_machine.escape_hatch.is_travelling():
        return int(time_machine.escape_hatch.time.time())
    return int(time.time())


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT}s for {what}"
        time.sleep(0.1)


def ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def held_elsewhere(lock) -> bool:
    """True while another process holds the leader lock (probing takes and gives it back at once)."""
    if lock.try_acquire():
        lock.release()
        return False
    return True


@pytest.fixture
def bot_process(db, fake_slack, tmp_path):
    build_small_org(db.engine)
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PORT": str(port), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG",
           "SHUTDOWN_GRACE_SECONDS": str(GRACE), "PYTHONUNBUFFERED": "1"}
    for name in ("SLACK_APP_TOKEN", "OPS_CHANNEL", "HUBSPOT_ACCESS_TOKEN", "SALESFORCE_ACCESS_TOKEN",
                 "SALESFORCE_CLIENT_ID", "TEST_CLOCK_SHIFT_DAYS"):
        env.pop(name, None)
    log_path = tmp_path / "bot.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path, env=env,
                                stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield proc, f"http://127.0.0.1:{port}", log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_sigterm_finishes_the_question_in_flight_exits_0_and_releases_the_leader_lock(db, fake_slack, bot_process):
    proc, base_url, log_path = bot_process
    wait_until(lambda: ready(base_url) or proc.poll() is not None, "the bot to be ready")
    assert proc.poll() is None, log_path.read_text()[-3000:]
    lock = lock_for(db.engine)
    try:
        wait_until(lambda: held_elsewhere(lock), "the bot to lead the scheduler")

        # an error path first: Slack fails the identity lookup for Bob (logged with its trace)
        fake_slack.fail("users.info", error="fatal_error")
        status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "quota", "UBOB",
                                       response_url=fake_slack.response_url("bob"), timestamp=real_now())
        assert status == 200
        fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "bob", timeout=WAIT)

        # the slow question: Slack takes its time to say who Ann is, and SIGTERM arrives meanwhile
        fake_slack.fail("users.info", status=None, delay=3)
        status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "pipeline", "UANN",
                                       response_url=fake_slack.response_url("ann"), timestamp=real_now())
        assert status == 200
        fake_slack.wait_for("users.info", timeout=WAIT)  # the failed lookup was an attempt, not a call
        proc.send_signal(signal.SIGTERM)

        fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "ann", timeout=WAIT)
        (answer,) = [m for m in fake_slack.messages(kind="response_url") if m.url_name == "ann"]
        assert "Sorry" not in (answer.text or "")
        assert proc.wait(timeout=GRACE) == 0, log_path.read_text()[-3000:]
        assert lock.try_acquire(), "the leader lock was not released"
        lock.release()
    finally:
        getattr(lock, "dispose", lock.release)()

    log = log_path.read_text()
    assert TOKEN not in log and SECRET not in log
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(entries) == len([line for line in log.splitlines() if line.strip()]), "a log line is not JSON"
    requests = [e for e in entries if e["logger"] == "salesbot.request"]
    assert [(e["user"], e["subcommand"], e["outcome"]) for e in requests] == [("UBOB", "quota", "error"),
                                                                             ("UANN", "pipeline", "ok")]
    assert all(e["request_id"] and e["duration_ms"] >= 0 for e in requests)
    assert requests[0]["error_id"] and any("trace" in e for e in entries)
    assert any(e["message"] == "stopped cleanly" for e in entries)
