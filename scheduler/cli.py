"""`python bot.py digest …` and `python bot.py jobs` (DESIGN §9).

digest [--dry-run] [--date D] [--all | --to EMAIL] [--json]
    default   the digests due now: local send time passed today (their own today), not yet sent
    --all     every digest of day D (default: each person's local today) not yet sent, whatever the local time
    --to      one person's digest of day D, whatever the local time
    --date    D as YYYY-MM-DD (or today / yesterday / tomorrow): each person's local date D
    --dry-run print exactly what would be sent (the message as text; with --json the Slack payloads as a JSON
              list of {"to", "kind", "date", "text", "blocks", "chart"}) and send nothing
    without --dry-run it sends through the same delivery ledger as the scheduler, so two runs at once (or a
    run while the scheduler is running) still send each digest once.

jobs
    the scheduled jobs, their schedule and next run times (and whether a replica is leading); no Slack needed.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, inspect, select, text

from config import Settings
from errors import UserError
from i18n import N_, _, ngettext
from render.format import day_text

NEEDS_SLACK = N_("Sending digests needs the Slack settings: set SLACK_BOT_TOKEN (and SLACK_API_URL if Slack is "
                 "reached through a proxy). Use --dry-run to see the digests without sending them.")


def parse_day(text_: str | None, settings: Settings) -> date | None:
    if not text_:
        return None
    word = text_.strip().lower()
    today = datetime.now(settings.tz).date()
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if word in relative:
        return today + timedelta(days=relative[word])
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise UserError(_("--date wants a date like 2026-03-10 (or today, yesterday, tomorrow), not {text!r}.")
                        .format(text=text_)) from None


def _json_default(value):
    return str(value)


def run_digest_command(args, settings: Settings, out=None, err=None, slack_client=None) -> int:
    """`slack_client` builds the WebClient for a real send; bot.py passes it (the scheduler never imports handlers)."""
    from db.engine import get_engine
    from db.schema import reps
    from scheduler.context import JobContext
    from scheduler.digest_schedule import DIGEST_KINDS, KIND_LABELS
    from scheduler.digests import run_digests

    out, err = out or sys.stdout, err or sys.stderr
    if not args.dry_run and not settings.slack_bot_token:
        raise UserError(_(NEEDS_SLACK))
    day = parse_day(args.date, settings)
    engine = get_engine(settings.database_url)
    if args.to:
        with engine.connect() as conn:
            row = conn.execute(select(reps.c.name, reps.c.role, reps.c.active)
                               .where(func.lower(reps.c.email) == args.to.strip().lower())).first()
        if row is None:
            raise UserError(_("No one with the email {email!r} is in the sales database.").format(email=args.to))
        if row.role not in DIGEST_KINDS:
            raise UserError(_("{name} is a {role}: digests go to managers (morning) and execs (weekly).").format(
                name=row.name, role=row.role))
        if not row.active:
            raise UserError(_("{name} is inactive, so gets no digest.").format(name=row.name))
    if args.dry_run:
        from slack_sdk import WebClient

        client = WebClient(token="dry-run")  # never called: a dry run talks to no one
    else:
        if slack_client is None:
            raise UserError(_("Sending a digest needs a Slack client; run it through `python bot.py digest`."))
        client = slack_client(settings)
    ctx = JobContext.build(engine, settings, client)
    summary = run_digests(ctx, datetime.now(UTC), day=day, whenever=bool(args.all or args.to),
                          emails=[args.to] if args.to else None, dry_run=args.dry_run, respect_backoff=False)
    outcomes = summary["outcomes"]
    if args.dry_run:
        if args.json:
            payload = [{"to": o.to, "name": o.name, "kind": o.kind, "date": o.date.isoformat(),
                        **o.digest.message,
                        "chart": None if o.digest.chart is None else {
                            "kind": o.digest.chart.kind, "title": o.digest.chart.title,
                            "filename": o.digest.chart_filename}}
                       for o in outcomes if o.digest is not None]
            json.dump(payload, out, indent=2, default=_json_default)
            out.write("\n")
        else:
            from render.text import answer_to_text

            for o in outcomes:
                if o.digest is None:
                    continue
                d = o.digest
                print("──── " + _("to {who} · {kind} · {day}").format(who=o.to or o.name, kind=_(KIND_LABELS[o.kind]),
                                                                     day=day_text(o.date, year=True)) + " ────",
                      file=out)
                print(answer_to_text(d.answer, crm_url_template=settings.crm_url_template or None), file=out)
                if d.chart is not None:
                    print(_("[chart {file}: “{title}”, uploaded after the message]").format(
                        file=d.chart_filename, title=d.chart.title), file=out)
                print(file=out)
        built = sum(1 for o in outcomes if o.digest is not None)
        print(ngettext("dry run: {n} digest would be sent; nothing was sent.",
                       "dry run: {n} digests would be sent; nothing was sent.", built).format(n=built)
              + _not_sent_note(summary), file=err)
    else:
        if args.json:
            json.dump([o.as_dict() for o in outcomes], out, indent=2, default=_json_default)
            out.write("\n")
        else:
            for o in outcomes:
                reason = f"  ({o.shown_reason})" if o.shown_reason else ""
                print(f"{o.status:<13} {o.to or o.name:<40} {_(KIND_LABELS[o.kind]):<20} {o.date}{reason}", file=out)
        counts = {k: summary[k] for k in ("sent", "already_sent", "busy", "failed", "gave_up", "error") if summary[k]}
        print("digests: " + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()) or "nothing to send")
              + _not_sent_note(summary), file=err)
    errors = [o for o in outcomes if o.status in ("error", "gave_up")] + (
        [o for o in outcomes if o.status == "failed"] if not args.dry_run else [])
    if args.to and not outcomes:
        reasons = [o.shown_reason or o.status for o in summary["not_sent"]]
        print(_("{who}: no digest to send ({reasons}).").format(who=args.to, reasons="; ".join(reasons)
                                                                 or _("nothing due")), file=err)
    if errors:
        print(f"error: {len(errors)} digest{'s' if len(errors) != 1 else ''} could not be built or sent "
              f"(see above); failed sends are retried on the next run.", file=err)
        return 1
    return 0


def _not_sent_note(summary: dict) -> str:
    skipped = summary.get("skipped") or {}
    if not skipped:
        return ""
    return " " + _("Not sent: {reasons}.").format(reasons=", ".join(f"{_(reason)} {n}"
                                                                  for reason, n in sorted(skipped.items())))


# ---------------------------------------------------------------------------------------------------------------
# jobs


def _schedule_text(spec, settings: Settings, trigger) -> str:
    from apscheduler.triggers.interval import IntervalTrigger

    if isinstance(trigger, IntervalTrigger):
        minutes = int(trigger.interval.total_seconds() // 60)
        return f"every {minutes} min"
    if spec.id == "integrity":
        return f"cron “{settings.integrity_cron}” ({settings.default_timezone})"
    return str(trigger)


def _stored_next_runs(engine) -> dict[str, datetime | None] | None:
    from scheduler.service import JOBS_TABLE

    if not inspect(engine).has_table(JOBS_TABLE):
        return None
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}")).all()  # noqa: S608 - a constant
    return {r[0]: (datetime.fromtimestamp(r[1], UTC) if r[1] is not None else None) for r in rows}


def _leader_status(engine) -> str:
    from scheduler.leader import LEADER_LOCK_KEY, FileLeaderLock, sqlite_lock_path

    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                    "((classid::bigint << 32) | objid::bigint) = :k"), {"k": LEADER_LOCK_KEY}).scalar()
        return f"a replica leads (PostgreSQL backend pid {pid})" if pid else "no replica is running the scheduler"
    path = sqlite_lock_path(engine.url.render_as_string(hide_password=False))
    if not path.exists():
        return "no replica is running the scheduler"
    probe = FileLeaderLock(path)
    if probe.try_acquire():
        probe.release()
        return "no replica is running the scheduler"
    return f"a replica leads (file lock {path})"


def run_jobs_command(args, settings: Settings, out=None) -> int:
    from db.engine import get_engine

    out = out or sys.stdout
    from scheduler.jobs import JOBS, resolve

    engine = get_engine(settings.database_url)
    now = datetime.now(UTC)
    stored = _stored_next_runs(engine)
    rows = []
    for spec in JOBS:
        trigger = spec.make_trigger(settings)
        on = spec.enabled(settings)
        nxt = trigger.get_next_fire_time(None, now) if on else None
        status = ("ready" if resolve(spec.target) is not None else "not in this version") if on else spec.off_reason
        stored_next = "—" if not stored or spec.id not in stored or stored[spec.id] is None else (
            f"{stored[spec.id]:%Y-%m-%d %H:%M:%S} UTC")
        rows.append((spec.id, _schedule_text(spec, settings, trigger),
                     f"{nxt.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if nxt else "—", stored_next, status,
                     spec.description))
    heads = ("JOB", "SCHEDULE", "NEXT RUN", "IN JOB STORE", "STATUS", "DOES")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip(), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)
    print(f"\nScheduler: {_leader_status(engine)}. Job store: "
          + ("table bot_scheduler_jobs" if stored is not None else "not created yet (the first `run` creates it)")
          + ".", file=out)
    upcoming = _upcoming_digests(engine, settings, now)
    if upcoming:
        print("\nNext digests:", file=out)
        for at, who, kind in upcoming:
            print(f"  {at:%Y-%m-%d %H:%M} UTC  {kind:<20} {who}", file=out)
    return 0


def _upcoming_digests(engine, settings: Settings, now: datetime, n: int = 5) -> list[tuple[datetime, str, str]]:
    from scheduler.digest_schedule import DIGEST_KINDS, KIND_LABELS, Subscription, load_subscriptions, next_send
    from scheduler.recipients import recipients

    people = recipients(engine, settings.default_timezone, roles=tuple(DIGEST_KINDS))
    with engine.connect() as conn:
        subs = load_subscriptions(conn)
    found = []
    for p in people:
        kind = DIGEST_KINDS[p.role]
        at = next_send(subs.get((p.rep_id, kind), Subscription()), kind, settings, p.tz, now)
        if at is not None:
            found.append((at, f"{p.name} <{p.email}> ({p.tz.key})", KIND_LABELS[kind]))
    found.sort(key=lambda x: x[0])
    return found[:n]
