"""`python bot.py run` in HTTP mode as a real process against the fake Slack, its clock on the small org's Tuesday
(tests/clock_run.py): SIGTERM while a question is being answered and the morning digests are being sent lets the
question finish (the answer arrives) and the digest run stop after the digest it is sending; the process exits 0
within SHUTDOWN_GRACE_SECONDS ("stopped cleanly") and gives up the scheduler's leader lock. Restarted, the bot
resumes the digest run at once and every manager has exactly one digest (the delivery ledger: nothing claimed
and left, nothing twice). Its JSON log has one line per request and never a token or the signing secret, error
path included. Nudge and forecast-call reminder runs stop at the same safe point (after the message being sent)
and the next run sends the rest once. At start the HTTP server is up before Slack has accepted the token:
/readyz and /slack/events answer 503 until then, 200 after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from sqlalchemy import select, update

from config import load_settings
from db.schema import bot_delivery_ledger as ledger
from db.schema import reps
from scheduler.call_reminders import run_call_reminders
from scheduler.context import JobContext
from scheduler.jobs import job_by_id, run_job
from scheduler.leader import lock_for
from scheduler.ledger import DeliveryLedger
from scheduler.nudges import run_nudges
from scheduler.sender import SlackSender
from scheduler.service import job_store
from tests.factories import Factory
from tests.fakeslack import post_slash_command
from tests.orgs import build_small_org
from tests.slackbot import SECRET, TOKEN, USERS
from tests.test_forecast_calls import MONDAY as CALL_MONDAY
from tests.test_forecast_calls import ZONES as CALL_ZONES
from tests.test_forecast_calls import utc as call_utc
from tests.test_nudges import make_ctx as make_nudge_ctx
from tests.test_nudges import stalled_deal
from tests.test_nudges import utc as nudge_utc
from tests.test_signatures import free_port

ROOT = Path(__file__).resolve().parent.parent
GRACE = 30  # SHUTDOWN_GRACE_SECONDS given to the bot
WAIT = 60  # seconds to wait for an event that must come (no timing is asserted)


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


def log_entries(log_path: Path) -> list[dict]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]


def logged(log_path: Path, message: str) -> bool:
    return any(e["message"].startswith(message) for e in log_entries(log_path))


def digests_due_now(engine) -> None:
    """The digests tick due now in the job store, as when its tick came while no replica led (the leader keeps a
    stored job's next run time), so the bot starts the run as soon as it leads rather than at the next tick."""
    spec = job_by_id("digests")
    job = Job(BackgroundScheduler(), id=spec.id, func=run_job, trigger=spec.make_trigger(load_settings({})),
              executor="default", args=[spec.id, spec.target], kwargs={}, name=spec.description,
              misfire_grace_time=spec.misfire_grace_seconds, coalesce=True, max_instances=1,
              next_run_time=datetime.now(UTC))
    job_store(engine).add_job(job)


@pytest.fixture
def start_bot(db, fake_slack, tmp_path, small_org_clock):
    """Starts `python bot.py run` (HTTP mode, the clock at the test's own) as often as asked; yields the starter,
    which returns (process, base URL, log path). Every process is killed at the end if still running."""
    build_small_org(db.engine)
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PORT": str(port), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG",
           "SHUTDOWN_GRACE_SECONDS": str(GRACE), "PYTHONUNBUFFERED": "1"}
    for name in ("SLACK_APP_TOKEN", "OPS_CHANNEL", "HUBSPOT_ACCESS_TOKEN", "SALESFORCE_ACCESS_TOKEN",
                 "SALESFORCE_CLIENT_ID", "TEST_CLOCK_SHIFT_DAYS", "DIGEST_TIME", "QUIET_HOURS", "METRICS_PORT"):
        env.pop(name, None)
    started: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, str, Path]:
        log_path = tmp_path / f"bot{len(started) + 1}.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "clock_run.py"),
                                     datetime.now(UTC).isoformat(), "run"], cwd=tmp_path, env=env,
                                    stdout=log_file, stderr=subprocess.STDOUT)
        started.append(proc)
        return proc, f"http://127.0.0.1:{port}", log_path

    try:
        yield start
    finally:
        fake_slack.release_delays()
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def test_sigterm_during_a_question_and_a_digest_run_loses_nothing_and_sends_nothing_twice(db, fake_slack, start_bot):
    digests_due_now(db.engine)
    fake_slack.fail("chat.postMessage", status=None, delay=WAIT, times=1)  # Slack holds the first digest
    proc, base_url, log_path = start_bot()
    wait_until(lambda: ready(base_url) or proc.poll() is not None, "the bot to be ready")
    assert proc.poll() is None, log_path.read_text()[-3000:]
    lock = lock_for(db.engine)
    try:
        wait_until(lambda: held_elsewhere(lock), "the bot to lead the scheduler")

        # the digest run is sending its first digest (Slack holds it; its lookups of the managers came earlier, so
        # the failure below meets Bob's lookup, not one of the run's)
        fake_slack.wait_for("chat.postMessage", timeout=WAIT)
        # an error path: Slack fails the identity lookup for Bob (logged with its trace)
        fake_slack.fail("users.info", error="fatal_error")
        status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "quota", "UBOB",
                                       response_url=fake_slack.response_url("bob"))
        assert status == 200
        fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "bob", timeout=WAIT)
        # and a question waits on Slack to say who Ann is
        fake_slack.fail("users.info", status=None, delay=WAIT)
        status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "pipeline", "UANN",
                                       response_url=fake_slack.response_url("ann"))
        assert status == 200
        # Ann's own lookup is on its way (the digest run's lookups of the managers came earlier)
        fake_slack.wait_for(lambda c: c.method == "users.info" and c.params.get("user") == "UANN", timeout=WAIT)
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: logged(log_path, "stopping: no new requests"), "the bot to start stopping")
        fake_slack.release_delays()  # Slack answers both now

        fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "ann", timeout=WAIT)
        (answer,) = [m for m in fake_slack.messages(kind="response_url") if m.url_name == "ann"]
        assert "Sorry" not in (answer.text or "")
        assert proc.wait(timeout=GRACE + WAIT) == 0, log_path.read_text()[-3000:]
        assert lock.try_acquire(), "the leader lock was not released"
        lock.release()
    finally:
        getattr(lock, "dispose", lock.release)()

    entries = log_entries(log_path)
    assert any(e["message"] == "stopped cleanly" for e in entries)  # all within SHUTDOWN_GRACE_SECONDS
    # the digest being sent was sent; the run stopped there, claiming nothing more
    sent_first = digest_messages(fake_slack)
    assert len(sent_first) == 1 and ledger_rows(db.engine) == {next(iter(sent_first)): ("sent", 1)}

    proc, base_url, log2 = start_bot()  # restarted: it resumes the digest run at once
    fake_slack.wait_for_messages(2, kind="message", timeout=WAIT)
    wait_until(lambda: logged(log2, "job digests done") or proc.poll() is not None, "the resumed digest run")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=GRACE + WAIT) == 0, log2.read_text()[-3000:]
    managers = {"DUMAX", "DUMIA"}  # Max and Mia manage; Erin's exec digest is a Monday's
    assert digest_messages(fake_slack) == dict.fromkeys(managers, 1)
    assert ledger_rows(db.engine) == dict.fromkeys(managers, ("sent", 1))
    assert sorted(u.filename for u in fake_slack.uploads() if u.completed).__len__() == 2  # one chart each

    log = log_path.read_text()
    assert TOKEN not in log and SECRET not in log
    assert len(entries) == len([line for line in log.splitlines() if line.strip()]), "a log line is not JSON"
    requests = [e for e in entries if e["logger"] == "salesbot.request"]
    assert [(e["user"], e["subcommand"], e["outcome"]) for e in requests] == [("UBOB", "quota", "error"),
                                                                             ("UANN", "pipeline", "ok")]
    assert all(e["request_id"] and e["duration_ms"] >= 0 for e in requests)
    assert requests[0]["error_id"] and any("trace" in e for e in entries)


