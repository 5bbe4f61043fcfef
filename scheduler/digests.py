"""The digest job: send every digest that is due and not yet sent, once.

`run_digests(ctx, now)` is the scheduler's 5-minute tick (scheduler.jobs). The CLI (`python bot.py digest`)
calls `run_digests` too, with `day`, `whenever` (`--all` / `--to`), `emails` (`--to`) and `dry_run`.

For each manager and exec (scheduler.recipients) it plans the digest of their local day
(scheduler.digest_schedule), skips what the ledger says is sent, being sent by another replica, or failed
recently (retried with backoff: 5, 10, 20, 40 minutes), builds the content (scheduler.digest_content), and
delivers it through the DeliveryLedger: claim → chat.postMessage tagged with the key's metadata → record.
An abandoned claim (a replica died mid-send) is taken over after the ledger's STALE_AFTER, first looking in
the DM for a message carrying the key (conversations.history) so a message Slack did accept is recorded,
not sent again. The chart goes after the message as its own ledger delivery (`digest_chart`), so a crash
between the two neither repeats the message nor loses the chart.

A digest that still fails after the ledger's MAX_ATTEMPTS stays `failed` in the ledger, where
`DeliveryLedger.failures()` (and the ops integrity report) find it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from db.schema import bot_delivery_ledger as ledger_t
from i18n import current_locale, use_locale
from metrics.cache import ResultCache
from render.charts import render_chart
from scheduler import ledger as ledger_module
from scheduler.context import JobContext
from scheduler.digest_content import Digest, DigestBuilder, Person, default_since, floor_since
from scheduler.digest_schedule import (
    DIGEST_KINDS,
    Slot,
    Subscription,
    load_subscriptions,
    plan_slot,
)
from scheduler.ledger import MAX_ATTEMPTS, Delivery, DeliveryLedger, SentRef
from scheduler.recipients import Recipient, SlackLanguages, recipients, resolve_slack_user

log = logging.getLogger(__name__)

CHART_KINDS = {"digest": "digest_chart", "exec_digest": "exec_digest_chart"}
RETRY_BACKOFF = (timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40))
BATCH_FROM = 3  # building this many digests at once shares the org-wide work (DigestBuilder batch mode)
SINCE_LOOKBACK = timedelta(days=35)


class NoSlackUser(RuntimeError):
    """The person has no Slack account the bot can find (by their email)."""


@dataclass
class Planned:
    person: Recipient
    slot: Slot
    since: datetime
    since_last: bool
    need_message: bool = True
    need_chart: bool = True


@dataclass
class Outcome:
    to: str | None
    name: str
    rep_id: int
    kind: str
    date: date
    status: str  # sent | already_sent | busy | failed | gave_up | retry_later | skipped | dry_run | ...
    reason: str | None = None  # English: the data (--json, the counts)
    digest: Digest | None = field(default=None, repr=False)
    reason_text: str | None = field(default=None, repr=False)  # the reason for people, where it differs

    @property
    def shown_reason(self) -> str | None:
        return self.reason_text or self.reason

    def as_dict(self) -> dict:
        return {"to": self.to, "name": self.name, "kind": self.kind, "date": self.date.isoformat(),
                "status": self.status, **({"reason": self.reason} if self.reason else {})}


def person_of(r: Recipient) -> Person:
    return Person(r.rep_id, r.name, r.email, r.role, r.tz, r.language)


def _backoff(attempts: int) -> timedelta:
    return RETRY_BACKOFF[min(max(attempts, 1), len(RETRY_BACKOFF)) - 1]


def _ledger_rows(ctx: JobContext, slots: list[Slot]) -> dict[tuple[str, str, str], object]:
    if not slots:
        return {}
    kinds = {s.kind for s in slots} | {CHART_KINDS[s.kind] for s in slots}
    periods = {s.local_date.isoformat() for s in slots}
    recipients_ = {str(s.rep_id) for s in slots}
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(ledger_t).where(ledger_t.c.kind.in_(kinds), ledger_t.c.period.in_(periods),
                                                   ledger_t.c.recipient.in_(recipients_))).all()
    return {(r.kind, r.recipient, r.period): r for r in rows}


def previous_sent(engine, now: datetime, rep_ids: list[int]) -> dict[tuple[str, str], list]:
    """(kind, recipient) → [(period, sent_at)] of sent digests in the last few weeks."""
    if not rep_ids:
        return {}
    out: dict[tuple[str, str], list] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(ledger_t.c.kind, ledger_t.c.recipient, ledger_t.c.period, ledger_t.c.sent_at)
                            .where(ledger_t.c.kind.in_(tuple(DIGEST_KINDS.values())), ledger_t.c.status == "sent",
                                   ledger_t.c.sent_at >= now - SINCE_LOOKBACK,
                                   ledger_t.c.recipient.in_([str(i) for i in rep_ids]))).all()
    for r in rows:
        out.setdefault((r.kind, r.recipient), []).append((r.period, r.sent_at))
    return out


def since_for(previous: dict, kind: str, rep_id: int, local_date: date, now: datetime) -> tuple[datetime, bool]:
    """The previous digest's sent_at (floored to its 5-minute tick), else 24 hours (7 days for the weekly one)."""
    sent = [at for period, at in previous.get((kind, str(rep_id)), []) if period < local_date.isoformat() and at]
    if sent:
        return floor_since(max(sent)), True
    return floor_since(default_since(kind, now)), False


