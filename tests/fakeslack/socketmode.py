"""A local fake of Slack's Socket Mode, beside the fake Web API, so the real slack-sdk client (and bolt's
SocketModeHandler) connect to it as they connect to Slack.

    with FakeSlack() as fake, FakeSocketMode(fake, app_token="xapp-test") as socket_mode:
        # a bot with SLACK_APP_TOKEN=xapp-test and SLACK_API_URL=fake.api_url connects...
        socket_mode.wait_connected()
        envelope_id = socket_mode.send("slash_commands", slash_command_form("pipeline", "UANN"))
        socket_mode.wait_for_ack(envelope_id)

As Slack does: ``apps.connections.open`` (app-level token only) hands out a ``ws://127.0.0.1:PORT/link/?ticket=…``
URL, each connection gets a ``hello`` first, envelopes go to the newest open connection, and the app answers each
with ``{"envelope_id": …}`` (an ack, which may carry a ``payload``). An ack later than ``ACK_DEADLINE`` is what
Slack treats as no ack. ``drop()`` closes the connection from the server's side; ``refresh()`` sends a
``disconnect`` message (reason ``refresh_requested``), after which the app opens a new connection and closes the
old one. ``redeliver(envelope_id)`` sends an envelope again, with ``retry_attempt`` counted up, as Slack does when
an ack did not arrive.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakeslack.server import Call, FakeSlack, FakeSlackError

ACK_DEADLINE = 3.0  # seconds: Slack's limit for acknowledging an envelope
KINDS = ("slash_commands", "interactive", "events_api")


@dataclass
class Ack:
    envelope_id: str
    payload: dict | None  # the response payload the app sent with its ack, if any
    seconds: float  # from the (last) delivery of the envelope to the ack
    connection: int  # which connection (1, 2, …) carried it


@dataclass
class Envelope:
    envelope_id: str
    kind: str
    payload: dict
    accepts_response_payload: bool
    retry_attempt: int = 0
    sent_at: float = 0.0
    connections: list[int] = field(default_factory=list)  # where each delivery went

    def message(self, retry_reason: str = "") -> dict:
        return {"envelope_id": self.envelope_id, "type": self.kind, "payload": self.payload,
                "accepts_response_payload": self.accepts_response_payload,
                "retry_attempt": self.retry_attempt, "retry_reason": retry_reason}


class FakeSocketMode:
    """The Socket Mode side of the fake Slack: serves WebSocket connections and answers apps.connections.open."""

    def __init__(self, fake: FakeSlack, app_token: str = "xapp-test-token"):
        self.fake, self.app_token = fake, app_token
        self._cond = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets = itertools.count(1)
        self._ids = itertools.count(1)
        self._open: dict[int, ServerConnection] = {}  # connection number -> connection, while open
        self.connections = 0  # connections ever accepted
        self.envelopes: dict[str, Envelope] = {}
        self._acks: list[Ack] = []
        self.stray: list[Any] = []  # messages from the app that are not acks of a known envelope

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSocketMode:
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)
        self._thread.start()
        self.fake.on("apps.connections.open", self._connections_open)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._cond:
            open_now = list(self._open.values())
        for conn in open_now:
            conn.close()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSocketMode is not started")
        return self._server.socket.getsockname()[1]

    # ------------------------------------------------------------------ the Web API side

    def _connections_open(self, params: dict, call: Call) -> dict:
        """apps.connections.open takes the app-level token (xapp-…), never the bot token."""
        if call.token != self.app_token:
            return {"ok": False, "error": "invalid_auth" if call.token else "not_authed"}
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._tickets)}&app_id={self.fake.app_id}"}

    # ------------------------------------------------------------------ the WebSocket side

    def _serve(self, conn: ServerConnection) -> None:
        with self._cond:
            self.connections += 1
            number = self.connections
            self._open[number] = conn
            self._cond.notify_all()
        try:
            conn.send(json.dumps({"type": "hello", "num_connections": len(self._open),
                                  "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
                                  "connection_info": {"app_id": self.fake.app_id}}))
            for raw in conn:
                self._received(number, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._open.pop(number, None)
                self._cond.notify_all()

    def _received(self, number: int, raw: str | bytes) -> None:
        arrived = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = raw
        with self._cond:
            envelope = self.envelopes.get(message.get("envelope_id")) if isinstance(message, dict) else None
            if envelope is None:
                self.stray.append(message)
            else:
                self._acks.append(Ack(envelope.envelope_id, message.get("payload"), arrived - envelope.sent_at,
                                      number))
            self._cond.notify_all()

    # ------------------------------------------------------------------ driving it

    def send(self, kind: str, payload: dict, *, accepts_response_payload: bool | None = None) -> str:
        """Deliver a new envelope on the newest open connection; returns its envelope id."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if accepts_response_payload is None:  # Slack lets commands and interactivity answer in the ack
            accepts_response_payload = kind != "events_api"
        envelope = Envelope(f"env-{next(self._ids):06d}-{time.time_ns() % 10**9:09d}", kind, payload,
                            accepts_response_payload)
        with self._cond:
            self.envelopes[envelope.envelope_id] = envelope
        self._deliver(envelope)
        return envelope.envelope_id

    def redeliver(self, envelope_id: str, retry_reason: str = "timeout") -> None:
        """The same envelope (same id, same payload) again, with retry_attempt counted up."""
        with self._cond:
            envelope = self.envelopes[envelope_id]
            envelope.retry_attempt += 1
        self._deliver(envelope, retry_reason)

    def _deliver(self, envelope: Envelope, retry_reason: str = "") -> None:
        with self._cond:
            if not self._open:
                raise FakeSlackError("no open Socket Mode connection to deliver to")
            number = max(self._open)
            conn = self._open[number]
            envelope.sent_at = time.monotonic()
            envelope.connections.append(number)
        conn.send(json.dumps(envelope.message(retry_reason)))

    def drop(self) -> None:
        """Close the newest connection from Slack's side (as a Slack host going away does)."""
        with self._cond:
            number = max(self._open)
            conn = self._open[number]
        conn.close(code=1001, reason="server going away")

    def refresh(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect: a ``disconnect`` message on the newest connection, left open until the app
        has its new connection and closes this one."""
        with self._cond:
            conn = self._open[max(self._open)]
        conn.send(json.dumps({"type": "disconnect", "reason": reason,
                              "debug_info": {"host": "fake-socket-mode"}}))

    # ------------------------------------------------------------------ inspection

    def acks(self, envelope_id: str | None = None) -> list[Ack]:
        with self._cond:
            return [a for a in self._acks if envelope_id is None or a.envelope_id == envelope_id]

    def open_connections(self) -> list[int]:
        with self._cond:
            return sorted(self._open)

    def late(self) -> list[Ack]:
        """Acks that came after Slack's deadline (Slack would have shown the user an error, or redelivered)."""
        return [a for a in self.acks() if a.seconds > ACK_DEADLINE]

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> list[Ack]:
        """Wait until the envelope's latest delivery has been acked on the connection that carried it (a
        delivery on a connection that closed before its ack is never acked); returns the envelope's acks."""
        envelope = self.envelopes[envelope_id]
        return self._wait(lambda: self.acks(envelope_id),
                          lambda found: any(a.connection == envelope.connections[-1] for a in found), timeout,
                          f"the ack of {envelope_id} on connection {envelope.connections[-1]}")

    def wait_connected(self, count: int = 1, timeout: float = 30.0) -> int:
        """Wait until ``count`` connections were accepted in all and exactly one is open; returns its number."""
        self._wait(self.open_connections, lambda found: self.connections >= count and len(found) == 1, timeout,
                   f"connection {count} to be the only one open")
        return self.open_connections()[0]

    def _wait(self, get, done, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = get()
                if done(found):
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FakeSlackError(f"waited {timeout}s for {what}; connections: {self.connections} "
                                         f"(open {sorted(self._open)}), acks: {len(self._acks)}")
                self._cond.wait(remaining)
