"""The stalled-deal alert lifecycle (DESIGN §6), kept in `bot_alerts`: one row per (rule, deal).

States and transitions:

    (rule starts firing)                → open          first_seen = now
    open ──"Snooze 7/30 days", modal──→ snoozed        snoozed_until, snooze_reason, acted_by
    open ──"Still active"─────────────→ acknowledged   acknowledged_state = the deal's state fingerprint
    snoozed ──snoozed_until ≤ the rep's local today──→ open (returns to the nudge)
    acknowledged ──deal state differs from acknowledged_state──→ open
    open | snoozed | acknowledged ──rule stops firing──→ resolved (resolved_at)
    resolved ──rule fires again──→ open (a new spell: first_seen = now, everything else cleared)
    open, nudged (notified_at) ≥ ESCALATE_AFTER_DAYS ago with no snooze or acknowledgement → escalated_at set:
        still open, and listed by `escalated_alerts` for the manager's digest.

Snoozing and "still active" are about the deal, not one reason: they apply to all of its active alerts, and a
rule that starts firing on a deal whose alerts are all snoozed (or all acknowledged) joins that snooze (or that
acknowledgement) instead of opening a new alert.

A deal's "state" for "still active" is its stage, amount, close date, last activity (the column, or its latest
activity row) and next step: a change to any of them reopens the alert.

`refresh_alerts(ctx, now)` is the scheduled job: it runs the stalled-deal rules org-wide, applies the
transitions above and updates the nudge DMs of deals that resolved. The snooze / acknowledge functions here are
what the Slack buttons call (handlers never build SQL).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, false, func, insert, or_, select, text, update

from config import Settings
from db.schema import accounts, activities, bot_alerts, opportunities, reps
from metrics.scopes import is_in_tree, tree_ids
from metrics.stalled import RULES as STALLED_RULES
from metrics.stalled import stalled_deals
from scheduler.recipients import cached_identities, zone

log = logging.getLogger(__name__)

ACTIVE = ("open", "acknowledged", "snoozed")
A = bot_alerts
_CHUNK = 500
_SYNC_LOCK_KEY = 0x5A1E5_0005  # pg_advisory_xact_lock: one alert sync at a time


@dataclass(frozen=True)
class EscalatedAlert:
    """An alert its rep has left open for ESCALATE_AFTER_DAYS or more since they were nudged."""

    alert_id: int
    rule: str
    rule_title: str
    opportunity_id: int
    record: str  # the deal's external id
    deal_name: str
    account: str | None
    amount: Decimal | None
    owner_id: int | None
    owner_name: str | None
    detail: str | None
    first_seen: datetime
    notified_at: datetime | None
    escalated_at: datetime | None
    days_ignored: int
    reason: dict | None = None  # the detail as data (metrics.reasons); None on rows stored before 0011


@dataclass(frozen=True)
class ActionResult:
    """What a button (or the modal) did. outcome: done | forbidden | not_flagged | unknown_deal."""

    outcome: str
    opportunity_id: int | None = None
    deal_name: str | None = None
    owner_id: int | None = None
    owner_name: str | None = None
    alerts: int = 0


def _chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- deal state (for "still active") ---------------------------------------------------------------------------

def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def deal_states(conn: Connection, opportunity_ids: Iterable[int]) -> dict[int, str]:
    """A fingerprint of each deal's state: stage, amount, close date, last activity, next step (JSON text)."""
    ids = sorted(set(opportunity_ids))
    out: dict[int, str] = {}
    o = opportunities
    latest = select(func.max(activities.c.occurred_at)).where(activities.c.opportunity_id == o.c.id).scalar_subquery()
    for chunk in _chunks(ids):
        rows = conn.execute(select(o.c.id, o.c.stage, o.c.amount, o.c.close_date, o.c.last_activity_at,
                                   latest.label("latest_activity"), o.c.next_step).where(o.c.id.in_(chunk))).all()
        for r in rows:
            last = max((x for x in (r.last_activity_at, r.latest_activity) if x is not None), default=None)
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
            state = {"stage": r.stage, "amount": _iso(r.amount), "close_date": _iso(r.close_date),
                     "last_activity": _iso(last), "next_step": (r.next_step or "").strip() or None}
            out[r.id] = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return out


# --- time zones ------------------------------------------------------------------------------------------------

