"""HTTP mode's operator endpoints on the real bot (waitress, the same server as production): /healthz, /readyz,
/metrics in Prometheus text format with the request, Slack-call and ack figures, and the request-body limit."""

from __future__ import annotations

import http.client
import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET, serve_bot

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
