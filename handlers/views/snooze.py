"""The "Snooze until…" modal's submission: a date after today (within a year) and a reason, stored on the deal's
alerts; the nudge DM is then re-rendered. Problems go back to the modal as field errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

from handlers.actions.alerts import MAX_SNOOZE_DAYS, identify, refresh_messages, refusal
from handlers.deps import BotDeps, viewer_today
from handlers.reply import speak_to
from i18n import _
from render.nudges import (
    SNOOZE_CALLBACK_ID,
    SNOOZE_DATE_ACTION,
    SNOOZE_DATE_BLOCK,
    SNOOZE_REASON_ACTION,
    SNOOZE_REASON_BLOCK,
)
from scheduler.alerts import check_action, snooze

log = logging.getLogger(__name__)


def _field(values: dict, block: str, action: str, key: str):
    return ((values.get(block) or {}).get(action) or {}).get(key)


def register(app, deps: BotDeps) -> None:
    @app.view(SNOOZE_CALLBACK_ID)
    def on_submit(ack, body, view, client):
        values = (view.get("state") or {}).get("values") or {}
        picked = _field(values, SNOOZE_DATE_BLOCK, SNOOZE_DATE_ACTION, "selected_date")
        reason = (_field(values, SNOOZE_REASON_BLOCK, SNOOZE_REASON_ACTION, "value") or "").strip()
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            opp_id = int(meta["o"])
            period = meta.get("p") if isinstance(meta.get("p"), str) else None
        except (ValueError, KeyError, TypeError):
            ack(response_action="errors",
                errors={SNOOZE_DATE_BLOCK: _("This form has expired: click the button again.")})
            return
        speak_to(deps, body["user"]["id"])  # the field errors are in the person's language
        viewer, problem = identify(deps, client, body["user"]["id"])
        if viewer is None:
            ack(response_action="errors", errors={SNOOZE_DATE_BLOCK: problem[:150]})
            return
        now = datetime.now(UTC)
        today = viewer_today(deps, viewer, now)
        errors = {}
        try:
            until = date.fromisoformat(picked or "")
        except ValueError:
            until = None
            errors[SNOOZE_DATE_BLOCK] = _("Pick the date the deal should come back.")
        if until is not None and until <= today:
            errors[SNOOZE_DATE_BLOCK] = _("Pick a date after today.")
        elif until is not None and until > today + timedelta(days=MAX_SNOOZE_DAYS):
            errors[SNOOZE_DATE_BLOCK] = _("Pick a date within the next year.")
        if not reason:
            errors[SNOOZE_REASON_BLOCK] = _("Say why, so your manager knows what's going on.")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        result = check_action(deps.engine, viewer.rep_id, opportunity_id=opp_id, settings=deps.settings, now=now)
        if result.outcome != "done":
            why = refusal(result, viewer) or _("Not possible.")
            ack(response_action="errors", errors={SNOOZE_DATE_BLOCK: why[:150]})
            return
        ack()
        snooze(deps.engine, result.opportunity_id, until, actor_rep_id=viewer.rep_id, now=now, reason=reason)
        if not refresh_messages(deps, client, result, period) and result.owner_id is not None:
            log.info("snoozed deal %s until %s; no nudge message to update", opp_id, until)
