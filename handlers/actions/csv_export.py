"""The “CSV” button: the same question with `csv`, its full rows uploaded as a file to the clicker's DM.

Like the Chart button, the value is asked again as the person who clicked, so it cannot reach someone else's
figures."""

from __future__ import annotations

from handlers.deps import BotDeps
from handlers.reply import answer_for, message_for, send_chart


def register(app, deps: BotDeps) -> None:
    @app.action("sales_csv")
    def csv_file(ack, body, action, client, respond):
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        answer = answer_for(deps, client, user_id, action.get("value", ""))
        if answer.kind in ("error", "refusal"):
            respond(response_type="ephemeral", replace_original=False, **message_for(deps, answer))
            return
        if answer.export is None:
            respond(response_type="ephemeral", replace_original=False, text="There are no rows to export here.")
            return
        answer.chart = None  # the CSV button sends the file only
        send_chart(client, answer, user_id=user_id, channel_id=channel)
