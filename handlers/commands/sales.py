"""`/sales …`: ack at once, answer after the ack, ephemeral; a chart or CSV file goes to the asker privately.
`/sales call` opens the forecast-call modal with the command's trigger_id (the answer, with its button, is the
fallback)."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.grammar import parse_request
from handlers.actions.alerts import identify
from handlers.deps import BotDeps
from handlers.forecast_call import open_call_modal
from handlers.reply import answer_for, message_for, reply_privately, send_chart
from i18n import _


def _asks_for_call_form(deps: BotDeps, text: str) -> bool:
    today = datetime.now(UTC).astimezone(deps.settings.tz).date()
    return parse_request(text, today, deps.settings.fiscal_year_start_month).intent == "call"


def register(app, deps: BotDeps) -> None:
    @app.command("/sales")
    def sales(ack, command, respond, client):
        ack()
        user_id = command["user_id"]
        text = "/sales " + command.get("text", "")
        if _asks_for_call_form(deps, text):  # the trigger_id lasts 3 s: open the modal before anything else
            viewer, _problem = identify(deps, client, user_id)
            if viewer is not None and open_call_modal(deps, client, viewer, command.get("trigger_id")) is None:
                return
        answer = answer_for(deps, client, user_id, text)
        reply_privately(client, respond, message_for(deps, answer), user_id=user_id,
                        channel_id=command.get("channel_id"))
        where = send_chart(client, answer, user_id=user_id, channel_id=command.get("channel_id"))
        if where and where != command.get("channel_id"):
            if answer.export is None:
                text = _("I sent the chart to you in a direct message, so only you can see it.")
            else:
                text = (_("I sent the chart and the CSV file to you in a direct message, so only you can see them.")
                        if answer.chart is not None else
                        _("I sent the CSV file to you in a direct message, so only you can see it."))
            respond(response_type="ephemeral", replace_original=False, text=text)
