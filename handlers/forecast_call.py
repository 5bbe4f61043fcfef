"""Opening the forecast-call modal for whoever asked (`/sales call`, the reminder's button, an answer's button).

A call is always the asker's own: a button or form naming anyone else is refused before any figure is read.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError

from handlers.deps import BotDeps, viewer_today
from handlers.reply import speak_to
from i18n import N_, _
from metrics.scopes import Viewer
from render.calls import call_modal
from scheduler.forecast_calls import call_form, load_org, no_quota

log = logging.getLogger(__name__)

NOT_YOURS = N_("That forecast call isn't yours, so I can't open or take it for you. `/sales call` opens your own.")


def open_call_modal(deps: BotDeps, client, viewer: Viewer, trigger_id: str | None) -> str | None:
    """Open the viewer's call modal, in their language; None when it opened, else a sentence for them."""
    speak_to(deps, None, rep_id=viewer.rep_id)
    now = datetime.now(UTC)
    org = load_org(deps.engine, deps.settings, viewer_today(deps, viewer, now))
    caller = org.callers.get(viewer.rep_id)
    if caller is None:
        return no_quota(org.quarter.label)
    view = call_modal(call_form(deps.engine, deps.settings, org, caller, now))
    if not trigger_id:
        return _("I couldn't open the form from here: use `/sales call`.")
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("could not open the call modal for %s: %s", viewer.rep_id, exc.response.get("error"))
        return _("Slack didn't let me open the form (the click may have timed out): try `/sales call` again.")
    return None
