"""`python bot.py run` in Socket Mode (SLACK_APP_TOKEN set) as a real process, against the fake Slack's Web API
and its fake Socket Mode (tests/fakeslack/socketmode.py): slash commands, button clicks, modal submissions, DMs and
mentions arrive as envelopes, each is acked by its envelope id within Slack's 3 seconds (a form's field errors ride
on the ack), and each is answered once, through a server-side disconnect, a `refresh_requested` and redeliveries
of envelopes already taken. METRICS_PORT serves /healthz, /readyz (not ready until Slack took the token) and
/metrics beside the socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from db.schema import bot_subscriptions, reps
from render.nudges import SNOOZE_CALLBACK_ID, SNOOZE_DATE_BLOCK
from scheduler.digest_schedule import DIGEST_KINDS
from scheduler.nudges import KIND as NUDGE_KIND
from tests.fakeslack import (
    app_mention,
    block_action_payload,
    dm_message,
    event_callback,
    slash_command_form,
    view_submission_payload,
)
from tests.fakeslack.socketmode import FakeSocketMode
from tests.orgs import build_small_org
from tests.slackbot import TOKEN, USERS
from tests.test_graceful_shutdown import ROOT, WAIT, wait_until
from tests.test_serving import get, samples, value
from tests.test_signatures import free_port

APP_TOKEN = "xapp-1-A0001-socket-mode-test-token"


@dataclass
class SocketBot:
    socket_mode: FakeSocketMode
    proc: subprocess.Popen
    log_path: object
    base_url: str  # METRICS_PORT's /healthz, /readyz, /metrics
    starting: tuple[int, dict]  # /readyz while Slack had not yet answered auth.test


def _no_scheduled_messages(engine) -> None:
    """Every person's nudge and digests off: these tests count the DMs the bot answers, and a stalled-deal nudge
    or a digest due at the wall clock's hour in someone's time zone would be one more (CI once saw Bob's nudge)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        rep_ids = conn.execute(select(reps.c.id)).scalars().all()
        conn.execute(insert(bot_subscriptions), [
            {"rep_id": rep_id, "kind": kind, "enabled": False, "updated_at": now}
            for rep_id in rep_ids for kind in (NUDGE_KIND, *DIGEST_KINDS.values())])


@pytest.fixture
def socket_bot(db, fake_slack, tmp_path):
    """The bot process connected to the fake Socket Mode, its operator endpoints on METRICS_PORT. Slack holds
    the first auth.test answer until /readyz has been read once, so that read is of a bot not yet ready."""
    build_small_org(db.engine)
    _no_scheduled_messages(db.engine)
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
           "SLACK_API_URL": fake_slack.api_url, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG",
           "SHUTDOWN_GRACE_SECONDS": "30", "PYTHONUNBUFFERED": "1", "METRICS_PORT": str(port)}
    for name in ("SLACK_SIGNING_SECRET", "PORT", "OPS_CHANNEL", "HUBSPOT_ACCESS_TOKEN",
                 "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_CLIENT_ID", "TEST_CLOCK_SHIFT_DAYS"):
        env.pop(name, None)
    log_path = tmp_path / "bot.log"
    base_url = f"http://127.0.0.1:{port}"
    fake_slack.fail("auth.test", status=None, delay=WAIT, times=1)
    with FakeSocketMode(fake_slack, app_token=APP_TOKEN) as socket_mode:
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "run"], cwd=tmp_path, env=env,
                                    stdout=log_file, stderr=subprocess.STDOUT)
        try:
            fake_slack.wait_for("auth.test", timeout=WAIT)
            wait_until(lambda: answers(f"{base_url}/healthz") or proc.poll() is not None, "the operator endpoints")
            status, _, body = get(f"{base_url}/readyz")
            fake_slack.release_delays()
            socket_mode.wait_connected(1, timeout=WAIT)
            yield SocketBot(socket_mode, proc, log_path, base_url, (status, json.loads(body)))
        finally:
            fake_slack.release_delays()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False


