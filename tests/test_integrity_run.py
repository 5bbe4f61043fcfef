"""The integrity run to OPS_CHANNEL: new since the last run, resolved, totals, the CSV, and delivery failures."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from db.schema import bot_integrity_findings, opportunities
from render.nudges import CSV_FIELDS
from scheduler.integrity_run import run_integrity
from scheduler.ledger import Delivery, DeliveryLedger
from tests.factories import Factory
from tests.orgs import build_small_org
from tests.test_nudges import make_ctx

OPS = "C0PS"
DAY1 = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(db, fake_slack):
    org = build_small_org(db.engine)
    f = Factory(db.engine)
    org["missing"] = f.deal(org["A"], "Proposal", None, date(2027, 1, 29), name="No amount yet", next_step="Call")
    ctx = make_ctx(db.engine, fake_slack, ops_channel=OPS)
    clock = Clock(DAY1)
    ctx.ledger = DeliveryLedger(db.engine, now=clock)  # the ledger's timestamps follow the run's `now`
    return ctx, clock, org, f


def run(ctx, clock, now):
    clock.now = now
    return run_integrity(ctx, now)


def posts(fake):
    return [m for m in fake.messages(kind="message") if m.channel == OPS]


def csv_rows(upload) -> list[dict]:
    return list(csv.DictReader(io.StringIO(upload.data.decode("utf-8"))))


def record(db, owner: int, amount) -> str:
    """The external id of the owner's deal with that amount (None: no amount), read with a plain SELECT."""
    amount_is = opportunities.c.amount.is_(None) if amount is None else opportunities.c.amount == Decimal(amount)
    with db.engine.connect() as conn:
        return conn.execute(select(opportunities.c.external_id)
                            .where(opportunities.c.owner_id == owner, amount_is)).scalar_one()


def expected(db, org, now) -> list[tuple[str, str, str]]:
    """The findings as (rule, record, detail), worked out by hand from tests/orgs.py and the fixture's deals; the
    detail as the ops channel reads it in English (DEFAULT_LOCALE): '30 Nov 2026', '−$100', 'best case'.

    Open deals: Ann's Proposal 1000 (closes 30 Nov, no next step), Negotiation 2000 (15 Dec, no next step),
    Prospecting 4000 (Jan), Qualification 700 (1 Nov); Bob's Prospecting 300 (1 Dec, probability 30: 20 points off
    the stage's 10, within 25); the fixture's Proposal with no amount (Jan, next step "Call"); on day 2 Bob's
    Prospecting -100 (Feb, next step "Fix"). Every rep has a Q4 quota; no account, owner or duplicate problems;
    no deal has closed_at, so nothing changed after close; no amount is 10× its segment's median."""
    def past(owner, amount, close):
        days = (now.date() - close).days
        return ("past_close_date", record(db, owner, amount),
                f"open deal with close date {close.day} {close:%b %Y}, "
                f"{days} day{'s' if days != 1 else ''} in the past")

    a, b = org["A"], org["B"]
    out = [
        past(a, 1000, date(2026, 11, 30)),
        past(a, 700, date(2026, 11, 1)),
        past(b, 300, date(2026, 12, 1)),
        ("late_stage_no_next_step", record(db, a, 1000), "no next step on a deal in Proposal (best case, 50%)"),
        ("late_stage_no_next_step", record(db, a, 2000), "no next step on a deal in Negotiation (commit, 80%)"),
    ]
    if now < DAY2:
        out.append(("missing_amount", record(db, a, None), "no amount on a deal in Proposal"))
    else:  # the amount was filled in, and a negative one typed
        out.append(("negative_amount", record(db, b, -100), "amount is negative (−$100)"))
    return sorted(out)


def key(row: dict) -> tuple[str, str, str]:
    return (row["rule"], row["record"], row["detail"])


def test_first_run_posts_everything_as_new_with_the_csv(db, fake_slack, setup):
    ctx, clock, org, _ = setup
    result = run(ctx, clock, DAY1)
    findings = expected(db, org, DAY1)
    assert len(findings) == 6 and result["post"] == "sent" and result["csv"] == "sent"
    assert result["new"] == len(findings) == result["open"] and result["resolved"] == 0

    [post] = posts(fake_slack)
    assert post.blocks[0]["type"] == "header"
    assert f"{len(findings)} new, 0 resolved" in post.blocks[0]["text"]["text"]
    text = json.dumps(post.blocks)
    assert "Totals per rule" in text and "New findings by owner" in text and "Ann Rep" in text
    assert "Missing or zero amount" in text
    [upload] = fake_slack.uploads()
    assert upload.completed and upload.channel_id == OPS and upload.thread_ts == post.ts
    assert upload.filename.endswith(".csv")
    rows = csv_rows(upload)
    assert tuple(rows[0]) == CSV_FIELDS
    assert sorted(key(r) for r in rows) == findings
    assert {r["status"] for r in rows} == {"new"}
    assert {r["owner"] for r in rows if r["rule"] == "missing_amount"} == {"Ann Rep"}
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bot_integrity_findings)).scalar_one() == len(findings)

    # the same slot again (a retry, a second replica): nothing more is posted
    again = run(ctx, clock, DAY1)
    assert again["post"] == "already_sent" and again["csv"] == "already_sent"
    assert len(posts(fake_slack)) == 1 and len(fake_slack.uploads()) == 1


