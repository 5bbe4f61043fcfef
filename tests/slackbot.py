"""The real bot (slack-bolt, our handlers, our HTTP server) against the fake Slack, on the test database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date

import pytest

from config import load_settings
from handlers.app import build_app, web_client
from handlers.deps import BotDeps
from handlers.server import serve_http, stop_serving
from metrics.cache import ResultCache
from render.nudges import SNOOZE_DATE_ACTION, SNOOZE_DATE_BLOCK, SNOOZE_REASON_ACTION, SNOOZE_REASON_BLOCK
from tests.fakeslack import date_value, input_value
from tests.orgs import build_small_org

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
# Slack users for the small org, by the org's emails
USERS = {
    "UANN": ("ann.rep@example.com", "Ann Rep", "America/New_York"),
    "UBOB": ("bob.rep@example.com", "Bob Rep", "Europe/London"),
    "UMAX": ("max.manager@example.com", "Max Manager", "America/Chicago"),
    "UMIA": ("mia.lead@example.com", "Mia Lead", "Europe/Berlin"),
    "UERIN": ("erin.exec@example.com", "Erin Exec", "America/Los_Angeles"),
    "UOLLY": ("olly.ops@example.com", "Olly Ops", "Asia/Singapore"),
    "USTRANGER": ("stranger@elsewhere.com", "Stranger", "UTC"),
}


@dataclass
class RunningBot:
    url: str
    base_url: str
    fake: object
    deps: BotDeps
    org: dict


@contextmanager
def serve_bot(db, fake_slack, **serving) -> Iterator[RunningBot]:
    """The small org's bot served over HTTP to the fake Slack; `serving`: ServingSettings fields to change."""
    org = build_small_org(db.engine)
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    base = load_settings({})
    settings = replace(base, database_url=db.url, slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                       slack_api_url=fake_slack.api_url, crm_url_template="https://crm.example.com/{id}",
                       serving=replace(base.serving, **serving))
    deps = BotDeps(db.engine, settings, ResultCache(0))
    app = build_app(deps, web_client(settings))
    server = serve_http(app, deps, 0, host="127.0.0.1")
    port = server.server_address[1]
    try:
        yield RunningBot(f"http://127.0.0.1:{port}/slack/events", f"http://127.0.0.1:{port}", fake_slack, deps, org)
    finally:  # the production stop: answers already started reach the fake Slack before it goes away
        stop_serving(server, deps, time.monotonic() + 30)
        deps.workers.shutdown(wait=False)


@pytest.fixture
def running_bot(db, fake_slack, small_org_clock):
    with serve_bot(db, fake_slack) as bot:
        yield bot


def snooze_form(until: date, reason: str = "waiting for the budget") -> dict:
    """The "Snooze until…" modal's state values, as Slack sends them in the view submission."""
    return {SNOOZE_DATE_BLOCK: {SNOOZE_DATE_ACTION: date_value(until.isoformat())},
            SNOOZE_REASON_BLOCK: {SNOOZE_REASON_ACTION: input_value(reason)}}
