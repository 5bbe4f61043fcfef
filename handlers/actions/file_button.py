"""The Chart and CSV buttons: the button's value is a question like any other, asked again as the person who
clicked (so a value edited to name someone else's figures is refused like the same question typed), and the file
it yields goes to them privately."""

from __future__ import annotations

from collections.abc import Callable

from handlers.deps import BotDeps
from handlers.reply import answer_for, message_for, send_chart
from i18n import _
from render.answers import Answer


def register_file_button(app, deps: BotDeps, action_id: str, has_file: Callable[[Answer], bool], missing: str,
                         prepare: Callable[[Answer], None] = lambda answer: None) -> None:
    @app.action(action_id)
    def file_button(ack, body, action, client, respond):
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        answer = answer_for(deps, client, user_id, action.get("value", ""))
        if answer.kind in ("error", "refusal"):
            respond(response_type="ephemeral", replace_original=False, **message_for(deps, answer))
            return
        if not has_file(answer):
            respond(response_type="ephemeral", replace_original=False, text=_(missing))
            return
        prepare(answer)
        send_chart(client, answer, user_id=user_id, channel_id=channel)