def digest_messages(fake_slack) -> dict[str, int]:
    """DM channel → how many digests it received."""
    found: dict[str, int] = {}
    for m in fake_slack.messages(kind="message"):
        if (m.metadata or {}).get("event_payload", {}).get("kind") == "digest":
            found[m.channel] = found.get(m.channel, 0) + 1
    return found


def ledger_rows(engine) -> dict[str, tuple[str, int]]:
    """The digest deliveries in the ledger: DM channel → (status, attempts)."""
    with engine.connect() as conn:
        rows = conn.execute(select(ledger.c.recipient, ledger.c.status, ledger.c.attempts)
                            .where(ledger.c.kind == "digest")).all()
        names = dict(conn.execute(select(reps.c.id, reps.c.email)).all())
    slack_of = {email: user_id for user_id, (email, _, _) in USERS.items()}
    return {f"D{slack_of[names[int(r.recipient)]]}": (r.status, r.attempts) for r in rows}


# --- nudges and forecast-call reminders: the same safe point, in-process ------------------------------------


def interrupted_then_resumed(fake, make_ctx, run) -> tuple[dict, dict]:
    """`run(ctx)` while Slack holds its first message, the shutdown beginning (JobContext.stopping) while that
    message is on its way; then `run` again with a fresh context, as the restarted bot's first tick does.
    Returns both summaries."""
    stopping_ctx = make_ctx()
    fake.fail("chat.postMessage", status=None, delay=WAIT, times=1)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run, stopping_ctx)
        fake.wait_for("chat.postMessage", timeout=WAIT)
        stopping_ctx.stopping.set()
        fake.release_delays()
        first = running.result(WAIT)
    return first, run(make_ctx())