def timeline_ledger(ctx: JobContext, now: datetime) -> DeliveryLedger:
    """The ledger on the job's own timeline: `now` plus the time elapsed since. In production that is the wall
    clock; a test (or a catch-up run) that passes another `now` gets claims, staleness, backoff and `sent_at` that
    agree with the `now` it chose."""
    t0 = time.monotonic()
    return DeliveryLedger(ctx.engine, now=lambda: now + timedelta(seconds=time.monotonic() - t0))


def _state(row, now: datetime, respect_backoff: bool) -> str | None:
    """What the ledger row says about sending now: None (go), or the reason to leave it."""
    if row is None:
        return None
    if row.status == "sent":
        return "already_sent"
    if row.status == "sending" and now - row.created_at < ledger_module.STALE_AFTER:
        return "busy"
    if row.status == "failed" and row.attempts >= MAX_ATTEMPTS:
        return "gave_up"
    if row.status == "failed" and respect_backoff and now - row.created_at < _backoff(row.attempts):
        return "retry_later"
    return None


def plan(ctx: JobContext, now: datetime, *, day: date | None = None, whenever: bool = False,
         emails: list[str] | None = None, respect_backoff: bool = True, limit: int | None = None,
         ) -> tuple[list[Planned], list[Outcome]]:
    """Who gets a digest now: (to build and send, skipped with the reason)."""
    people = recipients(ctx.engine, ctx.settings.default_timezone, roles=tuple(DIGEST_KINDS),
                        default_language=ctx.settings.default_locale)
    if emails is not None:
        wanted = {e.strip().lower() for e in emails}
        people = [p for p in people if (p.email or "").lower() in wanted]
    if limit is not None:
        people = people[:limit]
    with ctx.engine.connect() as conn:
        subs = load_subscriptions(conn, rep_ids=[p.rep_id for p in people] if len(people) < 1000 else None)
    slots = []
    for p in people:
        kind = DIGEST_KINDS[p.role]
        slots.append((p, plan_slot(p.rep_id, kind, p.tz, subs.get((p.rep_id, kind), Subscription()), ctx.settings,
                                   now, day=day, whenever=whenever)))
    due = [s for _, s in slots if s.due]
    rows = _ledger_rows(ctx, due)
    previous = previous_sent(ctx.engine, now, [s.rep_id for s in due])
    todo, skipped = [], []
    for person, slot in slots:
        out = Outcome(person.email, person.name, person.rep_id, slot.kind, slot.local_date, "skipped", slot.skip,
                      reason_text=slot.skip_text)
        if not slot.due:
            skipped.append(out)
            continue
        msg_row = rows.get((slot.key.kind, slot.key.recipient, slot.key.period))
        chart_row = rows.get((CHART_KINDS[slot.kind], slot.key.recipient, slot.key.period))
        msg_state = _state(msg_row, now, respect_backoff)
        chart_state = _state(chart_row, now, respect_backoff)
        need_message = msg_state is None
        need_chart = msg_state in (None, "already_sent") and chart_state is None
        if not need_message and not need_chart:
            out.status = msg_state if msg_state != "already_sent" else (
                "already_sent" if chart_state in ("already_sent", "gave_up", None) else chart_state)
            out.reason = None
            skipped.append(out)
            continue
        since, since_last = since_for(previous, slot.kind, slot.rep_id, slot.local_date, now)
        todo.append(Planned(person, slot, since, since_last, need_message, need_chart))
    return todo, skipped