def test_second_run_reports_one_new_and_one_resolved(db, fake_slack, setup):
    ctx, clock, org, f = setup
    first = run(ctx, clock, DAY1)
    with db.engine.begin() as conn:  # fixed: the amount is filled in
        conn.execute(update(opportunities).where(opportunities.c.id == org["missing"]).values(amount=Decimal(2500)))
    negative = f.deal(org["B"], "Prospecting", -100, date(2027, 2, 26), name="Typo deal", next_step="Fix")
    result = run(ctx, clock, DAY2)
    assert result["post"] == "sent"
    assert (result["new"], result["resolved"]) == (1, 1)
    assert result["open"] == first["open"]

    post = posts(fake_slack)[-1]
    assert "1 new, 1 resolved" in post.blocks[0]["text"]["text"]
    text = json.dumps(post.blocks)
    assert "Negative amount" in text and "Resolved since the last run" in text and "Bob Rep" in text
    rows = csv_rows(fake_slack.uploads()[-1])
    assert sorted(key(r) for r in rows) == expected(db, org, DAY2)
    new = [r for r in rows if r["status"] == "new"]
    with db.engine.connect() as conn:
        record = conn.execute(select(opportunities.c.external_id).where(opportunities.c.id == negative)).scalar_one()
        missing = conn.execute(select(opportunities.c.external_id)
                               .where(opportunities.c.id == org["missing"])).scalar_one()
        stored = {r.fingerprint: r for r in conn.execute(select(bot_integrity_findings))}
    assert [(r["rule"], r["record"]) for r in new] == [("negative_amount", record)]
    assert stored[f"missing_amount:{missing}"].resolved_at == DAY2
    assert stored[f"negative_amount:{record}"].first_seen == DAY2
    assert all(r.last_seen == DAY2 for r in stored.values() if r.resolved_at is None)

    # it breaks again: new again
    with db.engine.begin() as conn:
        conn.execute(update(opportunities).where(opportunities.c.id == org["missing"]).values(amount=None))
    third = run(ctx, clock, DAY2 + timedelta(days=1))
    assert (third["new"], third["resolved"]) == (1, 0)


def test_failed_deliveries_since_the_last_run_are_reported(db, fake_slack, setup):
    ctx, clock, org, _ = setup
    run(ctx, clock, DAY1)
    clock.now = DAY1 + timedelta(hours=2)

    def broken(_key):
        raise RuntimeError("channel_not_found")

    assert ctx.ledger.deliver(Delivery("digest", str(org["M"]), "2026-12-07"), broken) == "failed"
    result = run(ctx, clock, DAY2)
    assert result["failures"] == 1
    text = json.dumps(posts(fake_slack)[-1].blocks)
    assert "Deliveries that failed" in text and "digest" in text and "Max Manager" in text
    assert "channel_not_found" in text
    # reported once: the next run has nothing new to say about it
    assert run(ctx, clock, DAY2 + timedelta(days=1))["failures"] == 0


def test_a_post_that_fails_leaves_the_findings_for_the_next_run(db, fake_slack, setup):
    ctx, clock, org, _ = setup
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    failed = run(ctx, clock, DAY1)
    assert failed["post"] == "failed" and failed["csv"] == "skipped"
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bot_integrity_findings)).scalar_one() == 0
    retried = run(ctx, clock, DAY1 + timedelta(hours=1))
    assert retried["post"] == "sent" and retried["new"] == failed["new"]
    assert retried["failures"] == 1  # the failed post itself is reported
    assert len(posts(fake_slack)) == 1


def test_no_ops_channel_means_no_run(db, fake_slack):
    ctx = make_ctx(db.engine, fake_slack)
    assert run_integrity(ctx, DAY1) == {"skipped": "OPS_CHANNEL is not set"}
    assert not fake_slack.calls("chat.postMessage")