def rep_zones(engine: Engine, settings: Settings, rep_ids: Iterable[int]):
    """rep id → ZoneInfo: Slack's tz (identity cache), else reps.timezone, else DEFAULT_TIMEZONE."""
    ids = sorted({r for r in rep_ids if r is not None})
    cached = cached_identities(engine)
    out = {}
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            for r in conn.execute(select(reps.c.id, reps.c.timezone).where(reps.c.id.in_(chunk))):
                slack_tz = cached.get(r.id, (None, None))[1]
                out[r.id] = zone(slack_tz or r.timezone, settings.default_timezone)
    return out


def local_today(now: datetime, tz) -> date:
    return now.astimezone(tz).date()


# --- the sync (findings → rows) --------------------------------------------------------------------------------

@dataclass
class SyncResult:
    new: int = 0
    reopened: int = 0
    resolved: int = 0
    escalated: int = 0
    firing: int = 0
    resolved_deals: set[tuple[int, int]] | None = None  # (rep id, opportunity id) whose alerts resolved


def sync_alerts(engine: Engine, findings: list, now: datetime, settings: Settings, *,
                only_opportunities: set[int] | None = None) -> SyncResult:
    """Apply the lifecycle to `findings` (stalled_deals output). With `only_opportunities`, only those deals'
    rows are touched (a button on a deal no refresh has seen yet); otherwise every active row that no longer
    fires is resolved."""
    result = SyncResult(resolved_deals=set())
    firing = {(f.rule, f.record_id): f for f in findings
              if only_opportunities is None or f.record_id in only_opportunities}
    result.firing = len(firing)
    with engine.begin() as conn:
        _one_sync_at_a_time(conn)
        query = select(A.c.id, A.c.rule, A.c.opportunity_id, A.c.rep_id, A.c.status, A.c.snoozed_until,
                       A.c.snooze_reason, A.c.acknowledged_at, A.c.acknowledged_state, A.c.acted_by)
        if only_opportunities is not None:
            query = query.where(A.c.opportunity_id.in_(sorted(only_opportunities)))
        existing = {(r.rule, r.opportunity_id): r for r in conn.execute(query)}
        holds = _holds(existing.values())

        inserts, reopen, touch, resolve = [], [], [], []
        for key, f in firing.items():
            row = existing.get(key)
            if row is None:
                inserts.append({"rule": f.rule, "opportunity_id": f.record_id, "rep_id": f.owner_id, "detail": f.detail,
                                "reason": f.reason, "first_seen": now, "last_seen": now, "updated_at": now,
                                **holds.get(f.record_id, {"status": "open"})})
            elif row.status == "resolved":
                reopen.append({"b_id": row.id, "b_rep": f.owner_id, "b_detail": f.detail, "b_reason": f.reason,
                               **{f"b_{k}": v for k, v in holds.get(f.record_id, _OPEN).items()}})
            else:
                touch.append({"b_id": row.id, "b_rep": f.owner_id, "b_detail": f.detail, "b_reason": f.reason})
        for key, row in existing.items():
            if key not in firing and row.status != "resolved":
                resolve.append(row.id)
                if row.rep_id is not None:
                    result.resolved_deals.add((row.rep_id, row.opportunity_id))

        if inserts:
            conn.execute(insert(A), inserts)
        if reopen:
            conn.execute(update(A).where(A.c.id == bindparam("b_id")).values(
                rep_id=bindparam("b_rep"), detail=bindparam("b_detail"), reason=bindparam("b_reason"),
                first_seen=now, last_seen=now, resolved_at=None, notified_at=None, escalated_at=None, updated_at=now,
                **{k: bindparam(f"b_{k}") for k in _OPEN},
            ), reopen)
        if touch:
            conn.execute(update(A).where(A.c.id == bindparam("b_id")).values(
                rep_id=bindparam("b_rep"), detail=bindparam("b_detail"), reason=bindparam("b_reason"),
                last_seen=now,
            ), touch)
        for chunk in _chunks(resolve):
            conn.execute(update(A).where(A.c.id.in_(chunk))
                         .values(status="resolved", resolved_at=now, escalated_at=None, updated_at=now))
        result.new, result.reopened, result.resolved = len(inserts), len(reopen), len(resolve)

    result.reopened += _wake_snoozed(engine, now, settings, only_opportunities)
    result.reopened += _reopen_changed(engine, now, only_opportunities)
    result.escalated = _escalate(engine, now, settings)
    return result


