"""The weekly forecast-call reminder (DESIGN §6): one DM per caller per call week, at FORECAST_CALL_TIME on
FORECAST_CALL_DAY in their own time zone, stating the deadline, with a button that opens the call modal.

`run_call_reminders(ctx, now)` is a frequent idempotent tick. A reminder is due from the person's local call
instant until their deadline (a bot that was down catches up, outside quiet hours), unless they have already
called this week. Each goes through the delivery ledger keyed Delivery("forecast_call", rep id, week), so a
re-run, a retry or a second replica never sends it twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.schema import bot_delivery_ledger
from i18n import use_locale
from render.calls import reminder_message
from scheduler.forecast_calls import Caller, Org, call_form, call_week, load_org, roll_up
from scheduler.ledger import Delivery
from scheduler.nudges import in_quiet_hours, quiet_window
from scheduler.recipients import Recipient, SlackLanguages, resolve_slack_user

log = logging.getLogger(__name__)
KIND = "forecast_call"


def reminder_key(rep_id: int, week_of) -> Delivery:
    return Delivery(KIND, str(rep_id), week_of.isoformat())


def _sent(engine, keys: list[Delivery]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    L = bot_delivery_ledger
    with engine.connect() as conn:
        rows = conn.execute(select(L.c.recipient, L.c.period).where(
            L.c.kind == KIND, L.c.status == "sent", L.c.period.in_(sorted({k.period for k in keys})),
            L.c.recipient.in_(sorted({k.recipient for k in keys})))).all()
    return {(r.recipient, r.period) for r in rows}


def run_call_reminders(ctx, now: datetime) -> dict:
    """Send the reminders due at `now`. Returns counts of what happened."""
    now = now.astimezone(UTC)
    summary = {"sent": 0, "already_sent": 0, "already_called": 0, "not_due": 0, "quiet": 0, "no_slack_user": 0,
               "failed": 0, "busy": 0, "interrupted": 0}
    org = load_org(ctx.engine, ctx.settings, now.astimezone(ctx.settings.tz).date())
    window = quiet_window(ctx.settings)
    due: list[tuple[Caller, Delivery]] = []
    for caller in org.callers.values():
        week = call_week(ctx.settings, caller.tz, now)
        if not week.opens_at <= now < week.deadline:
            summary["not_due"] += 1
        elif now - week.opens_at > timedelta(minutes=30) and in_quiet_hours(now.astimezone(caller.tz).time(), window):
            summary["quiet"] += 1
        else:
            due.append((caller, reminder_key(caller.rep_id, week.week_of)))
    sent = _sent(ctx.engine, [k for _, k in due])
    due = [(c, k) for c, k in due if (k.recipient, k.period) not in sent]
    summary["already_sent"] += len(sent)
    if not due:
        return summary
    called = roll_up(ctx.engine, ctx.settings, org, [c.rep_id for c, _ in due], now, figures=False)
    learn = SlackLanguages(ctx.engine, ctx.sender, ctx.settings.default_locale)
    for caller, key in ctx.until_stopping(due, summary, "the forecast-call reminder run"):
        if called.lines[caller.rep_id].call is not None:
            summary["already_called"] += 1
            continue
        try:
            outcome = _send_one(ctx, org, caller, key, now, learn)
        except Exception:  # noqa: BLE001 - one person's failure must not stop the others
            log.exception("forecast-call reminder for rep %s failed", caller.rep_id)
            outcome = "failed"
        summary[outcome] = summary.get(outcome, 0) + 1
    return summary


def _send_one(ctx, org: Org, caller: Caller, key: Delivery, now: datetime, learn: SlackLanguages) -> str:
    person = Recipient(caller.rep_id, caller.name, caller.email, caller.role, caller.slack_user_id, caller.tz,
                       caller.language)
    if not person.slack_user_id:
        person = resolve_slack_user(ctx.engine, ctx.sender, person)
        if not person.slack_user_id:
            return "no_slack_user"
    slack_user = person.slack_user_id
    with use_locale(learn(person).language):
        message = reminder_message(call_form(ctx.engine, ctx.settings, org, caller, now))

    def find(k: Delivery):
        try:
            return ctx.sender.find_delivery(slack_user, k, now - timedelta(days=7))
        except Exception as exc:  # noqa: BLE001 - cannot look: send (an abandoned claim rarely reached Slack)
            log.warning("could not look for an earlier %s in Slack: %s", k, exc)
            return None

    outcome = ctx.ledger.deliver(key, lambda k: ctx.sender.post(slack_user, message, k), find_existing=find)
    return outcome if outcome in ("sent", "already_sent", "busy", "failed") else "failed"
