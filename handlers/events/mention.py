"""An @mention in a channel: the answer goes to the asker only (ephemeral, in the thread), never the channel."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, conversation_key, message_for, send_chart


def register(app, deps: BotDeps) -> None:
    @app.event("app_mention")
    def on_mention(body, event, client):
        user_id, channel = event.get("user"), event.get("channel")
        if not user_id or event.get("bot_id"):
            return
        if not deps.seen_events.first_time(body):
            return
        thread_ts = event.get("thread_ts") or event.get("ts")
        answer = answer_for(deps, client, user_id, event.get("text", ""),
                            conversation=conversation_key(channel, user_id, thread_ts))
        client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts, **message_for(deps, answer))
        send_chart(client, answer, user_id=user_id, channel_id=channel, thread_ts=None)
