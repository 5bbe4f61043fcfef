"""Requests as Slack sends them TO the bot (slash commands, interactivity, events), signed like Slack signs them.

Every ``post_*`` helper returns a ``Reply`` (a ``(status, body)`` tuple with a ``.json()``) and takes the same
forging options:

- ``timestamp``: the X-Slack-Request-Timestamp to sign with (default now); ``stale_timestamp()`` is 6 minutes ago.
- ``signed=False``: send no X-Slack-Signature / X-Slack-Request-Timestamp headers at all.
- ``headers``: extra or overriding headers (e.g. a tampered signature).
- ``tamper``: a function of the body's bytes; the body is signed as built, then ``tamper(body)`` is sent (a body
  changed in transit).
A wrong secret is just another ``secret`` argument.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

DEFAULT_TEAM_ID = "T0001"
DEFAULT_APP_ID = "A0001"
DEFAULT_BOT_USER_ID = "UBOT"

_seq = itertools.count(1)


class Reply(NamedTuple):
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers: ``v0=`` + HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
    if isinstance(body, str):
        body = body.encode()
    ts = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def stale_timestamp(seconds: int = 6 * 60) -> int:
    """A timestamp older than Slack's 5-minute replay window."""
    return int(time.time()) - seconds


def post_signed(
    bot_url: str,
    secret: str,
    body: bytes | str,
    content_type: str = "application/x-www-form-urlencoded",
    *,
    timestamp: int | None = None,
    signed: bool = True,
    headers: dict[str, str] | None = None,
    tamper: Callable[[bytes], bytes] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """POST ``body`` to the bot's endpoint (full URL, e.g. ``http://127.0.0.1:PORT/slack/events``)."""
    if isinstance(body, str):
        body = body.encode()
    send = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    if signed:
        send.update(sign(secret, body, timestamp))
    send.update(headers or {})
    if tamper is not None:
        body = tamper(body)
    parts = urlsplit(bot_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers=send)
        resp = conn.getresponse()
        return Reply(resp.status, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def _trigger_id() -> str:
    return f"{next(_seq)}.{int(time.time())}.faketrigger"


def _user(user_id: str, team_id: str) -> dict:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


FORGE_OPTIONS = ("timestamp", "signed", "headers", "tamper", "timeout")


def _forge(options: dict) -> dict:
    """Takes the forging options (post_signed's) out of ``options``; the rest build the payload."""
    return {k: options.pop(k) for k in FORGE_OPTIONS if k in options}


def post_slash_command(bot_url: str, secret: str, *args: Any, **options: Any) -> Reply:
    """A slash command, form-encoded with the fields Slack sends (``slash_command_form``'s arguments)."""
    forge = _forge(options)
    return post_signed(bot_url, secret, urlencode(slash_command_form(*args, **options)), **forge)


def slash_command_form(
    text: str,
    user_id: str,
    channel_id: str = "C1",
    response_url: str | None = None,
    command: str = "/sales",
    trigger_id: str | None = None,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    channel_name: str | None = None,
    user_name: str | None = None,
) -> dict[str, str]:
    """A slash command's fields, as Slack posts them in HTTP mode and puts them in a Socket Mode envelope."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": "testteam",
        "channel_id": channel_id,
        "channel_name": channel_name or ("directmessage" if channel_id.startswith("D") else "general"),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or "https://hooks.slack.com/commands/T0001/1/unused",
        "trigger_id": trigger_id or _trigger_id(),
    }


def post_payload(bot_url: str, secret: str, payload: dict, **forge: Any) -> Reply:
    """An interactivity payload (``payload=<json>`` form field), as Slack sends block actions and view events."""
    return post_signed(bot_url, secret, urlencode({"payload": json.dumps(payload)}), **forge)


def post_block_action(bot_url: str, secret: str, *args: Any, **options: Any) -> Reply:
    """A block_actions payload (``block_action_payload``'s arguments) posted to the bot."""
    forge = _forge(options)
    return post_payload(bot_url, secret, block_action_payload(*args, **options), **forge)


def block_action_payload(
    user_id: str,
    action_id: str,
    value: str | None = None,
    response_url: str | None = None,
    message: dict | None = None,
    channel_id: str = "C1",
    *,
    block_id: str | None = None,
    action_type: str = "button",
    selected_option: dict | None = None,
    view: dict | None = None,
    ephemeral: bool = False,
    message_ts: str | None = None,
    trigger_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    state: dict | None = None,
) -> dict:
    """A block_actions payload: a button click (default) or a select (``action_type``, ``selected_option``).

    On a message: pass ``message`` (the posted message, with its ``ts``), or ``ephemeral=True`` and ``message_ts``
    (Slack sends no message body for ephemeral ones). In a modal or the Home tab: pass ``view``."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or f"b-{action_id}",
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
        if value is not None:
            action["value"] = value
    elif selected_option is not None or value is not None:
        action["selected_option"] = selected_option or {"text": {"type": "plain_text", "text": value}, "value": value}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team_id, "domain": "testteam"},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": state or {}},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = view
    else:
        ts = (message or {}).get("ts") or message_ts or f"{time.time():.6f}"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage" if channel_id.startswith("D") else "general"}
        if message is not None and not ephemeral:
            payload["message"] = message
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def post_view_submission(bot_url: str, secret: str, *args: Any, **options: Any) -> Reply:
    """A view_submission / view_closed payload (``view_submission_payload``'s arguments) posted to the bot."""
    forge = _forge(options)
    return post_payload(bot_url, secret, view_submission_payload(*args, **options), **forge)


def view_submission_payload(
    user_id: str,
    callback_id: str,
    values: dict | None = None,
    private_metadata: str = "",
    *,
    view_id: str = "V1",
    blocks: list | None = None,
    title: str = "Modal",
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    kind: str = "view_submission",
) -> dict:
    """A view_submission (or, with ``kind="view_closed"``, a view_closed) payload.

    ``values`` is Slack's ``view.state.values``: ``{block_id: {action_id: {"type": "plain_text_input",
    "value": "..."}}}``; ``input_value()`` / ``date_value()`` / ``option_value()`` build the inner dicts."""
    return {
        "type": kind,
        "team": {"id": team_id, "domain": "testteam"},
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values or {}},
            "hash": f"{time.time():.6f}.hash",
            "title": {"type": "plain_text", "text": title},
            "root_view_id": view_id,
            "app_id": api_app_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def input_value(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def date_value(iso_date: str | None) -> dict:
    return {"type": "datepicker", "selected_date": iso_date}


def option_value(value: str | None, text: str | None = None) -> dict:
    option = None if value is None else {"text": {"type": "plain_text", "text": text or value}, "value": value}
    return {"type": "static_select", "selected_option": option}


def post_event(
    bot_url: str,
    secret: str,
    event: dict,
    *,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    **options: Any,
) -> Reply:
    """An Events API ``event_callback`` (``event_callback``'s arguments) posted to the bot. ``retry_num`` adds
    X-Slack-Retry-Num / X-Slack-Retry-Reason, as Slack does when it redelivers an event: pass the same
    ``event_id`` to simulate a redelivery."""
    forge = _forge(options)
    envelope = event_callback(event, **options)
    if retry_num is not None:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        forge["headers"] = {**extra, **(forge.get("headers") or {})}
    return post_signed(bot_url, secret, json.dumps(envelope), "application/json", **forge)


def event_callback(
    event: dict,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_id: str | None = None,
) -> dict:
    """An Events API ``event_callback`` body around ``event`` (see ``app_mention``, ``dm_message``,
    ``app_home_opened``): what HTTP mode posts and a Socket Mode ``events_api`` envelope carries."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_seq):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def post_url_verification(bot_url: str, secret: str, challenge: str = "challenge-123", **forge: Any) -> Reply:
    body = {"token": "deprecated-verification-token", "challenge": challenge, "type": "url_verification"}
    return post_signed(bot_url, secret, json.dumps(body), "application/json", **forge)


def _ts() -> str:
    return f"{time.time():.6f}"


def app_mention(
    user: str,
    text: str,
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> dict:
    """An app_mention event; ``text`` gets the ``<@BOT>`` prefix Slack puts in, unless it already has one."""
    if "<@" not in text:
        text = f"<@{bot_user_id}> {text}"
    event = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts or _ts(),
        "channel": channel,
        "event_ts": ts or _ts(),
        "team": DEFAULT_TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm_message(user: str, text: str, channel: str | None = None, ts: str | None = None) -> dict:
    """A message.im event: a person writing to the bot in its DM (channel ``D<user>`` by default, like the fake)."""
    ts = ts or _ts()
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel or f"D{user}",
        "team": DEFAULT_TEAM_ID,
    }


def app_home_opened(user: str, tab: str = "home", channel: str | None = None) -> dict:
    return {"type": "app_home_opened", "user": user, "channel": channel or f"D{user}", "tab": tab, "event_ts": _ts()}