def test_a_nudge_run_stops_after_the_nudge_it_is_sending_and_the_restart_sends_the_rest_once(db, fake_slack):
    f = Factory(db.engine)
    boss = f.rep("Max Manager", role="manager", timezone="America/Chicago", slack_user_id="UMAX")
    people = {"UANN": f.rep("Ann Rep", manager=boss, timezone="Europe/London", slack_user_id="UANN"),
              "UBOB": f.rep("Bob Rep", manager=boss, timezone="Europe/London", slack_user_id="UBOB"),
              "UCAT": f.rep("Cat Rep", manager=boss, timezone="Europe/London", slack_user_id="UCAT")}
    for user, rep_id in people.items():
        fake_slack.add_user(user, f"{user.lower()}@example.com", user, tz="Europe/London")
        stalled_deal(f, rep_id, 1000, f"{user} deal")
    now = nudge_utc(date(2026, 12, 9), 14, 5)  # a Wednesday: 14:05 in London, after everyone's 09:00

    first, second = interrupted_then_resumed(fake_slack, lambda: make_nudge_ctx(db.engine, fake_slack),
                                             lambda ctx: run_nudges(ctx, now))
    assert (first["sent"], first["interrupted"]) == (1, 2)  # the one on its way was sent; two left
    assert (second["sent"], second["already_sent"], second["interrupted"]) == (2, 1, 0)
    sent = Counter(m.channel for m in fake_slack.messages(kind="message"))
    assert sent == {f"D{user}": 1 for user in people}  # each once, across the stop


def test_a_call_reminder_run_stops_at_a_safe_point_and_the_restart_sends_the_rest_once(running_bot,
                                                                                       small_org_clock):
    bot = running_bot
    with bot.deps.engine.begin() as conn:
        for key, tz in CALL_ZONES.items():
            conn.execute(update(reps).where(reps.c.id == bot.org[key]).values(timezone=tz))
    now = call_utc(CALL_MONDAY, 16, 5)  # every caller's Monday 10:00 has come (Cat's Tokyo is in quiet hours)
    small_org_clock.move_to(now)

    def make_ctx() -> JobContext:
        return JobContext(bot.deps.engine, bot.deps.settings,
                          SlackSender(WebClient(token=TOKEN, base_url=bot.fake.api_url), per_channel_interval=0),
                          DeliveryLedger(bot.deps.engine))

    first, second = interrupted_then_resumed(bot.fake, make_ctx, lambda ctx: run_call_reminders(ctx, now))
    assert (first["sent"], first["interrupted"]) == (1, 3)
    assert (second["sent"], second["already_sent"], second["interrupted"]) == (3, 1, 0)
    sent = Counter(m.channel for m in bot.fake.messages(kind="message"))
    assert sent == {"DUANN": 1, "DUBOB": 1, "DUMAX": 1, "DUMIA": 1}


# --- start: the HTTP server comes up before Slack has taken the token -----------------------------------------


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def test_until_slack_auth_is_done_readyz_and_slack_events_answer_503_then_200(fake_slack, start_bot):
    fake_slack.fail("auth.test", status=None, delay=WAIT, times=1)  # Slack sits on the first token check
    proc, base_url, log_path = start_bot()
    wait_until(lambda: get_json(f"{base_url}/healthz")[0] == 200 or proc.poll() is not None, "the HTTP server")
    assert proc.poll() is None, log_path.read_text()[-3000:]
    status, body = get_json(f"{base_url}/readyz")
    assert (status, body["slack_auth"], body["ok"]) == (503, False, False)
    status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "pipeline", "UANN",
                                   response_url=fake_slack.response_url("early"))
    assert status == 503  # Slack shows its own "didn't respond"; nothing is half-done behind it

    fake_slack.release_delays()
    wait_until(lambda: ready(base_url) or proc.poll() is not None, "the bot to be ready")
    assert get_json(f"{base_url}/readyz") == (200, {"ok": True, "database": True, "migrations": True,
                                                     "slack_auth": True})
    status, _ = post_slash_command(f"{base_url}/slack/events", SECRET, "pipeline", "UANN",
                                   response_url=fake_slack.response_url("ann"))
    assert status == 200
    fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "ann", timeout=WAIT)
    assert not [m for m in fake_slack.messages(kind="response_url") if m.url_name == "early"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=GRACE + WAIT) == 0, log_path.read_text()[-3000:]
