"""Every endpoint of the real bot checks Slack's request signature: slash commands, events, block actions and view
submissions that are unsigned, tampered with, signed with another secret, stale or dated in the future get HTTP 401
and reach no listener, so the fake Slack sees no call at all (not even the identity lookup). Without a signing
secret, HTTP mode does not start."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import bot as bot_cli
from db.schema import bot_alerts, opportunities
from render.nudges import SNOOZE_CALLBACK_ID
from tests.fakeslack import Reply, dm_message, post_block_action, post_event, post_slash_command, post_view_submission
from tests.slackbot import SECRET, snooze_form

REPLAY_WINDOW = 5 * 60  # seconds; Slack's rule: refuse a request whose timestamp is further than this from now
QUIET_WAIT = 2.0  # seconds to wait for a call that must not come


def swap_asker(body: bytes) -> bytes:
    """The tampering an attacker wants: the same request, as somebody else (Erin, the exec, sees everything)."""
    changed = body.replace(b"UANN", b"UERIN")
    assert changed != body
    return changed


def forgeries() -> dict[str, dict]:
    now = int(time.time())
    return {
        "unsigned": {"signed": False},
        "tampered body": {"tamper": swap_asker},
        "wrong secret": {"secret": "not-the-signing-secret"},
        "stale": {"timestamp": now - REPLAY_WINDOW - 60},
        "future-dated": {"timestamp": now + REPLAY_WINDOW + 60},
        "timestamp not a number": {"headers": {"X-Slack-Request-Timestamp": "soon"}},
        "signature without its timestamp": {"headers": {"X-Slack-Request-Timestamp": ""}},
    }


def ann_stalled_deal(bot) -> int:
    """Ann's Proposal deal of $1,000: past its close date on the small org's today, so it can be snoozed."""
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(opportunities.c.id).where(opportunities.c.owner_id == bot.org["A"],
                                                             opportunities.c.stage == "Proposal")).scalar_one()


def slash_command(bot, secret: str, **forge) -> Reply:
    return post_slash_command(bot.url, secret, "pipeline", "UANN", response_url=bot.fake.response_url("cmd"),
                              **forge)


def event(bot, secret: str, **forge) -> Reply:
    return post_event(bot.url, secret, dm_message("UANN", "pipeline"), **forge)


def block_action(bot, secret: str, **forge) -> Reply:
    return post_block_action(bot.url, secret, "UANN", "sales_share", value="/sales pipeline",
                             response_url=bot.fake.response_url("share"), channel_id="C5", ephemeral=True, **forge)


def view_submission(bot, secret: str, **forge) -> Reply:
    meta = json.dumps({"o": ann_stalled_deal(bot), "p": None})
    return post_view_submission(bot.url, secret, "UANN", SNOOZE_CALLBACK_ID,
                                snooze_form(date(2026, 12, 1) + timedelta(days=10)), meta, **forge)


ENDPOINTS: dict[str, Callable[..., Reply]] = {
    "slash command": slash_command,
    "event": event,
    "block action": block_action,
    "view submission": view_submission,
}


def alert_count(bot) -> int:
    with bot.deps.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(bot_alerts)).scalar_one()


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_forged_requests_get_401_and_no_call_to_slack(running_bot, endpoint):
    bot = running_bot
    send = ENDPOINTS[endpoint]
    bot.fake.reset()  # forget the auth.test bolt made at start-up
    alerts_before = alert_count(bot)
    for name, forge in forgeries().items():
        forge = dict(forge)
        secret = forge.pop("secret", SECRET)
        status, _ = send(bot, secret, **forge)
        assert status == 401, (endpoint, name, status)
    time.sleep(QUIET_WAIT)  # a listener that ran anyway would have asked Slack who the user is by now
    assert bot.fake.attempts() == [], [c.method for c in bot.fake.attempts()]
    assert alert_count(bot) == alerts_before

    # the same request, signed properly, is taken and acted on: the silence above was the signature's doing
    status, _ = send(bot, SECRET)
    assert status == 200
    bot.fake.wait_for("users.info", timeout=10)


def test_a_request_just_inside_the_replay_window_is_taken(running_bot):
    bot = running_bot
    bot.fake.reset()
    status, _ = slash_command(bot, SECRET, timestamp=int(time.time()) - REPLAY_WINDOW + 30)
    assert status == 200
    bot.fake.wait_for_messages(1, kind="response_url", timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_mode_without_a_signing_secret_does_not_start(monkeypatch, tmp_path, capsys):
    database = tmp_path / "never-opened.db"
    port = free_port()
    env = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": "",
           "DATABASE_URL": f"sqlite:///{database}", "PORT": str(port)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    outcome: dict[str, int] = {}
    runner = threading.Thread(target=lambda: outcome.update(rc=bot_cli.main(["run"])), daemon=True)
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "`run` kept going without a signing secret"
    assert outcome["rc"] != 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "SLACK_SIGNING_SECRET" in lines[0] and lines[0].rstrip().endswith("."), err
    assert "Traceback" not in err
    assert not database.exists()  # stopped before the database was opened (and migrated)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
