"""The "Submit my call" button (the weekly reminder, or a `/sales call` answer): opens the clicker's own modal.
The button names whose call it is; anyone else clicking it is refused, without a figure."""

from __future__ import annotations

from handlers.actions.alerts import identify, tell
from handlers.deps import BotDeps
from handlers.forecast_call import NOT_YOURS, open_call_modal
from handlers.reply import speak_to
from i18n import _
from render.calls import CALL_ACTION_ID, parse_call_reference


def register(app, deps: BotDeps) -> None:
    @app.action(CALL_ACTION_ID)
    def on_click(ack, body, action, client, respond):
        ack()
        rep_id, _quarter = parse_call_reference(action.get("value"))
        speak_to(deps, body["user"]["id"])  # the modal is in the clicker's language
        viewer, problem = identify(deps, client, body["user"]["id"])
        if viewer is None:
            tell(body, client, respond, problem)
            return
        speak_to(deps, body["user"]["id"], rep_id=viewer.rep_id)
        if rep_id != viewer.rep_id:
            tell(body, client, respond, _(NOT_YOURS))
            return
        problem = open_call_modal(deps, client, viewer, body.get("trigger_id"))
        if problem:
            tell(body, client, respond, problem)
