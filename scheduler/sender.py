"""Sending for scheduled work: paced per channel, retried by the WebClient's handlers, tagged for the ledger.

The WebClient (handlers.app.web_client) already retries 429 after Retry-After and 5xx / connection errors with
backoff; this class adds Slack's one-message-per-second-per-channel pacing, DM channel and user look-ups, and
the metadata search the ledger uses to recover an interrupted delivery. A post or upload for a ledger delivery
confirms the ledger claim right before calling Slack (scheduler.ledger: a claim taken over sends nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from scheduler.ledger import METADATA_EVENT, Delivery, SentRef

PER_CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel


class SlackSender:
    def __init__(self, client: WebClient, *, per_channel_interval: float = PER_CHANNEL_INTERVAL,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.per_channel_interval = per_channel_interval
        self.sleep, self.clock = sleep, clock
        self._last_post: dict[str, float] = {}
        self._dm: dict[str, str] = {}
        self._lock = threading.Lock()

    def _pace(self, channel: str) -> None:
        with self._lock:
            last = self._last_post.get(channel)
            wait = 0.0 if last is None else self.per_channel_interval - (self.clock() - last)
            self._last_post[channel] = self.clock() + max(wait, 0.0)
        if wait > 0:
            self.sleep(wait)

    def dm_channel(self, user_id: str) -> str:
        """A conversation id for a user id (their DM), a channel id (itself) or a `#name` (its id once a post
        has told us, else the name, which chat.postMessage accepts)."""
        if user_id.startswith("#"):
            return self._dm.get(user_id, user_id)
        if user_id.startswith(("C", "D", "G")):
            return user_id
        if user_id not in self._dm:
            self._dm[user_id] = self.client.conversations_open(users=user_id)["channel"]["id"]
        return self._dm[user_id]

    def user_by_email(self, email: str) -> dict | None:
        try:
            return self.client.users_lookupByEmail(email=email)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise

    def user_info(self, user_id: str) -> dict | None:
        """users.info with the user's locale (Slack sends it only when asked); None for an unknown user."""
        try:
            return self.client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise

    def post(self, channel: str, message: dict, delivery: Delivery | None = None) -> SentRef:
        channel = self.dm_channel(channel)
        self._pace(channel)
        kwargs = {"channel": channel, "text": message.get("text", ""), "blocks": message.get("blocks")}
        if delivery is not None:
            kwargs["metadata"] = delivery.metadata
            delivery.confirm_claim()  # last moment before Slack: a claim another run took over sends nothing
        response = self.client.chat_postMessage(**kwargs)
        if channel.startswith("#"):
            self._dm[channel] = response["channel"]
        return SentRef(response["channel"], response["ts"])

    def update(self, ref: SentRef, message: dict) -> None:
        self._pace(ref.channel)
        self.client.chat_update(channel=ref.channel, ts=ref.ts, text=message.get("text", ""),
                                blocks=message.get("blocks"))

    def upload(self, channel: str, *, filename: str, content: bytes | str, title: str,
               initial_comment: str | None = None, thread_ts: str | None = None,
               delivery: Delivery | None = None) -> None:
        channel = self.dm_channel(channel)
        self._pace(channel)
        if delivery is not None:
            delivery.confirm_claim()
        self.client.files_upload_v2(channel=channel, filename=filename, content=content, title=title,
                                    initial_comment=initial_comment, thread_ts=thread_ts)

    def find_delivery(self, channel: str, delivery: Delivery, oldest: datetime) -> SentRef | None:
        """A message in `channel` since `oldest` tagged with this delivery's metadata (crash recovery)."""
        channel = self.dm_channel(channel)
        history = self.client.conversations_history(channel=channel, oldest=f"{oldest.timestamp():.6f}",
                                                    include_all_metadata=True, limit=200)
        want = delivery.metadata["event_payload"]
        for msg in history.get("messages", []):
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and meta.get("event_payload") == want:
                return SentRef(channel, msg["ts"])
        return None