def _one_sync_at_a_time(conn: Connection) -> None:
    """Serialise syncs (the scheduled refresh, the nudge job's, a button's, another replica's) until the end of
    the transaction: two that read the same rows and then both insert the new ones would break the unique
    (rule, deal) key."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_KEY})
    else:  # SQLite: take the write lock before reading, with a write that changes nothing
        conn.execute(update(A).where(false()).values(id=A.c.id))


_OPEN = {"status": "open", "snoozed_until": None, "snooze_reason": None, "acknowledged_at": None,
         "acknowledged_state": None, "acted_by": None}


def _holds(rows) -> dict[int, dict]:
    """Deals whose active alerts are all snoozed or all acknowledged: a rule that starts firing on such a deal
    joins the snooze (or the "still active"), which was about the deal, not one reason."""
    by_deal: dict[int, list] = defaultdict(list)
    for r in rows:
        if r.status in ACTIVE:
            by_deal[r.opportunity_id].append(r)
    out = {}
    for opp_id, active in by_deal.items():
        kinds = {r.status for r in active}
        if kinds == {"snoozed"}:
            r = max(active, key=lambda r: r.snoozed_until or date.min)
            out[opp_id] = {**_OPEN, "status": "snoozed", "snoozed_until": r.snoozed_until,
                           "snooze_reason": r.snooze_reason, "acted_by": r.acted_by}
        elif kinds == {"acknowledged"}:
            r = active[0]
            out[opp_id] = {**_OPEN, "status": "acknowledged", "acknowledged_at": r.acknowledged_at,
                           "acknowledged_state": r.acknowledged_state, "acted_by": r.acted_by}
    return out


def _scope(query, only_opportunities):
    return query if only_opportunities is None else query.where(A.c.opportunity_id.in_(sorted(only_opportunities)))


def _reopen_values(now: datetime) -> dict:
    return {"status": "open", "snoozed_until": None, "snooze_reason": None, "acknowledged_at": None,
            "acknowledged_state": None, "notified_at": None, "escalated_at": None, "updated_at": now}


def _wake_snoozed(engine: Engine, now: datetime, settings: Settings, only_opportunities) -> int:
    """Snoozes that have ended (snoozed_until ≤ the rep's local today) return to open."""
    horizon = (now + timedelta(days=1)).date()  # no zone is more than a day ahead of UTC
    with engine.connect() as conn:
        rows = conn.execute(_scope(select(A.c.id, A.c.rep_id, A.c.snoozed_until)
                                   .where(A.c.status == "snoozed", or_(A.c.snoozed_until.is_(None),
                                                                        A.c.snoozed_until <= horizon)),
                                   only_opportunities)).all()
    if not rows:
        return 0
    zones = rep_zones(engine, settings, (r.rep_id for r in rows))
    default = zone(None, settings.default_timezone)
    due = [r.id for r in rows
           if r.snoozed_until is None or r.snoozed_until <= local_today(now, zones.get(r.rep_id, default))]
    with engine.begin() as conn:
        for chunk in _chunks(due):
            conn.execute(update(A).where(A.c.id.in_(chunk), A.c.status == "snoozed").values(**_reopen_values(now)))
    return len(due)


def _reopen_changed(engine: Engine, now: datetime, only_opportunities) -> int:
    """Acknowledged ("still active") alerts whose deal has changed since return to open."""
    with engine.connect() as conn:
        rows = conn.execute(_scope(select(A.c.id, A.c.opportunity_id, A.c.acknowledged_state)
                                   .where(A.c.status == "acknowledged"), only_opportunities)).all()
        if not rows:
            return 0
        states = deal_states(conn, (r.opportunity_id for r in rows))
    changed = [r.id for r in rows if states.get(r.opportunity_id) != r.acknowledged_state]
    with engine.begin() as conn:
        for chunk in _chunks(changed):
            conn.execute(update(A).where(A.c.id.in_(chunk), A.c.status == "acknowledged")
                         .values(**_reopen_values(now)))
    return len(changed)


def _escalate(engine: Engine, now: datetime, settings: Settings) -> int:
    cutoff = now - timedelta(days=settings.escalate_after_days)
    with engine.begin() as conn:
        return conn.execute(update(A).where(A.c.status == "open", A.c.escalated_at.is_(None),
                                            A.c.notified_at.is_not(None), A.c.notified_at <= cutoff)
                            .values(escalated_at=now)).rowcount or 0


def org_today(now: datetime, settings: Settings) -> date:
    return now.astimezone(settings.tz).date()


def refresh_alerts(ctx, now: datetime) -> dict:
    """The job: stalled-deal rules → bot_alerts lifecycle; updates the nudge DMs of deals that resolved."""
    now = now.astimezone(UTC)
    with ctx.engine.connect() as conn:
        findings = stalled_deals(conn, today=org_today(now, ctx.settings), now=now, settings=ctx.settings,
                                 cache=ctx.cache)
    result = sync_alerts(ctx.engine, findings, now, ctx.settings)
    updated = 0
    if result.resolved_deals:
        from scheduler.nudges import update_nudges_for  # the nudge module renders; avoid an import cycle

        by_rep: dict[int, set[int]] = defaultdict(set)
        for rep_id, opp_id in result.resolved_deals:
            by_rep[rep_id].add(opp_id)
        for rep_id, opp_ids in sorted(by_rep.items()):
            try:
                updated += update_nudges_for(ctx, rep_id, opp_ids)
            except Exception:  # noqa: BLE001 - one failed update must not stop the others
                log.exception("could not update the nudge of rep %s", rep_id)
    return {"firing": result.firing, "new": result.new, "reopened": result.reopened, "resolved": result.resolved,
            "escalated": result.escalated, "messages_updated": updated}


# --- what the buttons do ---------------------------------------------------------------------------------------

def _deal(conn: Connection, opportunity_id: int | None, record: str | None):
    o = opportunities
    query = (select(o.c.id, o.c.name, o.c.external_id, o.c.owner_id, reps.c.name.label("owner_name"))
             .select_from(o.outerjoin(reps, reps.c.id == o.c.owner_id)))
    if opportunity_id is not None:
        return conn.execute(query.where(o.c.id == opportunity_id)).first()
    if record:
        return conn.execute(query.where(o.c.external_id == record)).first()
    return None


def may_act(conn: Connection, actor_rep_id: int, alert_rep_id: int | None) -> bool:
    """The alert's rep, or anyone above them in the manager chain."""
    if alert_rep_id is None:
        return False
    return actor_rep_id == alert_rep_id or is_in_tree(conn, actor_rep_id, alert_rep_id)


def check_action(engine: Engine, actor_rep_id: int, *, opportunity_id: int | None = None,
                 record: str | None = None, settings: Settings | None = None,
                 now: datetime | None = None) -> ActionResult:
    """May `actor_rep_id` snooze or acknowledge this deal's alerts? Creates its alert rows when the deal is
    stalled but no refresh has recorded it yet (a button on `/sales deal`), and only for someone who may act on
    them: a refused click (a forged button value, say) changes nothing."""
    with engine.connect() as conn:
        deal = _deal(conn, opportunity_id, record)
        if deal is None:
            return ActionResult("unknown_deal")
        rows = conn.execute(select(A.c.rep_id).where(A.c.opportunity_id == deal.id, A.c.status.in_(ACTIVE))).all()
        rep_id = rows[0].rep_id if rows else deal.owner_id
        base = dict(opportunity_id=deal.id, deal_name=deal.name, owner_id=rep_id, owner_name=deal.owner_name)
        if not may_act(conn, actor_rep_id, rep_id):
            return ActionResult("forbidden", **base)
    if not rows and settings is not None:
        now = now or datetime.now(UTC)
        with engine.connect() as conn:
            findings = stalled_deals(conn, today=org_today(now, settings), now=now, settings=settings,
                                     owner_ids=[deal.owner_id] if deal.owner_id is not None else [])
        sync_alerts(engine, findings, now, settings, only_opportunities={deal.id})
        with engine.connect() as conn:
            rows = conn.execute(select(A.c.rep_id)
                                .where(A.c.opportunity_id == deal.id, A.c.status.in_(ACTIVE))).all()
    if not rows:
        return ActionResult("not_flagged", **base)
    return ActionResult("done", alerts=len(rows), **base)


def snooze(engine: Engine, opportunity_id: int, until: date, *, actor_rep_id: int, now: datetime,
           reason: str | None = None) -> int:
    """Snooze every active alert of the deal until `until` (it returns on that date). Returns rows changed."""
    with engine.begin() as conn:
        return conn.execute(update(A).where(A.c.opportunity_id == opportunity_id, A.c.status.in_(ACTIVE)).values(
            status="snoozed", snoozed_until=until, snooze_reason=(reason or "").strip()[:1000] or None,
            acknowledged_at=None, acknowledged_state=None, escalated_at=None, acted_by=actor_rep_id, updated_at=now,
        )).rowcount or 0


def acknowledge(engine: Engine, opportunity_id: int, *, actor_rep_id: int, now: datetime) -> int:
    """"Still active": hold every active alert of the deal until the deal's state changes."""
    with engine.begin() as conn:
        state = deal_states(conn, [opportunity_id]).get(opportunity_id)
        return conn.execute(update(A).where(A.c.opportunity_id == opportunity_id, A.c.status.in_(ACTIVE)).values(
            status="acknowledged", acknowledged_at=now, acknowledged_state=state, snoozed_until=None,
            snooze_reason=None, escalated_at=None, acted_by=actor_rep_id, updated_at=now,
        )).rowcount or 0


# --- reading ---------------------------------------------------------------------------------------------------

def open_alerts_by_deal(conn: Connection, rep_id: int) -> dict[int, list]:
    """The rep's open alerts, by deal (rule order as in metrics.stalled.RULES)."""
    order = {rule: i for i, rule in enumerate(STALLED_RULES)}
    rows = conn.execute(select(A.c.id, A.c.rule, A.c.opportunity_id, A.c.detail, A.c.reason)
                        .where(A.c.rep_id == rep_id, A.c.status == "open")).all()
    out: dict[int, list] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (order.get(r.rule, 99), r.rule)):
        out[r.opportunity_id].append(r)
    return dict(out)


