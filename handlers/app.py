"""The slack-bolt App, its Web API client, and the HTTP server (POST /slack/events, GET /healthz).

Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP mode on PORT. SLACK_API_URL points the client at
another Web API (a proxy, or the fake Slack server in tests).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import text

from config import Settings
from handlers import actions, commands, events, views
from handlers.deps import BotDeps

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    """A WebClient that retries 429s after Retry-After, and 5xx / connection errors with backoff."""
    kwargs = {"token": settings.slack_bot_token, "timeout": 15}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    client = WebClient(**kwargs)
    client.retry_handlers.extend([
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=3),
    ])
    return client


def build_app(deps: BotDeps, client: WebClient | None = None) -> App:
    app = App(
        client=client or web_client(deps.settings),
        signing_secret=deps.settings.slack_signing_secret,
        # auth.test once, now: bolt caches it, so no request waits on it before its ack
        token_verification_enabled=True,
        process_before_response=False,
    )
    for kind in (commands, events, actions, views):
        kind.register(app, deps)
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("http: " + format, *args)


_SLACK_TIMESTAMP = re.compile(r"[0-9]+")


def _malformed_timestamp(environ: dict) -> bool:
    """An X-Slack-Request-Timestamp that is not a whole number: slack-sdk's verifier raises on it, which bolt turns
    into an HTTP 500 and a stack trace in the log. Slack never sends one, so it is refused as unsigned."""
    raw = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    return raw is not None and _SLACK_TIMESTAMP.fullmatch(raw) is None


def wsgi_app(app: App, deps: BotDeps):
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            try:
                with deps.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                status, body = "200 OK", {"ok": True, "database": "up"}
            except Exception:  # noqa: BLE001 - health is a yes/no
                status, body = "503 Service Unavailable", {"ok": False, "database": "down"}
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        if _malformed_timestamp(environ):
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [json.dumps({"error": "invalid request"}).encode()]
        return slack(environ, start_response)

    return application


def serve_http(app: App, deps: BotDeps, port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Start the HTTP server in a background thread and return it (call .shutdown() to stop)."""
    server = make_server(host, port, wsgi_app(app, deps), server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="slack-http", daemon=True).start()
    return server
