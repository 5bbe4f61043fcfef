"""The stalled-deal nudge (DESIGN §6): one grouped DM per rep per local day, with buttons per deal.

`run_nudges(ctx, now)` is meant to run often (every few minutes). For each active person it decides whether a
nudge is due *for them*: a local weekday, at or after their send time (NUDGE_TIME, 09:00 local, or their own
`bot_subscriptions` row of kind "nudge"), outside QUIET_HOURS. If one is due and not yet sent today, it refreshes
the alert lifecycle (once per run) and sends their open alerts, grouped by deal, at most 10 deals plus
"and N more", through the delivery ledger (Delivery("nudge", rep id, local date)), so a re-run, a retry or a
second replica never sends it twice. Nothing is sent to a person with no open alert, nor to an inactive one.

The deals a nudge listed are kept in `bot_nudge_items`, so `update_nudges_for` can re-render the DM
(chat.update on the ts the ledger recorded) when one of them resolves, is snoozed or acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, delete, func, insert, select

from config import Settings
from db.languages import language_for
from db.schema import accounts, bot_alerts, bot_delivery_ledger, bot_nudge_items, bot_subscriptions, opportunities, reps
from i18n import use_locale
from metrics.stalled import RULES as STALLED_RULES
from render.nudges import NUDGE_MAX_DEALS, Nudge, NudgeDeal, NudgeReason, nudge_message
from scheduler.alerts import ACTIVE, mark_notified, open_alerts_by_deal, refresh_alerts, reps_with_open_alerts
from scheduler.ledger import Delivery
from scheduler.recipients import Recipient, SlackLanguages, recipients, resolve_slack_user

log = logging.getLogger(__name__)

KIND = "nudge"
NUDGE_TIME = "09:00"  # local send time unless the person chose another
ROLES = ("rep", "manager", "exec", "ops")  # anyone who owns stalled deals gets their nudge
DEFAULT_QUIET = (time(20, 0), time(7, 0))


def parse_hhmm(text: str | None) -> time | None:
    try:
        hours, minutes = (text or "").strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        return None


def quiet_window(settings: Settings) -> tuple[time, time] | None:
    """QUIET_HOURS "20:00-07:00" → (start, end); "off"/"none" → None; unreadable → the default window."""
    raw = (settings.quiet_hours or "").strip().lower()
    if raw in ("off", "none", "no", "0", "-"):
        return None
    start, _, end = raw.partition("-")
    a, b = parse_hhmm(start), parse_hhmm(end)
    if a is None or b is None:
        log.warning("QUIET_HOURS %r is not HH:MM-HH:MM; using 20:00-07:00", settings.quiet_hours)
        return DEFAULT_QUIET
    return (a, b) if a != b else None


def in_quiet_hours(t: time, window: tuple[time, time] | None) -> bool:
    if window is None:
        return False
    start, end = window
    t = t.replace(second=0, microsecond=0, tzinfo=None)
    if start < end:
        return start <= t < end
    return t >= start or t < end  # wraps midnight


def nudge_due(local: datetime, settings: Settings, send_time: time | None = None) -> bool:
    """A local weekday, at or after the send time, outside quiet hours."""
    send_time = send_time or parse_hhmm(NUDGE_TIME)
    if local.weekday() >= 5:
        return False
    if local.time().replace(tzinfo=None) < send_time:
        return False
    return not in_quiet_hours(local.time(), quiet_window(settings))


def _subscriptions(conn: Connection) -> dict[int, tuple[bool, time | None, date | None]]:
    rows = conn.execute(select(bot_subscriptions).where(bot_subscriptions.c.kind == KIND)).all()
    return {r.rep_id: (bool(r.enabled), parse_hhmm(r.send_time), r.paused_until) for r in rows}


def _sent(conn: Connection, periods: set[str]) -> set[tuple[str, str]]:
    if not periods:
        return set()
    L = bot_delivery_ledger
    rows = conn.execute(select(L.c.recipient, L.c.period)
                        .where(L.c.kind == KIND, L.c.status == "sent", L.c.period.in_(sorted(periods)))).all()
    return {(r.recipient, r.period) for r in rows}


# --- what a nudge shows ----------------------------------------------------------------------------------------

def _deal_rows(conn: Connection, ids: Iterable[int]) -> dict[int, object]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    o = opportunities
    rows = conn.execute(select(o.c.id, o.c.external_id, o.c.name, o.c.stage, o.c.amount, o.c.currency,
                               o.c.close_date, accounts.c.name.label("account"))
                        .select_from(o.outerjoin(accounts, accounts.c.id == o.c.account_id))
                        .where(o.c.id.in_(ids))).all()
    return {r.id: r for r in rows}


def nudge_deals(conn: Connection, rep_id: int, opportunity_ids: Iterable[int]) -> dict[int, NudgeDeal]:
    """Each deal as the rep's nudge shows it now: open (with its open alerts' reasons), snoozed, acknowledged
    or resolved (no active alert of this rep left)."""
    ids = sorted(set(opportunity_ids))
    deals = _deal_rows(conn, ids)
    A = bot_alerts
    alerts = conn.execute(select(A.c.opportunity_id, A.c.rule, A.c.status, A.c.detail, A.c.reason, A.c.snoozed_until,
                                 A.c.snooze_reason)
                          .where(A.c.rep_id == rep_id, A.c.opportunity_id.in_(ids))).all() if ids else []
    order = {rule: i for i, rule in enumerate(STALLED_RULES)}
    by_deal: dict[int, list] = {}
    for a in sorted(alerts, key=lambda a: (order.get(a.rule, 99), a.rule)):
        by_deal.setdefault(a.opportunity_id, []).append(a)
    out: dict[int, NudgeDeal] = {}
    for opp_id in ids:
        d = deals.get(opp_id)
        if d is None:
            continue
        active = [a for a in by_deal.get(opp_id, []) if a.status in ACTIVE]
        opened = [a for a in active if a.status == "open"]
        snoozed = [a for a in active if a.status == "snoozed"]
        status, until, why = "resolved", None, None
        if opened:
            status = "open"
        elif snoozed:
            status = "snoozed"
            until = max((a.snoozed_until for a in snoozed if a.snoozed_until), default=None)
            why = next((a.snooze_reason for a in snoozed if a.snooze_reason), None)
        elif active:
            status = "acknowledged"
        reasons = tuple(NudgeReason(a.rule, STALLED_RULES.get(a.rule, a.rule.replace("_", " ")), a.detail or "",
                                    a.reason)
                        for a in opened)
        out[opp_id] = NudgeDeal(opp_id, d.external_id, d.name, d.account, d.stage, d.amount, d.close_date,
                                reasons, status, until, why, d.currency)
    return out


def _order(deals: Iterable[NudgeDeal]) -> list[NudgeDeal]:
    """Biggest deals first (no amount last), then by name."""
    return sorted(deals, key=lambda d: (d.amount is None, -(d.amount or 0), d.name.lower(), d.opportunity_id))


def stored_nudge_message(conn: Connection, rep_id: int, period: str, settings: Settings) -> dict | None:
    """The nudge of `period` as it should look now (None if no such nudge was recorded)."""
    items = conn.execute(select(bot_nudge_items.c.opportunity_id, bot_nudge_items.c.position)
                         .where(bot_nudge_items.c.rep_id == rep_id, bot_nudge_items.c.period == period)
                         .order_by(bot_nudge_items.c.position)).all()
    if not items:
        return None
    name = conn.execute(select(reps.c.name).where(reps.c.id == rep_id)).scalar() or ""
    deals = nudge_deals(conn, rep_id, (i.opportunity_id for i in items))
    shown = [deals[i.opportunity_id] for i in items if i.position < NUDGE_MAX_DEALS and i.opportunity_id in deals]
    more = sum(1 for i in items if i.position >= NUDGE_MAX_DEALS
               and i.opportunity_id in deals and deals[i.opportunity_id].status == "open")
    return nudge_message(Nudge(name, period, tuple(shown), more, settings.crm_url_template or None,
                               settings.org_currency))


def update_nudges_for(ctx, rep_id: int, opportunity_ids: Iterable[int], extra_periods: Iterable[str] = ()) -> int:
    """Re-render (chat.update) the rep's latest nudge listing each of these deals, and the nudges of
    `extra_periods` (the one a button was clicked on). Returns how many messages were updated."""
    ids = sorted(set(opportunity_ids))
    N = bot_nudge_items
    with ctx.engine.connect() as conn:
        periods = set(p for p in extra_periods if p)
        if ids:
            rows = conn.execute(select(N.c.opportunity_id, func.max(N.c.period).label("period"))
                                .where(N.c.rep_id == rep_id, N.c.opportunity_id.in_(ids))
                                .group_by(N.c.opportunity_id)).all()
            periods |= {r.period for r in rows}
    with use_locale(language_for(ctx.engine, ctx.settings.default_locale, rep_id=rep_id)), \
            ctx.engine.connect() as conn:
        messages = {p: stored_nudge_message(conn, rep_id, p, ctx.settings) for p in sorted(periods)}
    updated = 0
    for period, message in messages.items():
        if message is None:
            continue
        ref = ctx.ledger.sent_ref(Delivery(KIND, str(rep_id), period))
        if ref is None:
            continue
        try:
            ctx.sender.update(ref, message)
            updated += 1
        except SlackApiError as exc:
            log.warning("could not update the nudge %s of rep %s: %s", period, rep_id, exc.response.get("error"))
    return updated


# --- the job ---------------------------------------------------------------------------------------------------

def _find_existing(ctx, channel: str, since: datetime):
    def find(key: Delivery):
        try:
            return ctx.sender.find_delivery(channel, key, since)
        except Exception as exc:  # noqa: BLE001 - cannot look: send (an abandoned claim rarely reached Slack)
            log.warning("could not look for an earlier %s in Slack: %s", key, exc)
            return None
    return find


def run_nudges(ctx, now: datetime) -> dict:
    """Send the nudges due at `now` (see the module doc). Returns counts of what happened."""
    now = now.astimezone(UTC)
    summary = {"due": 0, "sent": 0, "already_sent": 0, "no_alerts": 0, "no_slack_user": 0, "failed": 0,
               "busy": 0, "not_due": 0, "paused": 0, "interrupted": 0}
    people = recipients(ctx.engine, ctx.settings.default_timezone, roles=ROLES,
                        default_language=ctx.settings.default_locale)
    with ctx.engine.connect() as conn:
        subs = _subscriptions(conn)
    periods = {now.astimezone(p.tz).date().isoformat() for p in people}
    with ctx.engine.connect() as conn:
        sent = _sent(conn, periods)

    due: list[tuple[Recipient, str, time | None]] = []
    for person in people:
        enabled, send_time, paused_until = subs.get(person.rep_id, (True, None, None))
        local = now.astimezone(person.tz)
        if not enabled or (paused_until is not None and local.date() <= paused_until):
            summary["paused"] += 1
            continue
        if not nudge_due(local, ctx.settings, send_time):
            summary["not_due"] += 1
            continue
        if (str(person.rep_id), local.date().isoformat()) in sent:
            summary["already_sent"] += 1
            continue
        due.append((person, local.date().isoformat(), send_time))
    if not due:
        return summary

    # fresh alerts before anyone is told (once per run); the rules are org-wide SQL
    refresh_alerts(ctx, now)
    with ctx.engine.connect() as conn:
        flagged = reps_with_open_alerts(conn)

    learn = SlackLanguages(ctx.engine, ctx.sender, ctx.settings.default_locale)
    for person, period, send_time in ctx.until_stopping(due, summary, "the nudge run"):
        if person.rep_id not in flagged:
            summary["no_alerts"] += 1
            continue
        summary["due"] += 1
        try:
            outcome = _send_one(ctx, person, period, now, send_time, learn)
        except Exception:  # noqa: BLE001 - one person's failure must not stop the others
            log.exception("nudge for rep %s failed", person.rep_id)
            outcome = "failed"
        summary[outcome] = summary.get(outcome, 0) + 1
    return summary


def _send_one(ctx, person: Recipient, period: str, now: datetime, send_time: time | None = None,
              learn: SlackLanguages | None = None) -> str:
    # the person's Slack user (and Slack's tz, which may move their local day) by email when not known yet
    if not person.slack_user_id:
        person = resolve_slack_user(ctx.engine, ctx.sender, person)
        if not person.slack_user_id:
            return "no_slack_user"
        local = now.astimezone(person.tz)
        if local.date().isoformat() != period or not nudge_due(local, ctx.settings, send_time):
            return "not_due"
    with ctx.engine.connect() as conn:
        alerts = open_alerts_by_deal(conn, person.rep_id)
        if not alerts:
            return "no_alerts"
        deals = _order(d for d in nudge_deals(conn, person.rep_id, alerts).values() if d.status == "open")
    if not deals:
        return "no_alerts"
    shown, rest = deals[:NUDGE_MAX_DEALS], deals[NUDGE_MAX_DEALS:]
    if learn is not None:
        person = learn(person)
    with use_locale(person.language):
        message = nudge_message(Nudge(person.name, period, tuple(shown), len(rest),
                                      ctx.settings.crm_url_template or None, ctx.settings.org_currency))
    key = Delivery(KIND, str(person.rep_id), period)
    items = [{"rep_id": person.rep_id, "period": period, "opportunity_id": d.opportunity_id, "position": i}
             for i, d in enumerate(deals)]

    def record(conn: Connection, _ref) -> None:
        conn.execute(delete(bot_nudge_items).where(bot_nudge_items.c.rep_id == person.rep_id,
                                                   bot_nudge_items.c.period == period))
        conn.execute(insert(bot_nudge_items), items)
        mark_notified(conn, person.rep_id, (d.opportunity_id for d in deals), now)

    outcome = ctx.ledger.deliver(
        key,
        lambda k: ctx.sender.post(person.slack_user_id, message, k),
        find_existing=_find_existing(ctx, person.slack_user_id, now - timedelta(days=1)),
        also=record,
    )
    return outcome if outcome in ("sent", "already_sent", "busy", "failed") else "failed"