def reps_with_open_alerts(conn: Connection) -> set[int]:
    return {r for (r,) in conn.execute(select(A.c.rep_id).where(A.c.status == "open").distinct()) if r is not None}


def mark_notified(conn: Connection, rep_id: int, opportunity_ids: Iterable[int], now: datetime) -> None:
    """The rep has been told about these deals' open alerts: start their escalation clock (if not running)."""
    for chunk in _chunks(sorted(set(opportunity_ids))):
        conn.execute(update(A).where(A.c.rep_id == rep_id, A.c.opportunity_id.in_(chunk), A.c.status == "open",
                                     A.c.notified_at.is_(None)).values(notified_at=now))


def escalated_alerts(conn: Connection, manager_rep_id: int, now: datetime, *,
                     after_days: int | None = None) -> list[EscalatedAlert]:
    """Alerts of the reps below `manager_rep_id` (the whole tree, not the manager's own) that escalated: open
    with no snooze or acknowledgement for ESCALATE_AFTER_DAYS since the rep was nudged (as stamped by
    refresh_alerts; or, with `after_days`, computed here). Longest ignored first."""
    o = opportunities
    tree = tree_ids(manager_rep_id).subquery()
    cond = [A.c.status == "open", A.c.notified_at.is_not(None), A.c.rep_id.in_(select(tree.c.id)),
            A.c.rep_id != manager_rep_id]
    if after_days is None:
        cond += [A.c.escalated_at.is_not(None), A.c.escalated_at <= now]
    else:
        cond.append(A.c.notified_at <= now - timedelta(days=after_days))
    rows = conn.execute(
        select(A.c.id, A.c.rule, A.c.opportunity_id, A.c.rep_id, A.c.detail, A.c.reason, A.c.first_seen,
               A.c.notified_at, A.c.escalated_at, o.c.external_id, o.c.name.label("deal_name"), o.c.amount,
               accounts.c.name.label("account"), reps.c.name.label("owner_name"))
        .select_from(A.join(o, o.c.id == A.c.opportunity_id).outerjoin(reps, reps.c.id == A.c.rep_id)
                     .outerjoin(accounts, accounts.c.id == o.c.account_id))
        .where(and_(*cond))
    ).all()
    out = []
    for r in rows:
        notified = r.notified_at
        out.append(EscalatedAlert(
            alert_id=r.id, rule=r.rule, rule_title=STALLED_RULES.get(r.rule, r.rule.replace("_", " ")),
            opportunity_id=r.opportunity_id, record=r.external_id, deal_name=r.deal_name, account=r.account,
            amount=r.amount, owner_id=r.rep_id, owner_name=r.owner_name, detail=r.detail, reason=r.reason,
            first_seen=r.first_seen,
            notified_at=notified, escalated_at=r.escalated_at,
            days_ignored=max(0, (now - notified).days) if notified else 0,
        ))
    out.sort(key=lambda e: (-e.days_ignored, e.owner_name or "", e.deal_name, e.rule))
    return out
