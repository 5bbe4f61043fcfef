"""The forecast-call modal's submission: the caller's own commit and best case (and a note) for the quarter,
stored as a new submission (never overwriting one), marked late after the week's deadline, confirmed by DM.
Problems go back to the modal as field errors; a form naming someone else is refused without a figure."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from assistant.plain_text import plain_text
from errors import UserError
from handlers.actions.alerts import identify
from handlers.deps import BotDeps, viewer_today
from handlers.forecast_call import NOT_YOURS
from handlers.reply import private_channel_for, speak_to
from i18n import _
from render.calls import (
    AMOUNT_ACTION,
    BEST_CASE_BLOCK,
    CALL_CALLBACK_ID,
    COMMIT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    NOTE_MAX,
    parse_call_reference,
)
from render.format import money_exact
from scheduler.forecast_calls import Call, call_week, load_org, no_quota, parse_amount, record_call, system_figures

log = logging.getLogger(__name__)


def _value(values: dict, block: str, action: str) -> str | None:
    return ((values.get(block) or {}).get(action) or {}).get("value")


def confirmation(call: Call, quarter_label: str, deadline: str, currency: str) -> str:
    m = lambda v: money_exact(v, currency)  # noqa: E731
    text = _("Got it: your call for {quarter} is commit {commit} · best case {best_case} (the system's: commit "
             "{system_commit} · best case {system_best_case}).").format(
        quarter=quarter_label, commit=m(call.commit), best_case=m(call.best_case),
        system_commit=m(call.system_commit), system_best_case=m(call.system_best_case))
    if call.late:
        text += " " + _("It came after the deadline ({deadline}), so it is marked late.").format(deadline=deadline)
    return text + " " + _("Earlier calls are kept; `/sales calls` shows the roll-up.")


def register(app, deps: BotDeps) -> None:
    @app.view(CALL_CALLBACK_ID)
    def on_submit(ack, body, view, client):
        values = (view.get("state") or {}).get("values") or {}
        rep_id, quarter_start = parse_call_reference(view.get("private_metadata"))
        if rep_id is None or quarter_start is None:
            ack(response_action="errors", errors={COMMIT_BLOCK: _("This form has expired: open it again with "
                                                                  "/sales call.")})
            return
        viewer, problem = identify(deps, client, body["user"]["id"])
        if viewer is None:
            ack(response_action="errors", errors={COMMIT_BLOCK: problem[:150]})
            return
        speak_to(deps, body["user"]["id"], rep_id=viewer.rep_id)
        if rep_id != viewer.rep_id:
            ack(response_action="errors", errors={COMMIT_BLOCK: _(NOT_YOURS)[:150]})
            return
        now = datetime.now(UTC)
        today = viewer_today(deps, viewer, now)
        org = load_org(deps.engine, deps.settings, today)
        caller = org.callers.get(viewer.rep_id)
        if caller is None:
            ack(response_action="errors", errors={COMMIT_BLOCK: no_quota(org.quarter.label)[:150]})
            return
        if quarter_start != org.quarter.start:
            ack(response_action="errors", errors={COMMIT_BLOCK: _(
                "This form was for another quarter: {quarter} is on now. Open it again with /sales call.").format(
                quarter=org.quarter.label)})
            return
        errors, amounts = {}, {}
        for block in (COMMIT_BLOCK, BEST_CASE_BLOCK):
            try:
                amounts[block] = parse_amount(_value(values, block, AMOUNT_ACTION))
            except UserError as exc:
                errors[block] = str(exc)
        if not errors and amounts[BEST_CASE_BLOCK] < amounts[COMMIT_BLOCK]:
            errors[BEST_CASE_BLOCK] = _("Best case can't be below commit: it is commit plus the upside.")
        note = plain_text(_value(values, NOTE_BLOCK, NOTE_ACTION) or "").strip()
        if len(note) > NOTE_MAX:
            errors[NOTE_BLOCK] = _("Keep the note under {count} characters.").format(count=f"{NOTE_MAX:,}")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        with deps.engine.connect() as conn:
            system = system_figures(conn, caller, org.quarter, today, deps.settings)
        call = record_call(deps.engine, deps.settings, caller, org.quarter, commit=amounts[COMMIT_BLOCK],
                           best_case=amounts[BEST_CASE_BLOCK], note=note, system=system,
                           submitted_by=viewer.rep_id, now=now)
        deadline = call_week(deps.settings, caller.tz, now).deadline_text()
        text = confirmation(call, org.quarter.label, deadline, deps.settings.org_currency)
        try:
            client.chat_postMessage(channel=private_channel_for(client, None, body["user"]["id"]), text=text)
        except Exception:  # noqa: BLE001 - the call is stored; a lost confirmation is only logged
            log.warning("could not confirm the call of rep %s", viewer.rep_id, exc_info=True)
