"""HTTP mode's operator endpoints on the real bot (waitress, the same server as production): /healthz, /readyz
(503 with the reason while the database is unreachable, behind the newest migration, or Slack has not taken the
token), /metrics in Prometheus text format with the request, Slack-call and ack figures, and the body limit."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from dataclasses import replace

import pytest
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from db.engine import alembic_config, head_revision
from handlers.deps import BotDeps
from handlers.health import Health
from handlers.server import serve_http, stop_serving
from metrics.cache import ResultCache
from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET, serve_bot
from tests.test_signatures import free_port

WAIT = 30


@pytest.fixture
def bot(db, fake_slack, small_org_clock):
    with serve_bot(db, fake_slack, max_request_body_bytes=4096) as running:
        yield running


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def samples(base_url: str) -> dict[tuple[str, tuple], float]:
    status, content_type, body = get(f"{base_url}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_and_readiness(bot):
    assert get(f"{bot.base_url}/healthz")[0] == 200
    status, _, body = get(f"{bot.base_url}/readyz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "database": True, "migrations": True, "slack_auth": True}
    assert get(f"{bot.base_url}/nothing-here")[0] == 404


def readyz(base_url: str) -> tuple[int, dict]:
    status, _, body = get(f"{base_url}/readyz")
    return status, json.loads(body)


def test_readiness_is_503_with_the_reason_until_every_part_holds(bot, db):
    head = head_revision()
    behind = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    with db.engine.begin() as conn:  # the schema as a replica still on the previous release left it
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": behind})
    try:
        assert readyz(bot.base_url) == (503, {
            "ok": False, "database": True, "migrations": False, "slack_auth": True,
            "reasons": [f"migrations: the database is at {behind}, the newest is {head}; run "
                        "`python bot.py db upgrade`."]})
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert readyz(bot.base_url)[0] == 200

    # a bot whose database does not answer, and that Slack has not yet answered either
    url = (f"sqlite:///{db.url.rsplit('/', 1)[0]}/no-such-folder/sales.db" if db.backend == "sqlite"
           else f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/salesbot")
    unreachable = create_engine(url, connect_args={} if db.backend == "sqlite" else {"connect_timeout": 3})
    deps = BotDeps(unreachable, replace(bot.deps.settings, database_url=url), ResultCache(0))
    server = serve_http(None, deps, 0, host="127.0.0.1", health=Health(deps, slack_auth=False))
    try:
        status, body = readyz(f"http://127.0.0.1:{server.port}")
        assert get(f"http://127.0.0.1:{server.port}/healthz")[0] == 200  # alive all the same
    finally:
        stop_serving(server, deps, time.monotonic() + 5)
        deps.workers.shutdown(wait=False)
        unreachable.dispose()
    assert status == 503 and body["ok"] is False
    assert (body["database"], body["migrations"], body["slack_auth"]) == (False, False, False)
    assert body["reasons"] == [
        "database: cannot reach it (OperationalError); check DATABASE_URL and that the server is up.",
        "slack_auth: Slack has not accepted the token yet (or Socket Mode is not connected)."]


def test_metrics_count_a_question_its_slack_calls_and_its_ack(bot):
    before = samples(bot.base_url)
    status, _ = post_slash_command(bot.url, SECRET, "pipeline", "UANN", response_url=bot.fake.response_url("a"))
    assert status == 200
    bot.fake.wait_for(lambda c: c.method == "response_url" and c.name == "a", timeout=WAIT)
    bot.fake.fail("users.info", status=503)  # Bob's lookup is retried once after a 503
    post_slash_command(bot.url, SECRET, "quota", "UBOB", response_url=bot.fake.response_url("b"))
    bot.fake.wait_for(lambda c: c.method == "response_url" and c.name == "b", timeout=WAIT)
    after = samples(bot.base_url)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("salesbot_requests_total", subcommand="pipeline", outcome="ok") == 1
    assert grew("salesbot_requests_total", subcommand="quota", outcome="ok") == 1
    assert grew("salesbot_request_seconds_count", subcommand="pipeline", outcome="ok") == 1
    assert grew("salesbot_slack_api_calls_total", method="users.info", status="ok") == 2
    assert grew("salesbot_slack_api_retries_total", method="users.info", reason="503") == 1
    assert grew("salesbot_ack_seconds_count") == 2
    assert grew("salesbot_http_requests_total", path="/slack/events", status="200") == 2
    assert value(after, "salesbot_scheduler_leader") == 0  # no scheduler in this bot
    assert ("salesbot_db_pool_in_use", ()) in after


def test_a_body_over_the_limit_is_refused_before_the_app_sees_it(bot):
    bot.fake.reset()
    host, port = bot.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/slack/events", body=b"x" * 5000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    assert bot.fake.attempts() == []
