"""`/sales …`: ack at once, answer after the ack, ephemeral; a chart goes to the asker privately."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, message_for, reply_privately, send_chart
from i18n import _


def register(app, deps: BotDeps) -> None:
    @app.command("/sales")
    def sales(ack, command, respond, client):
        ack()
        user_id = command["user_id"]
        answer = answer_for(deps, client, user_id, "/sales " + command.get("text", ""))
        reply_privately(client, respond, message_for(deps, answer), user_id=user_id,
                        channel_id=command.get("channel_id"))
        if answer.chart is not None:
            where = send_chart(client, answer, user_id=user_id, channel_id=command.get("channel_id"))
            if where and where != command.get("channel_id"):
                respond(response_type="ephemeral", replace_original=False,
                        text=_("I sent the chart to you in a direct message, so only you can see it."))