def build_all(ctx: JobContext, items: list[Planned], now: datetime, *, workers: int = 2,
              builder: DigestBuilder | None = None) -> Iterator[tuple[Planned, Digest | Exception]]:
    """Build the digests (in parallel threads; the database does most of the work), yielding in order."""
    builder = builder or DigestBuilder(ctx.engine, ctx.settings, cache=ResultCache(0),
                                       batch=len(items) >= BATCH_FROM)

    def one(item: Planned):
        try:
            return item, builder.build(person_of(item.person), item.slot.kind, item.slot.local_date, now,
                                       item.since, item.since_last)
        except Exception as exc:  # noqa: BLE001 - one person's failure must not stop the others
            log.exception("building the %s for rep %s failed", item.slot.kind, item.slot.rep_id)
            return item, exc

    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield one(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digest-build") as pool:
        futures = [pool.submit(one, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:  # the caller stopped early (a shutdown): the digests not yet started are not built
            for future in futures:
                future.cancel()


def deliver(ctx: JobContext, item: Planned, digest: Digest, now: datetime,
            ledger: DeliveryLedger | None = None) -> Outcome:
    """Send the message (once) and then the chart (once) through the ledger."""
    ledger = ledger or ctx.ledger
    person, slot = item.person, item.slot
    out = Outcome(person.email, person.name, person.rep_id, slot.kind, slot.local_date, "sent", digest=digest)
    user_id = person.slack_user_id
    oldest = datetime.combine(slot.local_date, datetime.min.time(), tzinfo=slot.tz).astimezone(UTC) - timedelta(
        days=1)

    def send(key: Delivery) -> SentRef:
        if not user_id:
            raise NoSlackUser(f"no Slack account found for {person.email or person.name}")
        return ctx.sender.post(user_id, digest.message, key)

    def find(key: Delivery) -> SentRef | None:
        if not user_id:
            return None
        return ctx.sender.find_delivery(user_id, key, min(oldest, now - timedelta(days=1)))

    status = "already_sent"
    if item.need_message:
        status = ledger.deliver(slot.key, send, find_existing=find)
    out.status = status
    if status in ("sent", "already_sent") and digest.chart is not None and item.need_chart and user_id:
        chart_key = Delivery(CHART_KINDS[slot.kind], slot.key.recipient, slot.key.period)
        try:  # rendered before the claim, so the claim is held only for the upload
            with use_locale(person.language):
                png: bytes | Exception = render_chart(digest.chart)
        except Exception as exc:  # noqa: BLE001 - recorded as the chart's failed delivery below, retried later
            png = exc

        def upload(claim: Delivery) -> SentRef:
            if isinstance(png, Exception):
                raise png
            ctx.sender.upload(user_id, filename=digest.chart_filename, content=png, title=digest.chart.title,
                              delivery=claim)
            return SentRef(ctx.sender.dm_channel(user_id), "")

        chart_status = ledger.deliver(chart_key, upload)
        if chart_status not in ("sent", "already_sent"):
            out.reason = f"chart {chart_status}"
    elif status not in ("sent", "already_sent"):
        row = ledger.row(slot.key)
        out.reason = row.error if row is not None and row.error else None
    return out


_NOT_IN_SLACK: dict[str, float] = {}  # email → monotonic time until which we do not look it up again
NOT_IN_SLACK_TTL = 6 * 3600.0
LOOKUPS_PER_RUN = 50


def resolve_unknown_users(ctx: JobContext, emails: list[str] | None = None) -> int:
    """Look up (by email) the Slack user of every manager and exec the bot does not know yet, so their Slack time
    zone decides their send time from the first digest on. Found users are cached in bot_slack_identities; people
    not in Slack are not asked about again for a few hours. Returns how many were found."""
    people = recipients(ctx.engine, ctx.settings.default_timezone, roles=tuple(DIGEST_KINDS))
    if emails is not None:
        wanted = {e.strip().lower() for e in emails}
        people = [p for p in people if (p.email or "").lower() in wanted]
    found = asked = 0
    for person in people:
        if person.slack_user_id or not person.email:
            continue
        key = person.email.lower()
        if _NOT_IN_SLACK.get(key, 0) > time.monotonic():
            continue
        if asked >= LOOKUPS_PER_RUN or ctx.stopping.is_set():  # spread a first big batch over several ticks
            break  # (users.lookupByEmail is Tier 3); a shutdown leaves the rest to the next leader
        asked += 1
        try:
            resolved = resolve_slack_user(ctx.engine, ctx.sender, person)
        except Exception as exc:  # noqa: BLE001 - Slack away: the send fails later and is retried
            log.warning("looking up %s in Slack failed: %s", person.email, exc)
            continue
        if resolved.slack_user_id:
            found += 1
            _NOT_IN_SLACK.pop(key, None)
        else:
            _NOT_IN_SLACK[key] = time.monotonic() + NOT_IN_SLACK_TTL
    return found


def run_digests(ctx: JobContext, now: datetime | None = None, *, day: date | None = None, whenever: bool = False,
                emails: list[str] | None = None, dry_run: bool = False, respect_backoff: bool = True,
                workers: int = 2, limit: int | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> dict:
    """Send (or with `dry_run` only build) the digests due at `now`. Returns a summary:
    {"due": n, "sent": n, "already_sent": n, "busy": n, "failed": n, ..., "interrupted": n, "outcomes": [...]}
    where "interrupted" counts the digests left unsent because `ctx.stopping` was set (the process is stopping):
    the run stops between two deliveries, so nothing is left claimed, and the next run sends the rest."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    ledger = timeline_ledger(ctx, now)
    if not dry_run:
        resolve_unknown_users(ctx, emails)
    todo, skipped = plan(ctx, now, day=day, whenever=whenever, emails=emails, respect_backoff=respect_backoff,
                         limit=limit)
    if not dry_run:
        learn = SlackLanguages(ctx.engine, ctx.sender, ctx.settings.default_locale)
        for item in todo:
            item.person = learn(item.person)
    outcomes: list[Outcome] = []

    def note(out: Outcome) -> None:
        outcomes.append(out)
        if on_outcome is not None:
            on_outcome(out)

    interrupted = 0
    for done, (item, built) in enumerate(build_all(ctx, todo, now, workers=workers)):
        if ctx.stopping.is_set() and not dry_run:  # shutting down: stop between deliveries, none cut in half
            interrupted = len(todo) - done
            log.info("digest run stopped for the shutdown with %s digest(s) left to send", interrupted)
            break
        p = item.person
        if isinstance(built, Exception):
            note(Outcome(p.email, p.name, p.rep_id, item.slot.kind, item.slot.local_date, "error",
                         f"{type(built).__name__}: {built}"))
            continue
        if dry_run:
            note(Outcome(p.email, p.name, p.rep_id, item.slot.kind, item.slot.local_date, "dry_run", digest=built))
            continue
        try:
            note(deliver(ctx, item, built, now, ledger))
        except Exception as exc:  # noqa: BLE001 - the ledger records send failures; this is anything else
            log.exception("delivering the %s to rep %s failed", item.slot.kind, p.rep_id)
            note(Outcome(p.email, p.name, p.rep_id, item.slot.kind, item.slot.local_date, "error", str(exc)))
    counts = Counter(o.status for o in outcomes)
    summary = {"due": len(todo), **{k: counts.get(k, 0) for k in ("sent", "already_sent", "busy", "failed",
                                                                   "gave_up", "error", "dry_run")},
               "interrupted": interrupted,
               "skipped": dict(Counter(o.status if o.status != "skipped" else (o.reason or "skipped").split(" (")[0]
                                       for o in skipped)),
               "seconds": round(time.perf_counter() - started, 2)}
    summary["outcomes"] = outcomes
    summary["not_sent"] = skipped
    return summary


def preview_digest(engine, settings, viewer, now: datetime) -> Digest | None:
    """`/sales digest preview`: the viewer's digest as it would be sent now (their local today), or None when
    their role gets no digest."""
    from scheduler.recipients import zone

    kind = DIGEST_KINDS.get(viewer.role)
    if kind is None:
        return None
    tz = zone(viewer.timezone, settings.default_timezone)
    person = Person(viewer.rep_id, viewer.name, viewer.email, viewer.role, tz, current_locale())
    local_date = now.astimezone(tz).date()
    since, since_last = since_for(previous_sent(engine, now, [viewer.rep_id]), kind, viewer.rep_id, local_date, now)
    return DigestBuilder(engine, settings).build(person, kind, local_date, now, since, since_last)


def bench_digests(engine, settings, limit: int = 500, *, workers: int = 2, charts: int = 20,
                  day: date | None = None) -> dict:
    """Time building and rendering every morning digest (`digest --dry-run --all` for the first `limit`
    managers, on their local today, or the last weekday if today is a weekend), plus `charts` chart PNGs."""
    from slack_sdk import WebClient

    from scheduler.ledger import DeliveryLedger
    from scheduler.sender import SlackSender

    ctx = JobContext(engine, settings, SlackSender(WebClient(token="unused")), DeliveryLedger(engine))
    now = datetime.now(UTC)
    if day is None:
        day = now.astimezone(settings.tz).date()
        while day.weekday() > 4:
            day -= timedelta(days=1)
    timings: list[float] = []
    blocks = 0
    last = [time.perf_counter()]

    def tick(out: Outcome) -> None:
        nonlocal blocks
        t = time.perf_counter()
        timings.append(t - last[0])
        last[0] = t
        if out.digest is not None:
            blocks = max(blocks, len(out.digest.message["blocks"]))

    started = time.perf_counter()
    summary = run_digests(ctx, now, day=day, whenever=True, dry_run=True, workers=workers, limit=limit,
                          on_outcome=tick)
    took = time.perf_counter() - started
    built = [o for o in summary["outcomes"] if o.digest is not None]
    chart_times = []
    for o in built[:charts]:
        t = time.perf_counter()
        render_chart(o.digest.chart)
        chart_times.append(time.perf_counter() - t)
    timings.sort()
    pct = (lambda q: round(timings[min(len(timings) - 1, int(q * len(timings)))] * 1000, 1)) if timings else (
        lambda q: None)
    chart_ms = round(sum(chart_times) / len(chart_times) * 1000, 1) if chart_times else None
    return {
        "what": f"digests for the first {limit} managers/execs, dry run (built and rendered to Block Kit)",
        "date": day.isoformat(), "digests": len(built), "errors": summary["error"], "seconds": round(took, 2),
        "per_digest_ms": {"p50": pct(0.5), "p95": pct(0.95), "max": pct(1.0)}, "max_blocks": blocks,
        "chart_ms_mean": chart_ms,
        "charts_estimated_seconds": round(chart_ms * len(built) / 1000, 1) if chart_ms else None,
        "target_seconds": 60, "ok": took <= 60,
    }
