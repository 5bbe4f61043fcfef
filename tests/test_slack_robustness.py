"""Robustness: fuzzed requests always get a reply, the ack never waits for the work, outages heal by themselves."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from assistant.grammar import INTENTS
from assistant.service import answer_text
from config import load_settings
from db.engine import create_raw_engine
from handlers.app import build_app, serve_http, web_client
from handlers.deps import BotDeps
from metrics.cache import ResultCache
from metrics.scopes import viewer_by_email
from render.blocks import answer_to_message
from tests.backends import postgres_only
from tests.fakeslack import post_slash_command
from tests.orgs import build_small_org
from tests.slackbot import SECRET, TOKEN, USERS

VOCAB = [w for words in INTENTS.values() for w in words] + [
    "me", "team", "org", "Ann", "Bob Rep", "max.manager@example.com", "<@UANN>", "west", "q3", "q5", "fy2027",
    "last 30 days", "next quarter", "2026-13", "by", "owner", "stage", "chart", "explain", "'; DROP TABLE reps;--",
    "%", "_", "\\", "\x00", "💸", "<script>", "&", "99999999999999999999", "-1", "..", "2026-07-01..2026-01-01",
]
words = st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=12)), max_size=8).map(" ".join)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(text=st.one_of(words, st.text(max_size=200)), who=st.sampled_from(["ann.rep@example.com",
                                                                          "max.manager@example.com",
                                                                          "erin.exec@example.com"]))
def test_any_text_gets_an_answer_within_limits(small_org_db, text, who):
    engine, viewers = small_org_db
    answer = answer_text(engine, viewers[who], "/sales " + text, settings=load_settings({}), cache=ResultCache(0))
    assert answer.error_id is None, (text, answer.lines)
    message = answer_to_message(answer)
    assert message["blocks"] and len(message["blocks"]) <= 50


@pytest.mark.parametrize("text", ["deal help \x00", "pipeline\x00 west", "deal \x00\x07acme", "top\x1b 5 deals"])
def test_control_characters_are_no_words(small_org_db, text):
    """A NUL (PostgreSQL's text cannot hold one) or another control character reads as a space, never an error."""
    engine, viewers = small_org_db
    answer = answer_text(engine, viewers["max.manager@example.com"], "/sales " + text, settings=load_settings({}),
                         cache=ResultCache(0))
    assert answer.error_id is None, (text, answer.lines)


@pytest.fixture
def small_org_db(db):
    build_small_org(db.engine)
    with db.engine.connect() as conn:
        viewers = {email: viewer_by_email(conn, email)
                   for email in ("ann.rep@example.com", "max.manager@example.com", "erin.exec@example.com")}
    return db.engine, viewers


def test_ack_comes_before_the_work(running_bot):
    """Identity lookup is slowed down; the HTTP 200 must come back before any reply exists."""
    bot = running_bot
    bot.fake.fail("users.info", delay=1.5, times=1)
    url = bot.fake.response_url("slow")
    status, _ = post_slash_command(bot.url, SECRET, "pipeline", "UANN", response_url=url)
    assert status == 200
    assert not bot.fake.messages(kind="response_url")
    bot.fake.wait_for_messages(1, kind="response_url", timeout=10)


class TcpProxy:
    """A loopback TCP forwarder that can be cut and restored, to take the database away from the bot."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = None
        self._sock = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self):
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port or 0))
        self.port = self._sock.getsockname()[1]
        self._sock.listen(16)
        threading.Thread(target=self._accept, args=(self._sock,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def stop(self):
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() thread; close() alone does not
        self._sock.close()
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
            self._conns.clear()


@postgres_only  # the outage is simulated on the PostgreSQL connection
def test_database_outage_is_reported_and_heals(db, fake_slack):
    build_small_org(db.engine)
    url = make_url(db.url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    engine = create_raw_engine(url.set(port=proxy.port).render_as_string(hide_password=False))
    for user_id, (email, name, tz) in USERS.items():
        fake_slack.add_user(user_id, email, name, tz=tz)
    settings = replace(load_settings({}), slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                       slack_api_url=fake_slack.api_url)
    deps = BotDeps(engine, settings, ResultCache(0))
    server = serve_http(build_app(deps, web_client(settings)), deps, 0, host="127.0.0.1")
    bot_url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"

    def ask(name):
        post_slash_command(bot_url, SECRET, "pipeline", "UANN", response_url=fake_slack.response_url(name))
        return fake_slack.wait_for_messages(1, kind="response_url", timeout=20)[-1].text

    try:
        assert "pipeline" in ask("before").lower()
        fake_slack.reset()
        proxy.stop()
        down = ask("down")
        assert "unavailable" in down.lower()
        fake_slack.reset()
        proxy.start()
        assert "unavailable" not in ask("after").lower()
    finally:
        server.shutdown()
        server.server_close()
        proxy.stop()
        engine.dispose()
