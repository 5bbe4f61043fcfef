"""The “Chart” button: the same question with a chart, delivered privately.

The button's value is a question like any other: it is asked again as the person who clicked, so a value edited
to name someone else's figures is refused like the same question typed."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, message_for, send_chart


def register(app, deps: BotDeps) -> None:
    @app.action("sales_chart")
    def chart(ack, body, action, client, respond):
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        answer = answer_for(deps, client, user_id, action.get("value", ""))
        if answer.kind in ("error", "refusal"):
            respond(response_type="ephemeral", replace_original=False, **message_for(deps, answer))
            return
        if answer.chart is None:
            respond(response_type="ephemeral", replace_original=False, text="There is no chart for this answer.")
            return
        send_chart(client, answer, user_id=user_id, channel_id=channel)
