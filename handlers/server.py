"""HTTP mode's server: waitress (one process, a bounded pool of threads) serving the bolt app at /slack/events,
with /healthz, /readyz and /metrics beside it, and a graceful stop.

Why waitress and not gunicorn: the bot is one process by design. Its scheduler runs in-process and only the
replica holding the leader lock fires jobs; gunicorn's pre-fork workers would each start a scheduler and a
leader election (or need a separate scheduler process), and its SIGTERM handling belongs to the master, not to
the code that holds the lock. waitress serves from threads inside our own process, so the same code that stops
taking requests also drains the work in flight, stops the scheduler and releases the lock.

Limits (ServingSettings): `HTTP_THREADS` worker threads, request bodies over `MAX_REQUEST_BODY_BYTES` refused
with 413, idle or trickling connections closed after `HTTP_CHANNEL_TIMEOUT_SECONDS` (slow-client protection),
at most `HTTP_CONNECTION_LIMIT` open connections; HTTP/1.1 keep-alive is on.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from config import ServingSettings
from handlers.deps import BotDeps
from handlers.health import Health
from handlers.workers import Pending
from ops import telemetry

log = logging.getLogger(__name__)
_SLACK_TIMESTAMP = re.compile(r"[0-9]+")
SLACK_PATH = "/slack/events"


class InFlight(Pending):
    """The requests being served, so a stop can wait for them."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False  # answers then carry "Connection: close", so kept-alive connections end


def _malformed_timestamp(environ: dict) -> bool:
    """An X-Slack-Request-Timestamp that is not a whole number: slack-sdk's verifier raises on it, which bolt turns
    into an HTTP 500 and a stack trace in the log. Slack never sends one, so it is refused as unsigned."""
    raw = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    return raw is not None and _SLACK_TIMESTAMP.fullmatch(raw) is None


def _json(start_response, status: str, body: dict) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


class SlackEndpoint:
    """POST /slack/events: bolt's handler once the app exists. The server starts before Slack has accepted the
    token (so /healthz and /readyz answer while the bot starts); until `attach(app)`, Slack's requests get 503."""

    def __init__(self, app: App | None = None, *, awaited: bool = False):
        self.handler = SlackRequestHandler(app, path=SLACK_PATH) if app is not None else None
        self.awaited = awaited  # an app is coming: answer 503 meanwhile, not 405

    def attach(self, app: App) -> None:
        self.handler = SlackRequestHandler(app, path=SLACK_PATH)

    @property
    def served(self) -> bool:
        return self.handler is not None or self.awaited


def wsgi_app(app: App | None, health: Health, in_flight: InFlight | None = None,
             paths: Iterable[str] = ("/healthz", "/readyz", "/metrics", SLACK_PATH), *,
             slack: SlackEndpoint | None = None) -> Callable:
    """The WSGI application: Slack's endpoint (`slack`, or one for `app` when given) and the operator endpoints
    in `paths`."""
    slack = slack or SlackEndpoint(app)
    served = set(paths)
    in_flight = in_flight or InFlight()

    def route(environ, start_response):
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path not in served:
            return _json(start_response, "404 Not Found", {"error": "not found"})
        if method == "GET" and path == "/healthz":
            return _json(start_response, "200 OK", {"ok": True})
        if method == "GET" and path == "/readyz":
            checks, reasons = health.readiness()
            if reasons:
                return _json(start_response, "503 Service Unavailable", {"ok": False, **checks, "reasons": reasons})
            return _json(start_response, "200 OK", {"ok": True, **checks})
        if method == "GET" and path == "/metrics":
            body, content_type = health.metrics()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == SLACK_PATH and slack.served:
            if slack.handler is None:
                start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "5")])
                return [json.dumps({"error": "starting: Slack has not accepted the token yet"}).encode()]
            if _malformed_timestamp(environ):
                return _json(start_response, "401 Unauthorized", {"error": "invalid request"})
            return slack.handler(environ, start_response)
        return _json(start_response, "405 Method Not Allowed", {"error": "method not allowed"})

    def application(environ, start_response):
        started = time.perf_counter()
        seen: list[str] = []

        def record_status(status, headers, exc_info=None):
            seen.append(status.split(" ", 1)[0])
            if in_flight.stopping:
                headers = [*(h for h in headers if h[0].lower() != "connection"), ("Connection", "close")]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        with in_flight:
            body = route(environ, record_status)
        path = environ.get("PATH_INFO") if environ.get("PATH_INFO") in served else "other"
        telemetry.HTTP_REQUESTS.labels(path=path, status=seen[0] if seen else "none").inc()
        if path == SLACK_PATH:
            telemetry.ACK_SECONDS.observe(time.perf_counter() - started)
        return body

    return application


