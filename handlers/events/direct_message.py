"""A direct message to the bot: answered in the message's thread."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, conversation_key, message_for, send_chart


def register(app, deps: BotDeps) -> None:
    @app.event("message")
    def on_message(body, event, client):
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        if not deps.seen_events.first_time(body):
            return
        user_id, channel = event.get("user"), event.get("channel")
        thread_ts = event.get("thread_ts") or event.get("ts")
        answer = answer_for(deps, client, user_id, event.get("text", ""),
                            conversation=conversation_key(channel, user_id))
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message_for(deps, answer))
        send_chart(client, answer, user_id=user_id, channel_id=channel, thread_ts=thread_ts)
