"""Serve a slack-bolt App (or any WSGI app) over real HTTP on 127.0.0.1, on an ephemeral port, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = False  # server_close() joins the request threads
    block_on_close = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@dataclass
class Served:
    base_url: str  # http://127.0.0.1:PORT
    port: int
    path: str

    @property
    def url(self) -> str:
        """The endpoint Slack would POST to, e.g. http://127.0.0.1:PORT/slack/events."""
        return self.base_url + self.path


@contextmanager
def serve_wsgi(wsgi_app: Callable, path: str = "/slack/events") -> Iterator[Served]:
    """Serve ``wsgi_app`` (threaded, so concurrent requests work) until the block ends."""
    server = make_server("127.0.0.1", 0, wsgi_app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bolt-http", daemon=True
    )
    thread.start()
    port = server.server_address[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", port, path)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve_bolt(app: Any, path: str = "/slack/events") -> Iterator[Served]:
    """Serve a ``slack_bolt.App`` in HTTP mode through bolt's WSGI adapter (``slack_bolt.adapter.wsgi``)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    with serve_wsgi(SlackRequestHandler(app, path=path), path) as served:
        yield served