class HttpServer:
    """waitress in a background thread; `stop_accepting()`, `drain()` and `close()` make the graceful stop."""

    def __init__(self, application: Callable, host: str, port: int, limits: ServingSettings,
                 in_flight: InFlight | None = None, slack: SlackEndpoint | None = None):
        self.in_flight = in_flight or InFlight()
        self.slack = slack  # serve_http's: `server.slack.attach(app)` opens /slack/events once Slack auth is done
        self._server = create_server(
            application, host=host, port=port, threads=limits.http_threads,
            max_request_body_size=limits.max_request_body_bytes, channel_timeout=limits.channel_timeout_seconds,
            connection_limit=limits.connection_limit, cleanup_interval=max(min(limits.channel_timeout_seconds, 30), 1),
            ident="salesbot", expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        self.server_address = (host, self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name="http-server", daemon=True)
        self._closed = False

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket (new connections are refused at once); connections already open carry on."""
        self.in_flight.stopping = True
        done = threading.Event()

        def close_listener() -> None:
            self._server.accepting = False
            if self._server.socket is not None:
                wasyncore.dispatcher.close(self._server)
            done.set()

        self._server.trigger.pull_trigger(close_listener)
        done.wait(5)

    def drain(self, deadline: float) -> bool:
        """Wait until no request is being served and every answer has been written out (or the deadline)."""
        if not self.in_flight.wait_idle(deadline):
            return False
        while time.monotonic() < deadline:
            if not any(getattr(c, "requests", None) or getattr(c, "total_outbufs_len", 0)
                       for c in list(self._server._map.values())):
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        """Stop everything now: the worker threads, open connections, the event loop."""
        if self._closed:
            return
        self._closed = True
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        done = threading.Event()

        def close_all() -> None:
            wasyncore.close_all(self._server._map)
            done.set()

        self._server.trigger.pull_trigger(close_all)
        done.wait(5)
        self._thread.join(5)

    # the standard library server's names, for callers that stop a server with them
    def shutdown(self) -> None:
        self.stop_accepting()
        self.close()

    def server_close(self) -> None:
        self.close()


def stop_serving(server: HttpServer | None, deps: BotDeps, deadline: float) -> bool:
    """The graceful stop of the serving side: refuse new connections, let the requests taken finish and the
    answers they started be sent, until the monotonic `deadline`; then close. Returns whether all finished."""
    if server is not None:
        server.stop_accepting()
    drained = server.drain(deadline) if server is not None else True  # requests taken: their work is submitted
    drained = deps.workers.wait_idle(deadline) and drained
    if server is not None:
        server.close()
    return drained


def serve_http(app: App | None, deps: BotDeps, port: int, host: str = "0.0.0.0", *,
               health: Health | None = None, paths: Iterable[str] | None = None,
               slack_later: bool = False) -> HttpServer:
    """Start the production HTTP server in a background thread and return it. With `slack_later` (and no `app`)
    /slack/events answers 503 until `server.slack.attach(app)`."""
    health = health or Health(deps)
    in_flight = InFlight()
    slack = SlackEndpoint(app, awaited=slack_later)
    application = wsgi_app(app, health, in_flight, slack=slack, **({"paths": paths} if paths is not None else {}))
    return HttpServer(application, host, port, deps.settings.serving, in_flight, slack).start()
