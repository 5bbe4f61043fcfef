"""“Which Dana?” buttons: the question asked again for the person picked, as whoever clicked.

The button's value is the question with the name replaced (assistant.clarify); it is re-asked with the clicker's
rights, so a value edited to name someone outside their scope is refused like the same question typed. The
answer replaces the question's message; a refusal is said privately and leaves the buttons in place. In a DM or
a thread the pick becomes the conversation's last question, so follow-ups go on from it.
"""

from __future__ import annotations

import re

from handlers.deps import BotDeps
from handlers.reply import answer_for, conversation_key, message_for, send_chart

PICK = re.compile(r"^sales_pick(\.\d+)?$")


def register(app, deps: BotDeps) -> None:
    @app.action(PICK)
    def pick(ack, body, action, client, respond):
        ack()
        user_id = body["user"]["id"]
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        conversation = conversation_key(channel, user_id, container.get("thread_ts"))
        answer = answer_for(deps, client, user_id, action.get("value", ""), conversation=conversation)
        if answer.kind in ("error", "refusal"):
            respond(response_type="ephemeral", replace_original=False, **message_for(deps, answer))
            return
        respond(replace_original=True, **message_for(deps, answer))
        send_chart(client, answer, user_id=user_id, channel_id=channel, thread_ts=container.get("thread_ts"))
