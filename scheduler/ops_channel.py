"""Posting to OPS_CHANNEL through the delivery ledger (the integrity run, CRM sync alerts).

OPS_CHANNEL may be a channel id (C…, G…) or a name (`#sales-ops`): chat.postMessage takes a name and answers
with the id. An abandoned claim (a replica died mid-send) is settled by looking for the message's ledger
metadata in the channel's recent history, which needs the id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from scheduler.ledger import Delivery, SentRef

log = logging.getLogger(__name__)


def post(ctx, channel: str, message: dict, key: Delivery) -> SentRef:
    if channel.startswith(("C", "G", "D")):
        return ctx.sender.post(channel, message, key)
    key.confirm_claim()
    response = ctx.sender.client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"],
                                                  metadata=key.metadata)
    return SentRef(response["channel"], response["ts"])


def deliver_to_ops(ctx, key: Delivery, message: dict, now: datetime,
                   also: Callable[[Connection, SentRef], None] | None = None) -> str:
    """Send `message` to the channel `key.recipient` once (the ledger's outcome: sent, already_sent, …)."""
    channel = key.recipient

    def find(k: Delivery) -> SentRef | None:
        if not channel.startswith(("C", "G")):
            return None
        try:
            return ctx.sender.find_delivery(channel, k, now - timedelta(hours=1))
        except Exception as exc:  # noqa: BLE001 - cannot look: post (an abandoned claim rarely reached Slack)
            log.warning("could not look for an earlier %s post: %s", k.kind, exc)
            return None

    return ctx.ledger.deliver(key, lambda k: post(ctx, channel, message, k), find_existing=find, also=also)
