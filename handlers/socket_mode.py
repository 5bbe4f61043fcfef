"""Socket Mode: bolt's SocketModeHandler, answering each envelope once.

When a connection closes before the ack of an envelope comes back (Slack's host went away, or it asked for a
refresh), Slack delivers the envelope again, with the same envelope id, on the new connection. Events carry an
event id (handlers/seen_events.py), but slash commands and button clicks do not: the envelope id is what tells
their redelivery apart. A redelivered envelope is acked, since Slack waits for its ack, and not answered again.
Its id is claimed in the same table as event ids, so a redelivery to another replica's connection is recognised
too. The time from an envelope's arrival to its ack is observed as salesbot_ack_seconds, as HTTP mode's is.
"""

from __future__ import annotations

import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from handlers.deps import BotDeps
from ops import telemetry


class OnceSocketModeHandler(SocketModeHandler):
    def __init__(self, app: App, app_token: str, deps: BotDeps):
        super().__init__(app, app_token)
        self.deps = deps

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        if not self.deps.seen_events.first_time({"event_id": f"envelope:{req.envelope_id}"}):
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        started = time.perf_counter()
        super().handle(client, req)  # bolt's dispatch returns once the listener acked; the ack is sent then
        telemetry.ACK_SECONDS.observe(time.perf_counter() - started)
