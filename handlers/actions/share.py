"""“Share in channel”: re-ask as the person who clicked (permissions checked again) and post it publicly."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, message_for, send_chart
from i18n import _


def register(app, deps: BotDeps) -> None:
    @app.action("sales_share")
    def share(ack, body, action, client, respond):
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        answer = answer_for(deps, client, user_id, action.get("value", ""))
        if answer.kind in ("error", "refusal"):
            respond(response_type="ephemeral", replace_original=False, **message_for(deps, answer))
            return
        answer.actions = [a for a in answer.actions if a.kind not in ("share", "chart", "csv")]
        answer.context.append(_("shared by {user}").format(user=f"<@{user_id}>"))
        message = message_for(deps, answer)
        client.chat_postMessage(channel=channel, **message)
        send_chart(client, answer, user_id=user_id, channel_id=channel, public=True)
        respond(delete_original=True)
