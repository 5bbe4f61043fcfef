"""A local fake of Slack's Web API, served over real HTTP so the real slack-sdk (and slack-bolt) talk to it.

    with FakeSlack() as fake:
        fake.add_user("U1", "dana@example.com", "Dana Reyes")
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.messages()[0].text == "hi"

Paths served on ``fake.url``:

- ``/api/<method>``: the Web API (form-encoded, JSON or multipart bodies; POST or GET). ``fake.api_url`` is the
  value for ``WebClient(base_url=...)`` and for ``SLACK_API_URL`` (same format as slack-sdk's default,
  ``https://slack.com/api/``).
- ``/upload/<file_id>``: where ``files.getUploadURLExternal`` sends the raw bytes (method name ``"upload"``).
- ``/response/<name>``: a slash command's or an action's ``response_url`` (method name ``"response_url"``).

Everything that arrives is an *attempt* (``fake.attempts()``); attempts the fake answered normally (that is, not
turned away by ``fake.fail(...)``) are *calls* (``fake.calls()``), whether the answer was ``ok: true`` or a
Slack error such as ``user_not_found``.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from tests.fakeslack import blockkit

JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "user_auth_blocks")
# what auth.test's x-oauth-scopes header says the token holds (``fake.scopes`` can be narrowed per test)
SCOPES = ",".join(
    ["chat:write", "chat:write.public", "commands", "users:read", "users:read.email", "im:write", "im:history"]
    + ["app_mentions:read", "files:write", "im:read", "channels:read", "groups:read"]
)


@dataclass
class Call:
    """One HTTP request that reached the fake."""

    method: str  # Slack method ("chat.postMessage"), or "upload", or "response_url"
    params: dict[str, Any]  # query + body; JSON-in-a-form-field values (blocks, view, files...) decoded
    headers: dict[str, str]  # lower-cased names
    token: str | None  # from "Authorization: Bearer ..." or a token param
    time: float  # time.time() on arrival
    path: str
    body: bytes
    content_type: str
    name: str | None = None  # response_url name, or upload file id
    status: int | None = None  # HTTP status answered (None if the connection was dropped)
    response: Any = None  # the body answered (dict for the Web API)
    injected: str | None = None  # why fake.fail() turned it away ("http 429", "disconnect", "error ..."), else None

    @property
    def ok(self) -> bool:
        if self.status != 200:
            return False
        return not isinstance(self.response, dict) or bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error") if isinstance(self.response, dict) else None


@dataclass
class Message:
    """A message the bot sent: chat.postMessage / postEphemeral / update, or a response_url post."""

    kind: str  # "message", "ephemeral", "update", "response_url"
    channel: str | None
    text: str | None
    blocks: list | None
    ts: str | None  # the message's ts (for "update": the ts updated; for "ephemeral": message_ts answered)
    thread_ts: str | None = None
    user: str | None = None  # postEphemeral's target user
    response_type: str | None = None  # response_url only: "ephemeral" / "in_channel"
    replace_original: bool | None = None
    delete_original: bool | None = None
    attachments: list | None = None
    url_name: str | None = None  # response_url only
    metadata: dict | None = None  # chat.postMessage's message metadata (event_type, event_payload)
    call: Call | None = field(default=None, repr=False)


@dataclass
class Upload:
    """A file sent with the files v2 flow (getUploadURLExternal, upload, completeUploadExternal)."""

    file_id: str
    filename: str
    length: int  # as declared to getUploadURLExternal
    alt_txt: str | None = None
    data: bytes | None = None  # the bytes that arrived at the upload URL
    completed: bool = False
    title: str | None = None
    channel_id: str | None = None
    channels: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None

    @property
    def is_png(self) -> bool:
        return bool(self.data) and self.data.startswith(b"\x89PNG\r\n\x1a\n")


@dataclass
class Failure:
    method: str
    status: int | None
    retry_after: int | None
    times: int
    delay: float
    error: str | None
    disconnect: bool


class FakeSlackError(AssertionError):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads: nothing outlives the fake
    block_on_close = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server.fake._handle(self)

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logging
        pass

    def reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout): nothing to answer
            self.close_connection = True


class FakeSlack:
    """The fake Web API server. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team: str = "Test Team",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A0001",
        tokens: Iterable[str] | None = None,
        validate_blocks: bool = True,
    ):
        """``tokens``: if given, other tokens get ``invalid_auth`` and a missing one ``not_authed``.
        ``validate_blocks``: reject payloads over Block Kit's limits with ``invalid_blocks``, as Slack does."""
        self.team_id, self.team, self.app_id = team_id, team, app_id
        self.bot_user_id, self.bot_id = bot_user_id, bot_id
        self.tokens = set(tokens) if tokens is not None else None
        self.validate_blocks = validate_blocks
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}  # conversations.info: see add_channel()
        self.scopes = SCOPES
        self._handlers: dict[str, Callable[[dict, Call], dict]] = {}
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._processing: Call | None = None
        self.errors: list[BaseException] = []  # exceptions inside the fake itself (a bug in the fake); kept by reset()
        self._clear()
        self.add_user(bot_user_id, None, "salesbot", is_bot=True, tz="America/Los_Angeles")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes injected delays
        self._httpd.shutdown()
        self._httpd.server_close()  # joins request threads
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeSlack is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Root URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}/api/"

    def env(self) -> dict[str, str]:
        """Environment for a bot process pointed at this fake."""
        return {"SLACK_API_URL": self.api_url}

    # ------------------------------------------------------------------ set-up

    def add_user(
        self,
        user_id: str,
        email: str | None,
        name: str,
        tz: str = "America/New_York",
        deleted: bool = False,
        is_bot: bool = False,
        **extra: Any,
    ) -> dict:
        """Register a workspace member for users.info / users.lookupByEmail. Returns the user object served."""
        zone = ZoneInfo(tz)
        now = datetime.now(zone)
        offset = now.utcoffset()
        handle = name.lower().replace(" ", ".")
        profile = {
            "real_name": name,
            "real_name_normalized": name,
            "display_name": name.split(" ")[0],
            "display_name_normalized": name.split(" ")[0],
            "first_name": name.split(" ")[0],
            "last_name": " ".join(name.split(" ")[1:]),
            "team": self.team_id,
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id}"
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": handle,
            "deleted": deleted,
            "real_name": name,
            "tz": tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            **extra,
        }
        with self._cond:
            self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_member: bool = True, is_private: bool = False) -> dict:
        """A channel for conversations.info; ``is_member``: whether the bot is in it."""
        channel = {"id": channel_id, "name": name, "is_channel": not is_private, "is_private": is_private,
                   "is_member": is_member, "is_archived": False}
        with self._cond:
            self.channels[channel_id] = channel
        return channel

    def seed_message(self, channel: str, ts: str, text: str = "", blocks: list | None = None) -> None:
        """Make a message exist (e.g. one a previous bot process posted) so chat.update on it succeeds."""
        with self._cond:
            self._posted[(channel, ts)] = {"type": "message", "text": text, "blocks": blocks, "ts": ts}

    def response_url(self, name: str = "default", max_uses: int = 5, channel: str | None = None) -> str:
        """A response_url on this fake. Like Slack's, it takes ``max_uses`` posts; later ones get 404 used_url.
        ``channel``: the channel its messages are attributed to in ``messages()`` (None by default)."""
        with self._cond:
            self._url_uses.setdefault(name, 0)
            self._url_limits[name] = max_uses
            self._url_channels[name] = channel
        return f"{self.url}/response/{name}"

    def on(self, method: str, handler: Callable[[dict, Call], dict]) -> None:
        """Answer ``method`` with ``handler(params, call)`` (a dict; ``ok`` defaults to true). Overrides built-ins."""
        self._handlers[method] = handler

    def fail(
        self,
        method: str,
        status: int | None | object = ...,
        retry_after: int | None = 1,
        times: int = 1,
        delay: float = 0.0,
        error: str | None = None,
        disconnect: bool = False,
    ) -> Failure:
        """Turn away the next ``times`` attempts of ``method`` ("chat.postMessage", "upload", "response_url").

        - ``status=429`` (the default unless delay, error or disconnect is given): HTTP 429 with
          ``Retry-After: retry_after`` (whole seconds, as Slack sends, and as slack-sdk's RateLimitErrorRetryHandler
          requires: it sleeps int(Retry-After) + random 0..1 s), body ``{"ok": false, "error": "ratelimited"}``.
        - ``status=500`` / ``503`` / any other: that HTTP status, body ``{"ok": false, "error": "internal_error"}``.
        - ``error="channel_not_found"``: HTTP 200 ``{"ok": false, "error": ...}`` (status is ignored).
        - ``disconnect=True``: the connection is closed with no response (a reset, RemoteDisconnected).
        - ``delay=seconds``: wait before answering. With ``status=None`` the request IS processed (recorded as a
          call, the message exists) and only the answer is late: a client timeout then sees an error for a request
          that succeeded, which is how duplicates happen.
        """
        if status is ...:
            status = None if (delay or error or disconnect) else 429
        rule = Failure(method, status, retry_after, times, delay, error, disconnect)  # type: ignore[arg-type]
        with self._cond:
            self._failures.append(rule)
        return rule

    def release_delays(self) -> None:
        """Answer every request held by an injected ``delay`` now (later delays apply again)."""
        self._stopping.set()
        self._stopping.clear()

    def reset(self) -> None:
        """Forget calls, attempts, messages, uploads, views, response_url uses and pending failures. Users stay."""
        with self._cond:
            self._clear()

    def _clear(self) -> None:
        self._attempts: list[Call] = []
        self._calls: list[Call] = []
        self._messages: list[Message] = []
        self._uploads: dict[str, Upload] = {}
        self._views: dict[str, dict] = {}
        self._home: dict[str, dict] = {}
        self._posted: dict[tuple[str, str], dict] = {}
        self._failures: list[Failure] = []
        self._url_uses: dict[str, int] = {}
        self._url_limits: dict[str, int] = {}
        self._url_channels: dict[str, str | None] = {}

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        """Requests the fake processed (not turned away by ``fail``), oldest first."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def attempts(self, method: str | None = None) -> list[Call]:
        """Every request that arrived, including those ``fail`` turned away."""
        with self._cond:
            return [c for c in self._attempts if method is None or c.method == method]

    def last(self, method: str) -> Call:
        found = self.calls(method)
        if not found:
            raise FakeSlackError(f"no {method} call; calls were: {self._summary()}")
        return found[-1]

    def messages(self, channel: str | None = None, kind: str | None = None) -> list[Message]:
        """Messages sent successfully, oldest first (postMessage, postEphemeral, update, response_url posts)."""
        with self._cond:
            return [
                m
                for m in self._messages
                if (channel is None or m.channel == channel) and (kind is None or m.kind == kind)
            ]

    def posted(self, channel: str, ts: str) -> dict | None:
        """The current state of a posted message (after any chat.update), or None."""
        with self._cond:
            msg = self._posted.get((channel, ts))
            return dict(msg) if msg else None

    def uploads(self) -> list[Upload]:
        with self._cond:
            return list(self._uploads.values())

    def home_view(self, user_id: str) -> dict | None:
        """The Home tab last published for a user."""
        with self._cond:
            return self._home.get(user_id)

    def views(self) -> dict[str, dict]:
        """Modals opened/updated and Home tabs published, by view id."""
        with self._cond:
            return dict(self._views)

    def wait_for(self, what: str | Callable[[Call], bool], count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``count`` calls match (a method name, or a predicate on Call). Returns the matching calls.

        Raises FakeSlackError (an AssertionError) with what did arrive if the time runs out."""

        def matching() -> list[Call]:
            if callable(what):
                return [c for c in self._calls if what(c)]
            return [c for c in self._calls if c.method == what]

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    label = what if isinstance(what, str) else getattr(what, "__name__", "predicate")
                    raise FakeSlackError(
                        f"waited {timeout}s for {count} x {label}, got {len(found)}; calls were: {self._summary()}"
                    )
                self._cond.wait(remaining)

    def wait_for_messages(
        self, count: int = 1, timeout: float = 5.0, channel: str | None = None, kind: str | None = None
    ) -> list[Message]:
        """Wait until ``count`` messages (filtered like ``messages()``) were sent. Returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.messages(channel=channel, kind=kind)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FakeSlackError(
                        f"waited {timeout}s for {count} messages (channel={channel}, kind={kind}), "
                        f"got {len(found)}; calls were: {self._summary()}"
                    )
                self._cond.wait(remaining)

    def _summary(self) -> str:
        return (
            ", ".join(f"{c.method}{'' if c.ok else ' (' + str(c.error or c.status) + ')'}" for c in self._calls)
            or "none"
        )

    # ------------------------------------------------------------------ HTTP

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        content_type = headers.get("content-type", "")
        parts = split.path.strip("/").split("/", 1)
        route, rest = parts[0], unquote(parts[1]) if len(parts) > 1 else ""
        method = {"api": rest, "upload": "upload", "response": "response_url"}.get(route)
        if method is None or not rest:
            h.reply(404, b"not found", "text/plain")
            return
        call = Call(
            method=method,
            params={},
            headers=headers,
            token=None,
            time=time.time(),
            path=split.path,
            body=body,
            content_type=content_type,
            name=None if route == "api" else rest,
        )
        try:
            if route != "upload":
                call.params = _parse_params(split.query, body, content_type)
            auth = headers.get("authorization", "")
            call.token = auth[7:] if auth.lower().startswith("bearer ") else call.params.pop("token", None)
            with self._cond:
                self._attempts.append(call)
                rule = self._take_failure(method)
            if rule is not None and not (rule.status is None and rule.error is None and not rule.disconnect):
                self._answer_failure(h, call, rule)
                return
            if route == "api":
                status, payload = 200, self._api(call)
                out, ctype = json.dumps(payload).encode(), "application/json; charset=utf-8"
            elif route == "upload":
                status, payload = self._upload(call)
                out, ctype = payload.encode(), "text/plain; charset=utf-8"
            else:
                status, payload = self._response_url(call)
                out, ctype = payload.encode(), "text/html"
            call.status, call.response = status, payload
            with self._cond:
                self._calls.append(call)
                self._cond.notify_all()
            if rule is not None and rule.delay:  # processed, but the answer is late
                self._stopping.wait(rule.delay)
            extra = {"x-oauth-scopes": self.scopes} if method == "auth.test" else None
            h.reply(status, out, ctype, extra)
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for the test to see
            with self._cond:
                self.errors.append(exc)
                self._cond.notify_all()
            h.reply(500, json.dumps({"ok": False, "error": f"fake_slack_bug: {exc!r}"}).encode(), "application/json")
            raise

    def _take_failure(self, method: str) -> Failure | None:
        for rule in self._failures:
            if rule.method == method and rule.times > 0:
                rule.times -= 1
                if rule.times == 0:
                    self._failures.remove(rule)
                return rule
        return None

    def _answer_failure(self, h: _Handler, call: Call, rule: Failure) -> None:
        if rule.delay:
            self._stopping.wait(rule.delay)
        if rule.disconnect:
            call.injected = "disconnect"
            h.close_connection = True
            with self._cond:
                self._cond.notify_all()
            return
        headers: dict[str, str] = {}
        if rule.error is not None:
            status, payload = 200, {"ok": False, "error": rule.error}
            call.injected = f"error {rule.error}"
        else:
            status = rule.status or 500
            payload = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
            call.injected = f"http {status}"
            if status == 429 and rule.retry_after is not None:
                headers["Retry-After"] = str(int(rule.retry_after))
        call.status, call.response = status, payload
        with self._cond:
            self._cond.notify_all()
        h.reply(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    # ------------------------------------------------------------------ Web API

    def _api(self, call: Call) -> dict:
        if self.tokens is not None:
            if not call.token:
                return {"ok": False, "error": "not_authed"}
            if call.token not in self.tokens:
                return {"ok": False, "error": "invalid_auth"}
        handler = self._handlers.get(call.method)
        if handler is not None:
            return {"ok": True, **handler(call.params, call)}
        builtin = getattr(self, "_m_" + call.method.replace(".", "_"), None)
        if builtin is None:
            return {"ok": False, "error": "unknown_method"}
        with self._cond:
            self._processing = call
            return builtin(call.params)

    def _next_ts(self) -> str:
        us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _dm_channel(self, channel: str) -> str:
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _m_auth_test(self, p: dict) -> dict:
        return {
            "url": f"https://{self.team.lower().replace(' ', '')}.slack.com/",
            "team": self.team,
            "user": "salesbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
            "ok": True,
        }

    def _m_users_info(self, p: dict) -> dict:
        user = self.users.get(p.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        if str(p.get("include_locale", "")).lower() not in ("1", "true"):  # Slack sends the locale only when asked
            user = {k: v for k, v in user.items() if k != "locale"}
        return {"ok": True, "user": user}

    def _m_users_list(self, p: dict) -> dict:
        """Every member on one page (no cursor), as Slack answers a small workspace."""
        return {"ok": True, "members": list(self.users.values()), "response_metadata": {"next_cursor": ""}}

    def _m_conversations_info(self, p: dict) -> dict:
        channel = self.channels.get(p.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel}

    def _m_users_lookupByEmail(self, p: dict) -> dict:  # noqa: N802 - Slack's method name
        email = (p.get("email") or "").lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email and email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _m_conversations_open(self, p: dict) -> dict:
        if p.get("channel"):
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": p["channel"]}}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        for u in users:
            if u[:1] not in ("U", "W"):
                return {"ok": False, "error": "user_not_found"}
            if self.users.get(u, {}).get("deleted"):
                return {"ok": False, "error": "user_disabled"}
        channel = self._dm_channel(users[0]) if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": channel}}

    def _message_problem(self, p: dict, need_text: bool = True) -> dict | None:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        blocks, text = p.get("blocks"), p.get("text")
        if need_text and not text and not blocks and not p.get("attachments"):
            return {"ok": False, "error": "no_text"}
        if isinstance(text, str) and len(text) > blockkit.MAX_MESSAGE_TEXT:
            return {"ok": False, "error": "msg_too_long"}
        if self.validate_blocks and blocks is not None:
            errors = blockkit.message_errors(blocks)
            if errors:
                return {
                    "ok": False,
                    "error": "invalid_blocks",
                    "errors": errors,
                    "response_metadata": {"messages": errors},
                }
        return None

    def _bot_message(self, p: dict, ts: str) -> dict:
        msg = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": p.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key) is not None:
                msg[key] = p[key]
        return msg

    def _record_message(self, kind: str, p: dict, channel: str | None, ts: str | None, call: Call | None) -> None:
        self._messages.append(
            Message(
                kind=kind,
                channel=channel,
                text=p.get("text"),
                blocks=p.get("blocks"),
                ts=ts,
                thread_ts=p.get("thread_ts"),
                user=p.get("user") if kind == "ephemeral" else None,
                response_type=p.get("response_type"),
                replace_original=_bool(p.get("replace_original")),
                delete_original=_bool(p.get("delete_original")),
                attachments=p.get("attachments"),
                url_name=call.name if call is not None and kind == "response_url" else None,
                metadata=p.get("metadata") if isinstance(p.get("metadata"), dict) else None,
                call=call,
            )
        )

    def _m_chat_postMessage(self, p: dict) -> dict:  # noqa: N802
        problem = self._message_problem(p)
        if problem:
            return problem
        channel = self._dm_channel(p["channel"])
        ts = self._next_ts()
        message = self._bot_message(p, ts)
        self._posted[(channel, ts)] = message
        self._record_message("message", p, channel, ts, self._current)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_postEphemeral(self, p: dict) -> dict:  # noqa: N802
        problem = self._message_problem(p)
        if problem:
            return problem
        if not p.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        ts = self._next_ts()
        self._record_message("ephemeral", p, self._dm_channel(p["channel"]), ts, self._current)
        return {"ok": True, "message_ts": ts}

    def _m_chat_update(self, p: dict) -> dict:  # noqa: N802
        problem = self._message_problem(p, need_text=False)
        if problem:
            return problem
        channel, ts = p["channel"], p.get("ts") or ""
        existing = self._posted.get((channel, ts))
        if existing is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "attachments"):
            if key in p:
                existing[key] = p[key]
        existing["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self._record_message("update", p, channel, ts, self._current)
        return {"ok": True, "channel": channel, "ts": ts, "text": existing.get("text", ""), "message": existing}

    def _m_chat_delete(self, p: dict) -> dict:
        channel, ts = p.get("channel") or "", p.get("ts") or ""
        if self._posted.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_conversations_history(self, p: dict) -> dict:
        """Messages in a channel, newest first, like Slack: `oldest` / `latest` bounds (exclusive unless
        `inclusive`), `limit` with a `cursor` for the next page, and each message's `metadata` only when
        `include_all_metadata` is true (what the delivery ledger's crash recovery asks for)."""
        channel = p.get("channel") or ""
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        try:
            oldest = float(p.get("oldest") or 0)
            latest = float(p.get("latest")) if p.get("latest") not in (None, "") else float("inf")
            limit = min(max(int(p.get("limit") or 100), 1), 999)
            offset = int(p.get("cursor") or 0)
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        inclusive = bool(_bool(p.get("inclusive")))
        with_metadata = bool(_bool(p.get("include_all_metadata")))

        def in_range(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = sorted(
            ((float(ts), msg) for (ch, ts), msg in self._posted.items() if ch == channel and in_range(float(ts))),
            key=lambda pair: pair[0],
            reverse=True,
        )
        page = found[offset : offset + limit]
        messages = []
        for _, msg in page:
            out = {k: v for k, v in msg.items() if k != "metadata" or with_metadata}
            messages.append(json.loads(json.dumps(out)))
        more = offset + limit < len(found)
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(offset + limit) if more else ""},
        }

    def _m_chat_getPermalink(self, p: dict) -> dict:  # noqa: N802
        channel, ts = p.get("channel") or "", p.get("message_ts") or ""
        if (channel, ts) not in self._posted:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _view_problem(self, view: Any) -> dict | None:
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["view is required"]}}
        if self.validate_blocks:
            errors = blockkit.view_errors(view)
            if errors:
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
        return None

    def _store_view(self, view: dict, view_id: str | None = None, **extra: Any) -> dict:
        view_id = view_id or self._next_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
            **extra,
        }
        self._views[view_id] = stored
        return stored

    def _m_views_publish(self, p: dict) -> dict:
        view = p.get("view")
        problem = self._view_problem(view)
        if problem:
            return problem
        user_id = p.get("user_id") or ""
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        previous = self._home.get(user_id)
        stored = self._store_view(view, previous["id"] if previous else None)
        self._home[user_id] = stored
        return {"ok": True, "view": stored}

    def _m_views_open(self, p: dict) -> dict:
        if not p.get("trigger_id") and not p.get("interactivity_pointer"):
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": ["trigger_id required"]},
            }
        problem = self._view_problem(p.get("view"))
        return problem or {"ok": True, "view": self._store_view(p["view"])}

    _m_views_push = _m_views_open

    def _m_views_update(self, p: dict) -> dict:
        problem = self._view_problem(p.get("view"))
        if problem:
            return problem
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next((k for k, v in self._views.items() if v.get("external_id") == p["external_id"]), None)
        if not view_id or view_id not in self._views:
            return {"ok": False, "error": "not_found"}
        if p.get("hash") and p["hash"] != self._views[view_id]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return {"ok": True, "view": self._store_view(p["view"], view_id)}

    def _m_files_getUploadURLExternal(self, p: dict) -> dict:  # noqa: N802
        filename, length = p.get("filename"), p.get("length")
        if not filename or length in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        self._uploads[file_id] = Upload(
            file_id=file_id, filename=filename, length=int(length), alt_txt=p.get("alt_txt")
        )
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict) -> dict:  # noqa: N802
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        answered = []
        for f in files:
            upload = self._uploads.get(f.get("id", ""))
            if upload is None or upload.data is None:
                return {"ok": False, "error": "file_not_found"}
            upload.completed = True
            upload.title = f.get("title") or upload.filename
            upload.channel_id = p.get("channel_id")
            upload.channels = p.get("channels")
            upload.initial_comment = p.get("initial_comment")
            upload.thread_ts = p.get("thread_ts")
            shares = {}
            for ch in [c for c in [upload.channel_id, *(upload.channels or "").split(",")] if c]:
                shares.setdefault("public", {})[ch] = [{"ts": self._next_ts(), "channel_name": ch}]
            answered.append(
                {
                    "id": upload.file_id,
                    "created": int(time.time()),
                    "timestamp": int(time.time()),
                    "name": upload.filename,
                    "title": upload.title,
                    "mimetype": "image/png" if upload.is_png else "application/octet-stream",
                    "filetype": "png" if upload.is_png else "binary",
                    "user": self.bot_user_id,
                    "size": len(upload.data),
                    "url_private": f"{self.url}/files/{upload.file_id}/{upload.filename}",
                    "permalink": f"https://example.slack.com/files/{self.bot_user_id}/{upload.file_id}",
                    "channels": list(shares.get("public", {})),
                    "shares": shares,
                }
            )
        return {"ok": True, "files": answered}

    # ------------------------------------------------------------------ upload URL and response_url

    def _upload(self, call: Call) -> tuple[int, str]:
        with self._cond:
            upload = self._uploads.get(call.name or "")
            if upload is None:
                return 404, "not found"
            upload.data = call.body
        return 200, f"OK - {len(call.body)}"

    def _response_url(self, call: Call) -> tuple[int, str]:
        p = call.params
        with self._cond:
            name = call.name or ""
            uses = self._url_uses.get(name, 0)
            if uses >= self._url_limits.get(name, 5):
                return 404, "used_url"
            if self.validate_blocks and p.get("blocks") is not None and blockkit.message_errors(p["blocks"]):
                return 400, "invalid_blocks"
            if not p.get("text") and not p.get("blocks") and not _bool(p.get("delete_original")):
                return 400, "no_text"
            self._url_uses[name] = uses + 1
            self._record_message("response_url", p, self._url_channels.get(name), None, call)
        return 200, "ok"

    @property
    def _current(self) -> Call | None:
        return self._processing  # builtins run one at a time under self._cond


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(query, keep_blank_values=True).items()}
    ctype = content_type.split(";")[0].strip().lower()
    if body and ctype == "application/json":
        data = json.loads(body)
        if isinstance(data, dict):
            params.update(data)
    elif body and ctype == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            params[name] = payload if part.get_filename() else payload.decode()
    elif body:
        for k, v in parse_qs(body.decode(), keep_blank_values=True).items():
            params[k] = v[0] if len(v) == 1 else v
    for key in JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params
