"""The integrity run (DESIGN §6): the data-integrity rules, reported to OPS_CHANNEL on INTEGRITY_CRON.

Each run compares the findings with `bot_integrity_findings` (by fingerprint): a finding not seen before, or
seen and resolved since, is *new*; a stored finding that no longer fires is *resolved*. The post has the counts,
the totals per rule, the new findings grouped by owner, what was resolved, and the deliveries (digests, nudges)
that failed since the last run (DeliveryLedger.failures); the full list goes as a CSV file in the post's thread.

The post goes through the ledger as Delivery("integrity", channel, run time to the minute, in
DEFAULT_TIMEZONE), and the finding table is updated in the same transaction that records the post: a re-run
of the same slot posts nothing, and a post that failed leaves the table as it was, so the next run reports the
same changes again. The CSV is its own delivery ("integrity_csv", same key), so a failed upload shows up in the
next run's failure list instead of re-posting the summary.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, insert, select, update

from db.schema import bot_delivery_ledger, bot_integrity_findings, reps
from i18n import _, use_locale
from metrics.integrity import RULES, integrity_findings
from render.nudges import DeliveryFailure, OpsReport, ReportFinding, findings_csv, ops_report_message
from scheduler.ledger import Delivery, SentRef
from scheduler.ops_channel import deliver_to_ops

log = logging.getLogger(__name__)

KIND = "integrity"
CSV_KIND = "integrity_csv"
FIRST_RUN_FAILURE_WINDOW = timedelta(days=7)
F = bot_integrity_findings


def run_key(now: datetime, settings) -> str:
    return now.astimezone(settings.tz).strftime("%Y-%m-%dT%H:%M")


def _last_run(conn: Connection, channel: str, period: str) -> datetime | None:
    L = bot_delivery_ledger
    return conn.execute(select(L.c.sent_at).where(L.c.kind == KIND, L.c.recipient == channel, L.c.status == "sent",
                                                  L.c.period != period)
                        .order_by(L.c.sent_at.desc()).limit(1)).scalar()


def _names(conn: Connection, recipients: set[str]) -> dict[str, str]:
    ids = sorted(int(r) for r in recipients if r.isdigit())
    if not ids:
        return {}
    return {str(r.id): r.name for r in conn.execute(select(reps.c.id, reps.c.name).where(reps.c.id.in_(ids)))}


def build_report(ctx, now: datetime, period: str, channel: str) -> tuple[OpsReport, dict]:
    """The report, and what to write to bot_integrity_findings once it is posted."""
    settings = ctx.settings
    with ctx.engine.connect() as conn:
        findings = integrity_findings(conn, today=now.astimezone(settings.tz).date(), now=now, settings=settings)
        known = {r.fingerprint: r for r in conn.execute(select(F))}
        last_run = _last_run(conn, channel, period)
    since = last_run or now - FIRST_RUN_FAILURE_WINDOW
    failures_rows = [r for r in ctx.ledger.failures(since)
                     if not (r.kind in (KIND, CSV_KIND) and r.period == period)]
    with ctx.engine.connect() as conn:
        names = _names(conn, {r.recipient for r in failures_rows})

    current = {}
    for f in findings:
        current.setdefault(f.fingerprint, f)  # a fingerprint is rule + record: one row each
    rows, inserts, reappeared, seen = [], [], [], []
    for fp, f in current.items():
        row = known.get(fp)
        is_new = row is None or row.resolved_at is not None
        first_seen = now if is_new else row.first_seen
        rows.append(ReportFinding(f.rule, RULES.get(f.rule, f.rule), f.record_type, f.record, f.record_name, f.owner,
                                  f.detail, f.amount, "new" if is_new else "open", first_seen, f.reason))
        values = {"b_fp": fp, "b_rule": f.rule, "b_record": f.record, "b_owner": f.owner_id, "b_detail": f.detail,
                  "b_reason": f.reason}
        if row is None:
            inserts.append({"fingerprint": fp, "rule": f.rule, "record": f.record, "owner_id": f.owner_id,
                            "detail": f.detail, "reason": f.reason, "first_seen": now, "last_seen": now})
        elif row.resolved_at is not None:
            reappeared.append(values)
        else:
            seen.append(values)
    gone = [r for fp, r in known.items() if r.resolved_at is None and fp not in current]
    with ctx.engine.connect() as conn:
        owners = _names(conn, {str(r.owner_id) for r in gone if r.owner_id is not None})
    resolved = [ReportFinding(r.rule, RULES.get(r.rule, r.rule), "", r.record, r.record,
                              owners.get(str(r.owner_id)) if r.owner_id is not None else None, r.detail or "",
                              None, "resolved", r.first_seen, r.reason) for r in gone]

    totals = {rule: (title, sum(1 for x in rows if x.rule == rule),
                     sum(1 for x in rows if x.rule == rule and x.status == "new"),
                     sum(1 for x in resolved if x.rule == rule))
              for rule, title in RULES.items()}
    failures = [DeliveryFailure(r.kind, names.get(r.recipient, r.recipient), r.period, r.attempts, r.status, r.error)
                for r in failures_rows]
    report = OpsReport(now, rows, resolved, totals, failures, last_run, settings.default_timezone)
    writes = {"inserts": inserts, "reappeared": reappeared, "seen": seen, "gone": [r.fingerprint for r in gone]}
    return report, writes


def _apply(conn: Connection, writes: dict, now: datetime) -> None:
    if writes["inserts"]:
        conn.execute(insert(F), writes["inserts"])
    if writes["reappeared"]:
        conn.execute(update(F).where(F.c.fingerprint == bindparam("b_fp")).values(
            rule=bindparam("b_rule"), record=bindparam("b_record"), owner_id=bindparam("b_owner"),
            detail=bindparam("b_detail"), reason=bindparam("b_reason"), first_seen=now, last_seen=now,
            resolved_at=None), writes["reappeared"])
    if writes["seen"]:
        conn.execute(update(F).where(F.c.fingerprint == bindparam("b_fp")).values(
            rule=bindparam("b_rule"), record=bindparam("b_record"), owner_id=bindparam("b_owner"),
            detail=bindparam("b_detail"), reason=bindparam("b_reason"), last_seen=now), writes["seen"])
    gone = writes["gone"]
    for i in range(0, len(gone), 500):
        conn.execute(update(F).where(F.c.fingerprint.in_(gone[i:i + 500])).values(resolved_at=now))


def run_integrity(ctx, now: datetime) -> dict:
    """The job. Returns counts: new, resolved, open, failures, and what happened to the post and the CSV."""
    now = now.astimezone(UTC)
    channel = (ctx.settings.ops_channel or "").strip()
    if not channel:
        return {"skipped": "OPS_CHANNEL is not set"}
    period = run_key(now, ctx.settings)
    key = Delivery(KIND, channel, period)
    csv_key = Delivery(CSV_KIND, channel, period)
    if ctx.ledger.status(key) == "sent":
        return {"post": "already_sent", "csv": _send_csv(ctx, key, csv_key, None, now), "period": period}

    report, writes = build_report(ctx, now, period, channel)
    with use_locale(ctx.settings.default_locale):  # the ops channel reads DEFAULT_LOCALE
        message = ops_report_message(report)
    csv_text = findings_csv(report.findings)

    outcome = deliver_to_ops(ctx, key, message, now, also=lambda conn, _ref: _apply(conn, writes, now))
    csv_outcome = _send_csv(ctx, key, csv_key, csv_text, now) if outcome in ("sent", "already_sent") else "skipped"
    return {"post": outcome, "csv": csv_outcome, "period": period, "new": len(report.new),
            "resolved": len(report.resolved), "open": len(report.findings), "failures": len(report.failures)}


def _send_csv(ctx, key: Delivery, csv_key: Delivery, csv_text: str | None, now: datetime) -> str:
    ref = ctx.ledger.sent_ref(key)
    if ref is None:
        return "skipped"
    if ctx.ledger.status(csv_key) == "sent":
        return "already_sent"
    if csv_text is None:  # a re-run after the post went out but the file did not: the current full list
        report, _writes = build_report(ctx, now, key.period, key.recipient)
        csv_text = findings_csv(report.findings)
    stamp = key.period.replace(":", "")
    with use_locale(ctx.settings.default_locale):
        title = _("Integrity findings {run}").format(run=key.period)

    def upload(claim: Delivery) -> SentRef:
        ctx.sender.upload(ref.channel, filename=f"integrity-{stamp}.csv", content=csv_text.encode("utf-8"),
                          title=title, thread_ts=ref.ts, delivery=claim)
        return ref

    return ctx.ledger.deliver(csv_key, upload)