def stop(proc, log_path) -> str:
    """SIGTERM: the bot finishes every answer under way and exits 0; returns its log."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT) == 0, log_path.read_text()[-3000:]
    return log_path.read_text()


def command(socket_mode, fake, text: str, user: str, name: str) -> str:
    """A `/sales` envelope whose answer goes to the response_url called `name`; returns its envelope id."""
    form = slash_command_form(text, user, response_url=fake.response_url(name, max_uses=5))
    return socket_mode.send("slash_commands", form)


def answers_at(fake, name: str) -> list:
    return [m for m in fake.messages(kind="response_url") if m.url_name == name]


def test_every_kind_of_envelope_is_acked_by_its_id_and_answered_once(fake_slack, socket_bot):
    socket_mode, proc, log_path = socket_bot.socket_mode, socket_bot.proc, socket_bot.log_path
    before = samples(socket_bot.base_url)
    sent = {
        "command": command(socket_mode, fake_slack, "pipeline", "UANN", "cmd"),
        "click": socket_mode.send("interactive", block_action_payload(
            "UMAX", "sales_pick", value="/sales quota", response_url=fake_slack.response_url("click"))),
        "form": socket_mode.send("interactive", view_submission_payload("UANN", SNOOZE_CALLBACK_ID)),
        "dm": socket_mode.send("events_api", event_callback(dm_message("UBOB", "pipeline", ts="1764600000.000100"),
                                                            event_id="EvDM1")),
        "mention": socket_mode.send("events_api", event_callback(
            app_mention("UMIA", "quota", channel="C1", ts="1764600000.000200"), event_id="EvMENTION1")),
    }
    for envelope_id in sent.values():
        socket_mode.wait_for_ack(envelope_id, timeout=WAIT)
    fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "cmd", timeout=WAIT)
    fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "click", timeout=WAIT)
    fake_slack.wait_for_messages(1, channel="DUBOB", kind="message", timeout=WAIT)
    fake_slack.wait_for_messages(1, channel="C1", kind="ephemeral", timeout=WAIT)
    wait_until(lambda: value(samples(socket_bot.base_url), "salesbot_requests_total", subcommand="question",
                             outcome="ok") - value(before, "salesbot_requests_total", subcommand="question",
                                                   outcome="ok") == 2, "the DM and the mention to be counted")
    after = samples(socket_bot.base_url)
    ready = get(f"{socket_bot.base_url}/readyz")
    log = stop(proc, log_path)  # every answer under way is finished: a second one would be there now

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # METRICS_PORT: counted like HTTP mode's, each envelope's ack timed; ready once connected, not before
    assert grew("salesbot_requests_total", subcommand="pipeline", outcome="ok") == 1
    assert grew("salesbot_requests_total", subcommand="quota", outcome="ok") == 1  # the click
    assert grew("salesbot_requests_total", subcommand="question", outcome="ok") == 2  # the DM and the mention
    assert grew("salesbot_ack_seconds_count") == len(sent)
    assert grew("salesbot_slack_api_calls_total", method="chat.postMessage", status="ok") == 1  # the DM's answer
    assert value(after, "salesbot_scheduler_leader") == 1  # this replica fires the scheduled jobs
    assert ready[0] == 200 and json.loads(ready[2]) == {"ok": True, "database": True, "migrations": True,
                                                        "slack_auth": True}
    status, body = socket_bot.starting
    assert status == 503 and body["slack_auth"] is False and body["database"] and body["migrations"]
    assert body["reasons"] == ["slack_auth: Slack has not accepted the token yet (or Socket Mode is not "
                               "connected)."]

    acks = {name: socket_mode.acks(envelope_id) for name, envelope_id in sent.items()}
    assert {name: len(found) for name, found in acks.items()} == dict.fromkeys(sent, 1)
    assert socket_mode.late() == [] and socket_mode.stray == []
    # the modal's problem goes back on the ack, as the form's field error (the submission named no deal)
    assert acks["form"][0].payload == {"response_action": "errors", "errors": {
        SNOOZE_DATE_BLOCK: "This form has expired: click the button again."}}
    assert all(acks[name][0].payload is None for name in ("command", "click", "dm", "mention"))

    (cmd,) = answers_at(fake_slack, "cmd")
    assert cmd.response_type == "ephemeral" and "pipeline" in (cmd.text or "").lower()
    (click,) = answers_at(fake_slack, "click")
    assert click.replace_original and "quota" in (click.text or "").lower()
    (dm,) = fake_slack.messages(channel="DUBOB", kind="message")
    assert dm.thread_ts == "1764600000.000100"
    (mention,) = fake_slack.messages(channel="C1", kind="ephemeral")
    assert (mention.user, mention.thread_ts) == ("UMIA", "1764600000.000200")
    assert fake_slack.messages(channel="C1", kind="message") == []  # nothing said in the channel itself
    assert APP_TOKEN not in log and TOKEN not in log
    opened = fake_slack.calls("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == APP_TOKEN


def test_reconnects_after_a_drop_and_a_refresh_and_answers_redeliveries_once(fake_slack, socket_bot):
    socket_mode, proc, log_path = socket_bot.socket_mode, socket_bot.proc, socket_bot.log_path
    first = command(socket_mode, fake_slack, "pipeline", "UANN", "first")
    socket_mode.wait_for_ack(first, timeout=WAIT)
    fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "first", timeout=WAIT)

    # mid-stream, Slack's host goes away: the bot reconnects, and Slack redelivers what it sent just before
    burst = [command(socket_mode, fake_slack, "quota", user, f"burst-{user}") for user in ("UMAX", "UMIA")]
    socket_mode.drop()
    assert socket_mode.wait_connected(2, timeout=WAIT) == 2
    for envelope_id in [first, *burst]:
        socket_mode.redeliver(envelope_id)
    event = socket_mode.send("events_api", event_callback(dm_message("UBOB", "quota", ts="1764600000.000300"),
                                                          event_id="EvREDELIVERED"))
    socket_mode.wait_for_ack(event, timeout=WAIT)

    # Slack asks for a refresh: the bot opens a new connection and closes the old one itself
    socket_mode.refresh()
    assert socket_mode.wait_connected(3, timeout=WAIT) == 3
    socket_mode.redeliver(event)
    after = command(socket_mode, fake_slack, "deals", "UERIN", "after-refresh")
    for envelope_id in [first, *burst, event, after]:
        socket_mode.wait_for_ack(envelope_id, timeout=WAIT)
    fake_slack.wait_for(lambda c: c.method == "response_url" and c.name == "after-refresh", timeout=WAIT)
    fake_slack.wait_for_messages(1, channel="DUBOB", kind="message", timeout=WAIT)
    stop(proc, log_path)

    assert socket_mode.connections == 3 and len(fake_slack.calls("apps.connections.open")) == 3
    assert socket_mode.late() == [] and socket_mode.stray == []
    # each ack went back on a connection that carried the envelope, at most once per delivery, and the last
    # delivery was acked (a redelivery of an envelope already answered is acked again: Slack wants its ack)
    for envelope_id, envelope in socket_mode.envelopes.items():
        acked_on = [a.connection for a in socket_mode.acks(envelope_id)]
        assert acked_on[-1] == envelope.connections[-1], envelope
        assert all(acked_on.count(n) <= envelope.connections.count(n) for n in acked_on), envelope
    answered = {name: len(answers_at(fake_slack, name))
                for name in ("first", "burst-UMAX", "burst-UMIA", "after-refresh")}
    assert answered == dict.fromkeys(answered, 1)
    assert len(fake_slack.messages(channel="DUBOB", kind="message")) == 1
