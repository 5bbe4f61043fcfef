"""Stalled-deal buttons: "Snooze 7 days", "Snooze 30 days", "Snooze until…" (opens the modal) and "Still active".

They act on every active alert of the deal, for the alert's rep or anyone above them in the manager chain;
anyone else is told, politely and privately, that it is not theirs to snooze. The nudge DM the deal was in is
then re-rendered (chat.update through the ledger's recorded ts). Buttons on a deal card carry the record id
instead of a nudge reference; they work the same, and confirm with a private message.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError

from errors import UserError
from handlers.deps import BotDeps, viewer_today
from handlers.identity import viewer_for_slack_user
from handlers.reply import speak_to
from i18n import _
from metrics.scopes import Viewer
from render.format import date_text
from render.nudges import parse_button_value, snooze_modal
from scheduler.alerts import ActionResult, acknowledge, check_action, snooze
from scheduler.context import JobContext
from scheduler.ledger import DeliveryLedger
from scheduler.nudges import update_nudges_for
from scheduler.sender import SlackSender

log = logging.getLogger(__name__)

CLICK = re.compile(r"^sales_(snooze_7|snooze_30|still_active)(\.\d+)?$")
CUSTOM = re.compile(r"^sales_snooze_custom(\.\d+)?$")
SNOOZE_DAYS = {"snooze_7": 7, "snooze_30": 30}
CUSTOM_DEFAULT_DAYS = 14
MAX_SNOOZE_DAYS = 365


def tell(body: dict, client, respond, text: str) -> None:
    """A private note to whoever clicked: through the response_url if there is one, else chat.postEphemeral."""
    try:
        if body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if channel:
            client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)
    except Exception:  # noqa: BLE001 - a note that cannot be delivered is only logged
        log.warning("could not tell %s: %s", body.get("user", {}).get("id"), text, exc_info=True)


def identify(deps: BotDeps, client, user_id: str):
    """(viewer, None) or (None, a sentence for the user)."""
    try:
        return viewer_for_slack_user(client, deps.engine, user_id), None
    except UserError as exc:
        return None, str(exc)
    except DBAPIError:
        error_id = uuid.uuid4().hex[:8]
        log.warning("data source unavailable (error id %s)", error_id, exc_info=True)
        return None, _("The sales data source is unavailable right now (error id {error_id}). Please try again "
                       "soon.").format(error_id=error_id)
    except Exception:  # noqa: BLE001 - Slack or network failure while identifying
        error_id = uuid.uuid4().hex[:8]
        log.exception("could not identify %s (error id %s)", user_id, error_id)
        return None, _("I couldn't check who you are right now (error id {error_id}). Please try again.").format(
            error_id=error_id)


def refusal(result: ActionResult, viewer: Viewer) -> str | None:
    """Why the click did nothing. A refused deal is named (with its owner) only to someone who may see every
    deal (ops, execs): a rep clicking a forged button learns nothing about another rep's deal."""
    if result.outcome == "unknown_deal":
        return _("I can't find that deal any more: it may have been deleted or merged in the CRM.")
    if result.outcome == "forbidden" and not viewer.sees_everything:
        return _("Sorry, that deal isn't yours or your team's: only its owner or their manager can snooze its "
                 "alerts or mark it still active.")
    if result.outcome == "forbidden":
        owner = result.owner_name or _("its owner")
        if result.deal_name:
            return _("Sorry, the alerts on “{deal}” belong to {owner}: only they or their manager can snooze them "
                     "or mark them still active.").format(deal=result.deal_name, owner=owner)
        return _("Sorry, the alerts on that deal belong to {owner}: only they or their manager can snooze them "
                 "or mark them still active.").format(owner=owner)
    if result.outcome == "not_flagged":
        if result.deal_name:
            return _("“{deal}” isn't flagged as stalled right now, so there's nothing to snooze.").format(
                deal=result.deal_name)
        return _("That deal isn't flagged as stalled right now, so there's nothing to snooze.")
    return None


def job_context(deps: BotDeps, client) -> JobContext:
    return JobContext(deps.engine, deps.settings, SlackSender(client), DeliveryLedger(deps.engine), deps.cache)


def refresh_messages(deps: BotDeps, client, result: ActionResult, period: str | None) -> int:
    if result.owner_id is None or result.opportunity_id is None:
        return 0
    try:
        return update_nudges_for(job_context(deps, client), result.owner_id, [result.opportunity_id],
                                 [period] if period else [])
    except Exception:  # noqa: BLE001 - the action is done; a stale message is only logged
        log.exception("could not update the nudge of rep %s", result.owner_id)
        return 0


def register(app, deps: BotDeps) -> None:
    def checked(body, action, client, respond, *, refresh_if_settled: bool):
        """Who clicked and whether they may act on that deal: (viewer, result, period, now), or None when the
        click was answered already (unknown person, refusal)."""
        opp_id, period, record = parse_button_value(action.get("value"))
        speak_to(deps, body["user"]["id"])  # the notes below are in the clicker's language
        viewer, problem = identify(deps, client, body["user"]["id"])
        if viewer is None:
            tell(body, client, respond, problem)
            return None
        now = datetime.now(UTC)
        result = check_action(deps.engine, viewer.rep_id, opportunity_id=opp_id, record=record,
                              settings=deps.settings, now=now)
        if result.outcome != "done":
            tell(body, client, respond, refusal(result, viewer))
            if refresh_if_settled and result.outcome == "not_flagged":
                refresh_messages(deps, client, result, period)
            return None
        return viewer, result, period, now

    @app.action(CLICK)
    def on_click(ack, body, action, client, respond):
        ack()
        kind = CLICK.match(action["action_id"]).group(1)
        click = checked(body, action, client, respond, refresh_if_settled=True)
        if click is None:
            return
        viewer, result, period, now = click
        if kind == "still_active":
            acknowledge(deps.engine, result.opportunity_id, actor_rep_id=viewer.rep_id, now=now)
            note = _("Got it: “{deal}” is still active. I'll ask again only if something changes on the "
                     "deal.").format(deal=result.deal_name)
        else:
            until = viewer_today(deps, viewer, now) + timedelta(days=SNOOZE_DAYS[kind])
            snooze(deps.engine, result.opportunity_id, until, actor_rep_id=viewer.rep_id, now=now)
            note = _("Snoozed “{deal}” until {date}.").format(deal=result.deal_name, date=date_text(until))
        if not refresh_messages(deps, client, result, period):
            tell(body, client, respond, note)

    @app.action(CUSTOM)
    def on_custom(ack, body, action, client, respond):
        ack()
        click = checked(body, action, client, respond, refresh_if_settled=False)
        if click is None:
            return
        viewer, result, period, now = click
        today = viewer_today(deps, viewer, now)
        meta = json.dumps({"o": result.opportunity_id, "p": period}, separators=(",", ":"))
        client.views_open(trigger_id=body["trigger_id"],
                          view=snooze_modal(result.deal_name or _("this deal"), meta,
                                            initial_date=today + timedelta(days=CUSTOM_DEFAULT_DAYS),
                                            min_date=today))
