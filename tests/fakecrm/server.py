"""What the fake CRMs share: a threaded HTTP server on 127.0.0.1 answering JSON, a clock that moves at least a
second per change, and faults to inject by kind of call."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    kind: str  # which calls it hits (each fake names its kinds), or "any"
    status: int
    times: int
    body: object = None
    retry_after: str | None = None


class FakeCrmServer:
    """Subclasses implement `handle(method, path, body, headers) -> (status, body, headers)` and `read_body`."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def tick(self) -> datetime:
        """The fake's clock: real time, but strictly increasing by at least a second per change."""
        with self._lock:
            self._clock = max(self._clock + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
            return self._clock

    def fail(self, kind: str, status: int, times: int = 1, body: object = None, retry_after: str | None = None):
        self.faults.append(Fault(kind, status, times, body, retry_after))

    def _fault(self, kind: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and f.kind in (kind, "any"):
                    f.times -= 1
                    return f
        return None

    @staticmethod
    def read_body(raw: bytes):
        return raw

    def handle(self, method: str, path: str, body, headers) -> tuple[int, object, dict]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCrmServer

    def _serve(self, method: str) -> None:
        body = None
        if method == "POST":
            body = self.fake.read_body(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        try:
            status, answer, headers = self.fake.handle(method, self.path, body, self.headers)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake shows in the test, not as a hang
            self.fake.errors.append(repr(exc))
            status, answer, headers = 500, {"errorCode": "FAKE_BUG", "message": repr(exc)}, {}
        data = json.dumps(answer, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)  # the shortest repr round-trips: 1234.56 stays 1234.56 on the wire
    raise TypeError(type(value))
