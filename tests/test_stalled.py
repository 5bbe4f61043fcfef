"""Stalled-deal rules and the dialect hooks they stand on, on SQLite and PostgreSQL.

Every figure below is worked out by hand in the comments. TODAY is Friday 2026-05-15; with the default settings
(UTC), `now` defaults to 2026-05-16 00:00 UTC, so the 90-day push window starts 2026-02-15 00:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, delete, insert, literal, select, union_all, update

from config import Settings
from db.schema import accounts, activities, opportunities, opportunity_history, quotas, reps, stages
from metrics import dialect as dl
from metrics.cache import ResultCache
from metrics.stage_benchmarks import won_stage_percentiles
from metrics.stalled import RULES, stalled_deals
from tests.factories import Factory, at

TODAY = date(2026, 5, 15)
FAR = date(2026, 12, 31)  # a close date nobody trips over
SETTINGS = Settings()


def ago(days: int, hour: int = 12) -> datetime:
    return at(TODAY - timedelta(days=days), hour)


def run(db, rules=None, settings=SETTINGS, **kw):
    with db.engine.connect() as conn:
        return stalled_deals(conn, today=TODAY, settings=settings, rules=rules, **kw)


def hits(findings, rule=None) -> dict[str, str]:
    """{record external id: detail} for one rule."""
    return {f.record: f.detail for f in findings if rule is None or f.rule == rule}


def fresh_deal(f: Factory, owner, ext: str, stage: str = "Prospecting", **kw) -> int:
    """An open deal created 5 days ago (so not stuck and not idle unless told), closing far away."""
    kw.setdefault("created", TODAY - timedelta(days=5))
    return f.deal(owner, stage, kw.pop("amount", 1000), kw.pop("close_date", FAR), external_id=ext, **kw)


# --- dialect hooks -----------------------------------------------------------------------------------------------

def test_days_between_and_to_date(db):
    d = db.engine.dialect.name
    ts = lambda v: literal(v, DateTime(timezone=True))  # noqa: E731
    dt = lambda v: literal(v, Date)  # noqa: E731
    t0 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    cases = [
        (dl.days_between(d, dt(date(2026, 5, 15)), dt(date(2026, 5, 1))), 14),
        (dl.days_between(d, dt(date(2026, 5, 1)), dt(date(2026, 5, 15))), -14),
        (dl.days_between(d, dt(date(2026, 3, 1)), dt(date(2026, 2, 1))), 28),
        # timestamps: whole days, truncated (1 day 23 h → 1)
        (dl.days_between(d, ts(t0 + timedelta(days=1, hours=23)), ts(t0)), 1),
        (dl.days_between(d, ts(t0), ts(t0 + timedelta(hours=47))), -1),
        # a date counts as midnight UTC: 2026-03-03 00:00 − 2026-03-01 23:30 = 1 day 0.5 h → 1
        (dl.days_between(d, dt(date(2026, 3, 3)), ts(t0)), 1),
        # to_date takes the UTC date, whatever the session time zone
        (dl.days_between(d, dt(date(2026, 3, 2)), dl.to_date(d, ts(t0))), 1),
    ]
    with db.engine.connect() as conn:
        got = conn.execute(select(*(c.label(f"c{i}") for i, (c, _) in enumerate(cases)))).one()
        assert list(got) == [want for _, want in cases]
        assert conn.execute(select(dl.to_date(d, ts(t0)))).scalar_one() == date(2026, 3, 1)


def _values_select(rows):
    return union_all(*(select(literal(g).label("grp"), literal(v).label("val")) for g, v in rows))


def test_percentile_subquery_matches_percentile_cont(db):
    # group a: 1..20 → p75 at rank 0.75 × 19 = 14.25 → 15 + 0.25 × (16 − 15) = 15.25; median 10.5
    # group b: [7] → 7; group c: 10, 20 → p75 = 10 + 0.75 × 10 = 17.5, median 15; NULLs ignored
    rows = [("a", v) for v in range(20, 0, -1)] + [("b", 7), ("c", 20), ("c", 10), ("c", None)]
    d = db.engine.dialect.name
    src = select(_values_select(rows).subquery("vals"))
    p75 = dl.percentile_subquery(d, "val", 0.75, ["grp"], src, name="p75")
    med = dl.percentile_subquery(d, "val", 0.5, ["grp"], src, name="med", value_label="median", count_label="cnt")
    with db.engine.connect() as conn:
        got = {r.grp: (r.value, r.n) for r in conn.execute(select(p75))}
        assert got == {"a": (15.25, 20), "b": (7.0, 1), "c": (17.5, 2)}
        assert {r.grp: r.median for r in conn.execute(select(med.c.grp, med.c.median))} == {
            "a": 10.5, "b": 7.0, "c": 15.0}
        # no groups: one org-wide value; 0.0 and 1.0 are the min and max
        assert conn.execute(select(dl.percentile_value(d, "val", 1.0, src))).scalar_one() == 20.0
        assert conn.execute(select(dl.percentile_value(d, "val", 0.0, src))).scalar_one() == 1.0
        empty = src.where(literal(1) == 0)
        assert conn.execute(select(dl.percentile_value(d, "val", 0.5, empty))).scalar_one() is None


def test_percentile_subquery_over_a_table_with_expressions(db):
    """value_expr and group_by_cols as expressions over the tables of a Select (its WHERE kept)."""
    f = Factory(db.engine)
    ann = f.rep("Ann", segment="SMB")
    for amount in (100, 200, 300, 1000):
        f.deal(ann, "Proposal", amount, FAR)
    f.deal(ann, "Closed Lost", 5000, FAR)
    src = select(opportunities.c.id).join(stages, stages.c.name == opportunities.c.stage).where(~stages.c.is_closed)
    d = db.engine.dialect.name
    med = dl.percentile_subquery(d, opportunities.c.amount, 0.5, [opportunities.c.owner_id], src)
    with db.engine.connect() as conn:
        assert conn.execute(select(med.c.owner_id, med.c.value, med.c.n)).one() == (ann, 250.0, 4)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.tuples(st.sampled_from("xyz"), st.integers(-1000, 1000)), min_size=1, max_size=25),
    fraction=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]),
)
def test_percentile_subquery_property(db, values, fraction):
    d = db.engine.dialect.name
    src = select(_values_select(values).subquery("vals"))
    pct = dl.percentile_subquery(d, "val", fraction, ["grp"], src)
    with db.engine.connect() as conn:
        got = {r.grp: (r.value, r.n) for r in conn.execute(select(pct))}
    frame = pd.DataFrame(values, columns=["grp", "val"])
    want = frame.groupby("grp")["val"].agg(lambda s: (s.quantile(fraction, interpolation="linear"), len(s)))
    assert set(got) == set(want.index)
    for grp, (value, n) in want.items():
        assert got[grp][1] == n
        assert got[grp][0] == pytest.approx(value, abs=1e-6)


# --- no_activity -------------------------------------------------------------------------------------------------

def test_no_activity_boundaries_and_sources(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    # last_activity_at 13 / 14 / 15 days ago against the default threshold of 14: 14 and 15 trip it.
    fresh_deal(f, ann, "d13", last_activity_at=ago(13))
    fresh_deal(f, ann, "d14", last_activity_at=ago(14))
    fresh_deal(f, ann, "d15", last_activity_at=ago(15, hour=23))
    # No last_activity_at: the latest activities row decides (20 days → trips; 5 days → not).
    old = fresh_deal(f, ann, "act20")
    f.activity(old, ann, ago(40))
    f.activity(old, ann, ago(20))
    recent = fresh_deal(f, ann, "act5")
    f.activity(recent, ann, ago(30))
    f.activity(recent, ann, ago(5))
    # last_activity_at wins over the activities table.
    field_first = fresh_deal(f, ann, "field3", last_activity_at=ago(3))
    f.activity(field_first, ann, ago(25))
    # Nothing at all: created 16 days ago → trips; created 10 days ago → not.
    fresh_deal(f, ann, "created16", created=TODAY - timedelta(days=16))
    fresh_deal(f, ann, "created10", created=TODAY - timedelta(days=10))
    # Closed deals never stall.
    f.deal(ann, "Closed Won", 500, TODAY, external_id="won", last_activity_at=ago(90))

    found = hits(run(db, ["no_activity"]))
    assert set(found) == {"d14", "d15", "act20", "created16"}
    assert found["d14"] == f"no activity for 14 days (since the last one on {TODAY - timedelta(days=14)}; " \
                           "threshold 14 days)"
    assert found["d15"].startswith("no activity for 15 days")
    assert found["act20"].startswith("no activity for 20 days (since the last one on 2026-04-25")
    assert found["created16"] == "no activity for 16 days (since it was created on 2026-04-29; threshold 14 days)"


def test_no_activity_threshold_per_segment(db):
    f = Factory(db.engine)
    ent_rep = f.rep("Erin Ent", segment="Enterprise")
    plain = f.rep("Pat Plain")
    ent_acc = f.account("Big Co", segment="ENTERPRISE")
    smb_acc = f.account("Small Co", segment="SMB")
    settings = Settings(stalled_no_activity_days=14, stalled_days_by_segment={"enterprise": 21, "smb": 7})
    # Account segment Enterprise (any case): 20 days → no, 21 → yes.
    fresh_deal(f, plain, "ent20", account_id=ent_acc, last_activity_at=ago(20))
    fresh_deal(f, plain, "ent21", account_id=ent_acc, last_activity_at=ago(21))
    # No account: the owner's segment (Enterprise) applies → 20 days is fine.
    fresh_deal(f, ent_rep, "owner20", last_activity_at=ago(20))
    # The account's segment beats the owner's: SMB threshold 7 → 7 days trips it, 6 does not.
    fresh_deal(f, ent_rep, "smb7", account_id=smb_acc, last_activity_at=ago(7))
    fresh_deal(f, ent_rep, "smb6", account_id=smb_acc, last_activity_at=ago(6))
    # Neither segment: the default 14.
    fresh_deal(f, plain, "none14", last_activity_at=ago(14))
    fresh_deal(f, plain, "none13", last_activity_at=ago(13))

    found = hits(run(db, ["no_activity"], settings=settings))
    assert set(found) == {"ent21", "smb7", "none14"}
    assert found["ent21"].endswith("threshold 21 days for enterprise)")
    assert found["smb7"].endswith("threshold 7 days for smb)")
    assert found["none14"].endswith("threshold 14 days)")


# --- stuck_in_stage ----------------------------------------------------------------------------------------------

def test_stuck_expected_days_and_default(db):
    with db.engine.begin() as conn:
        conn.execute(update(stages).where(stages.c.name == "Qualification").values(expected_days=10))
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    recent = dict(last_activity_at=ago(1))
    # Qualification expects 10 days: 10 → no, 11 → yes.
    fresh_deal(f, ann, "q10", "Qualification", stage_entered_at=ago(10), **recent)
    fresh_deal(f, ann, "q11", "Qualification", stage_entered_at=ago(11), **recent)
    # Proposal has no expected_days and no won history: the default 30 → 30 no, 31 yes.
    fresh_deal(f, ann, "p30", "Proposal", stage_entered_at=ago(30), **recent)
    fresh_deal(f, ann, "p31", "Proposal", stage_entered_at=ago(31), **recent)

    found = hits(run(db, ["stuck_in_stage"]))
    assert set(found) == {"q11", "p31"}
    assert found["q11"] == "in Qualification for 11 days since 2026-05-04 (above the stage's expected 10 days)"
    assert found["p31"] == "in Proposal for 31 days since 2026-04-14 (above the default 30 days)"


def test_stuck_entered_date_from_history(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    # stage_entered_at unknown: the last change *to* Negotiation was 40 days ago (the later close-date-only
    # row in the same stage does not count, nor the earlier visit 60 days ago). 40 > 30 → stuck.
    deal = f.deal(ann, "Negotiation", 1000, FAR, created=TODAY - timedelta(days=100), external_id="hist",
                  stage_entered_at=None, last_activity_at=ago(1), history=False)
    f.history(deal, ago(100), stage="Prospecting", close_date=FAR)
    f.history(deal, ago(60), stage="Negotiation", close_date=FAR)
    f.history(deal, ago(50), stage="Proposal", close_date=FAR)
    f.history(deal, ago(40), stage="Negotiation", close_date=FAR)
    f.history(deal, ago(35), stage=None, close_date=date(2027, 1, 31))  # a row without a stage is no change
    f.history(deal, ago(10), stage="Negotiation", close_date=date(2027, 2, 28))
    # Same shape but the last entry was 20 days ago → not stuck.
    deal2 = f.deal(ann, "Negotiation", 1000, FAR, created=TODAY - timedelta(days=100), external_id="hist2",
                   stage_entered_at=None, last_activity_at=ago(1), history=False)
    f.history(deal2, ago(100), stage="Prospecting")
    f.history(deal2, ago(20), stage="Negotiation")
    # Each deal's own history counts, not the others': "moving" changed stage 3 days ago, which must not hide
    # "old_entry"'s entry into Negotiation 45 days ago (a subquery correlated to the wrong deal would).
    moving = f.deal(ann, "Proposal", 1000, FAR, created=TODAY - timedelta(days=12), external_id="moving",
                    stage_entered_at=None, last_activity_at=ago(1), history=False)
    f.history(moving, ago(12), stage="Prospecting")
    f.history(moving, ago(3), stage="Proposal")
    old_entry = f.deal(ann, "Negotiation", 1000, FAR, created=TODAY - timedelta(days=100), external_id="old_entry",
                       stage_entered_at=None, last_activity_at=ago(1), history=False)
    f.history(old_entry, ago(100), stage="Prospecting")
    f.history(old_entry, ago(45), stage="Negotiation")
    # No stage_entered_at and no history: since created (45 days) → stuck.
    f.deal(ann, "Prospecting", 1000, FAR, created=TODAY - timedelta(days=45), external_id="nohist",
           stage_entered_at=None, last_activity_at=ago(1), history=False)

    found = hits(run(db, ["stuck_in_stage"]))
    assert set(found) == {"hist", "nohist", "old_entry"}
    assert found["old_entry"] == "in Negotiation for 45 days since 2026-03-31 (above the default 30 days)"
    assert found["hist"] == "in Negotiation for 40 days since 2026-04-05 (above the default 30 days)"
    assert found["nohist"].startswith("in Prospecting for 45 days since 2026-03-31")


def _won_deal(f: Factory, owner: int, proposal_days: int, stage: str = "Closed Won") -> int:
    """A closed deal that spent 5 days in Prospecting and `proposal_days` in Proposal (from history)."""
    start = TODAY - timedelta(days=200)
    deal = f.deal(owner, stage, 100, start + timedelta(days=5 + proposal_days), created=start, history=False,
                  closed_at=at(start + timedelta(days=5 + proposal_days)))
    f.history(deal, at(start), stage="Prospecting")
    f.history(deal, at(start + timedelta(days=5), 9), stage="Proposal")
    f.history(deal, at(start + timedelta(days=8), 10), stage="Proposal", amount=Decimal(200))  # not a stage change
    f.history(deal, at(start + timedelta(days=5 + proposal_days), 15), stage=stage)
    return deal


@pytest.mark.parametrize("won_samples", [19, 20])
def test_stuck_percentile_needs_twenty_won_samples(db, won_samples):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    # Won deals spent 1..N days in Proposal. With 20: p75 at rank 0.75 × 19 = 14.25 → 15.25 days.
    for days in range(1, won_samples + 1):
        _won_deal(f, ann, days)
    # Lost deals' history never counts (if it did, 5 × 100 days would move the percentile).
    for _ in range(5):
        _won_deal(f, ann, 100, stage="Closed Lost")
    recent = dict(last_activity_at=ago(1))
    fresh_deal(f, ann, "p15", "Proposal", stage_entered_at=ago(15), **recent)
    fresh_deal(f, ann, "p16", "Proposal", stage_entered_at=ago(16), **recent)
    fresh_deal(f, ann, "p31", "Proposal", stage_entered_at=ago(31), **recent)

    with db.engine.connect() as conn:
        bench = won_stage_percentiles(conn)
    # Prospecting: 5 days in every won deal.
    assert bench["Prospecting"] == (5.0, won_samples)
    assert bench["Proposal"][1] == won_samples

    found = hits(run(db, ["stuck_in_stage"]))
    # The same through a result cache (benchmarks fetched once, then passed as bound values).
    cache = ResultCache(60)
    assert hits(run(db, ["stuck_in_stage"], cache=cache)) == found
    assert hits(run(db, ["stuck_in_stage"], cache=cache)) == found
    assert cache.hits == 1
    if won_samples == 20:
        assert bench["Proposal"][0] == 15.25
        assert set(found) == {"p16", "p31"}
        assert found["p16"] == ("in Proposal for 16 days since 2026-04-29 "
                                "(above the 75th percentile for won deals, 15.2 days from 20 samples)")
    else:  # 19 samples: too few, the default 30 applies
        assert set(found) == {"p31"}
        assert found["p31"].endswith("(above the default 30 days)")


def test_stuck_expected_days_beats_percentile(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    for days in range(1, 21):
        _won_deal(f, ann, days)
    with db.engine.begin() as conn:
        conn.execute(update(stages).where(stages.c.name == "Proposal").values(expected_days=40))
    fresh_deal(f, ann, "p31", "Proposal", stage_entered_at=ago(31), last_activity_at=ago(1))
    fresh_deal(f, ann, "p41", "Proposal", stage_entered_at=ago(41), last_activity_at=ago(1))
    assert set(hits(run(db, ["stuck_in_stage"]))) == {"p41"}


# --- past_close_date ---------------------------------------------------------------------------------------------

def test_past_close_date(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    fresh_deal(f, ann, "yesterday", close_date=TODAY - timedelta(days=1))
    fresh_deal(f, ann, "today", close_date=TODAY)
    fresh_deal(f, ann, "nodate", close_date=None)
    f.deal(ann, "Closed Won", 100, TODAY - timedelta(days=30), external_id="won")
    found = hits(run(db, ["past_close_date"]))
    assert found == {"yesterday": "close date 2026-05-14 passed 1 day ago and the deal is still open"}


# --- close_date_pushed -------------------------------------------------------------------------------------------

def _pushes(f: Factory, owner: int, ext: str, changes: list[tuple[datetime, date | None]], stage="Proposal"):
    deal = f.deal(owner, stage, 1000, changes[-1][1], created=TODAY - timedelta(days=150), external_id=ext,
                  history=False, last_activity_at=ago(1), stage_entered_at=ago(1))
    for changed_at, close in changes:
        f.history(deal, changed_at, stage=stage, close_date=close)
    return deal


def test_close_date_pushed(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    # Two pushes inside the window (60 and 30 days ago) → finding.
    _pushes(f, ann, "twice", [(ago(120), date(2026, 3, 31)), (ago(60), date(2026, 4, 30)),
                              (ago(30), date(2026, 5, 31))])
    # One push 100 days ago (outside the window) and one 30 days ago → one in window → no finding.
    _pushes(f, ann, "old", [(ago(120), date(2026, 3, 31)), (ago(100), date(2026, 4, 30)),
                            (ago(30), date(2026, 5, 31))])
    # Push, pull in, push: the pull-in does not count; the two pushes do → finding.
    _pushes(f, ann, "zigzag", [(ago(120), date(2026, 5, 31)), (ago(20), date(2026, 6, 30)),
                               (ago(10), date(2026, 6, 15)), (ago(5), date(2026, 7, 15))])
    # Rows without a close date are skipped: 06-30 → (none) → 07-31 → 08-31 is two pushes → finding.
    _pushes(f, ann, "gaps", [(ago(50), date(2026, 6, 30)), (ago(45), None), (ago(40), date(2026, 7, 31)),
                             (ago(30), date(2026, 8, 31))])
    # Same date re-saved: no push.
    _pushes(f, ann, "same", [(ago(50), date(2026, 6, 30)), (ago(40), date(2026, 6, 30)), (ago(30), date(2026, 6, 30))])
    # Closed deals are not stalled, however often they were pushed.
    _pushes(f, ann, "closed", [(ago(50), date(2026, 3, 30)), (ago(40), date(2026, 4, 30)),
                               (ago(30), date(2026, 5, 1))], stage="Closed Won")

    found = hits(run(db, ["close_date_pushed"]))
    assert set(found) == {"twice", "zigzag", "gaps"}
    assert found["twice"] == "close date pushed later 2 times in the last 90 days (from 2026-03-31 to 2026-05-31)"


def test_close_date_pushed_window_edge(db):
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    now = datetime(2026, 5, 15, 12, 0, tzinfo=UTC)
    edge = now - timedelta(days=90)
    _pushes(f, ann, "on_edge", [(edge - timedelta(days=5), date(2026, 3, 1)), (edge, date(2026, 4, 1)),
                                (now - timedelta(days=10), date(2026, 5, 1))])
    _pushes(f, ann, "past_edge", [(edge - timedelta(days=5), date(2026, 3, 1)), (edge - timedelta(minutes=1),
                                  date(2026, 4, 1)), (now - timedelta(days=10), date(2026, 5, 1))])
    assert set(hits(run(db, ["close_date_pushed"], now=now))) == {"on_edge"}
    # The default now (end of TODAY) moves the window 12 hours later: on_edge's first push falls out.
    assert hits(run(db, ["close_date_pushed"])) == {}


# --- all rules together: scope, order, fingerprints --------------------------------------------------------------

def test_all_rules_scope_order_and_fingerprints(db):
    f = Factory(db.engine)
    boss = f.rep("Bea Boss", role="manager")
    ann = f.rep("Ann Lee", manager=boss)
    zed = f.rep("Zed Zu", manager=boss)
    other = f.rep("Olga Other")
    # Ann: idle 30 days, in stage 31 days, close date passed → three findings on one deal.
    fresh_deal(f, ann, "a1", "Proposal", created=TODAY - timedelta(days=40), stage_entered_at=ago(31),
               last_activity_at=ago(30), close_date=TODAY - timedelta(days=2))
    fresh_deal(f, zed, "z1", last_activity_at=ago(20))
    fresh_deal(f, other, "o1", last_activity_at=ago(20))
    fresh_deal(f, None, "nobody", last_activity_at=ago(20))

    everything = run(db)
    assert [(x.rule, x.owner, x.record) for x in everything] == [
        ("no_activity", "Ann Lee", "a1"),
        ("no_activity", "Olga Other", "o1"),
        ("no_activity", "Zed Zu", "z1"),
        ("no_activity", None, "nobody"),
        ("stuck_in_stage", "Ann Lee", "a1"),
        ("past_close_date", "Ann Lee", "a1"),
    ]
    first = everything[0]
    assert first.fingerprint == "no_activity:a1"
    assert first.record_type == "opportunity" and first.owner_id == ann and first.amount == Decimal("1000.00")
    assert first.record_name.startswith("Deal ")
    assert set(RULES) == {"no_activity", "stuck_in_stage", "past_close_date", "close_date_pushed"}

    team = select(reps.c.id).where(reps.c.manager_id == boss)
    assert {x.record for x in run(db, owner_ids=team)} == {"a1", "z1"}
    assert {x.record for x in run(db, owner_ids=team.subquery())} == {"a1", "z1"}
    assert {x.record for x in run(db, owner_ids=[zed])} == {"z1"}
    assert run(db, owner_ids=select(reps.c.id).where(reps.c.id == boss)) == []


# --- properties against pandas -----------------------------------------------------------------------------------

OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
ALL_STAGES = [*OPEN_STAGES, "Closed Won", "Closed Lost"]

deal_strategy = st.fixed_dictionaries({
    "stage": st.sampled_from(ALL_STAGES),
    "owner": st.sampled_from([1, 2, None]),
    "account": st.sampled_from([1, 2, None]),
    "created_ago": st.integers(0, 60),
    "last_activity_ago": st.one_of(st.none(), st.integers(0, 40)),
    "activity_agos": st.lists(st.integers(0, 40), max_size=3),
    "close_offset": st.one_of(st.none(), st.integers(-20, 20)),
})


def _reset(conn) -> None:
    for table in (activities, opportunity_history, opportunities, quotas, accounts, reps):
        conn.execute(delete(table))


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal_strategy, max_size=12), default_days=st.integers(5, 20))
def test_no_activity_and_past_close_match_pandas(db, deals, default_days):
    settings = Settings(stalled_no_activity_days=default_days, stalled_days_by_segment={"enterprise": 10})
    with db.engine.begin() as conn:
        _reset(conn)
        conn.execute(insert(reps), [
            {"id": 1, "external_id": "r1", "name": "Ent Rep", "segment": "Enterprise", "role": "rep"},
            {"id": 2, "external_id": "r2", "name": "Plain Rep", "segment": None, "role": "rep"},
        ])
        conn.execute(insert(accounts), [
            {"id": 1, "external_id": "a1", "name": "Smb Co", "segment": "SMB"},
            {"id": 2, "external_id": "a2", "name": "Ent Co", "segment": "enterprise"},
        ])
        for i, deal in enumerate(deals, start=1):
            conn.execute(insert(opportunities).values(
                id=i, external_id=f"o{i}", name=f"Deal {i}", owner_id=deal["owner"], account_id=deal["account"],
                stage=deal["stage"], amount=Decimal(100), created_at=ago(deal["created_ago"], 8),
                close_date=None if deal["close_offset"] is None else TODAY + timedelta(days=deal["close_offset"]),
                last_activity_at=None if deal["last_activity_ago"] is None else ago(deal["last_activity_ago"], 20),
                stage_entered_at=ago(0),
            ))
            for n in deal["activity_agos"]:
                conn.execute(insert(activities).values(opportunity_id=i, kind="call", occurred_at=ago(n, 3)))

    with db.engine.connect() as conn:
        got = stalled_deals(conn, today=TODAY, settings=settings, rules=["no_activity", "past_close_date"])

    want_idle, want_past = _pandas_expectation(deals, default_days)
    assert {x.record for x in got if x.rule == "no_activity"} == want_idle
    assert {x.record for x in got if x.rule == "past_close_date"} == want_past


def _pandas_expectation(deals: list[dict], default_days: int) -> tuple[set[str], set[str]]:
    """The two rules computed column-wise in pandas over the generated rows (not read back from the database)."""
    if not deals:
        return set(), set()
    frame = pd.DataFrame(deals)
    frame["record"] = [f"o{i}" for i in range(1, len(deals) + 1)]
    latest_activity = frame["activity_agos"].map(lambda xs: min(xs) if xs else None)
    frame["idle"] = frame["last_activity_ago"].astype("Float64").fillna(latest_activity.astype("Float64"))
    frame["idle"] = frame["idle"].fillna(frame["created_ago"].astype("Float64"))
    segment = frame["account"].map({1: "smb", 2: "enterprise"})
    segment = segment.where(segment.notna(), frame["owner"].map({1: "enterprise"}))
    frame["threshold"] = [10 if s == "enterprise" else default_days for s in segment]
    is_open = frame["stage"].isin(OPEN_STAGES)
    idle = frame.loc[is_open & (frame["idle"] >= frame["threshold"]), "record"]
    close = frame["close_offset"].astype("Float64")
    past = frame.loc[is_open & (close < 0).fillna(False), "record"]
    return set(idle), set(past)


@pytest.mark.parametrize("limit", [1, 7, 15, 10_000])
def test_the_overview_is_the_head_of_the_full_list_with_its_totals(db, limit):
    """stalled_overview (what /sales stalled shows) equals the first `limit` of stalled_deals, with the same
    totals, for the whole org and for one team, on a demo org that trips every rule."""
    from db.demo import build_demo
    from metrics.scopes import Scope
    from metrics.stalled import stalled_overview

    build_demo(db.engine, seed=5, reps=25, deals=1200, today=TODAY)
    with db.engine.connect() as conn:
        manager = conn.execute(select(reps.c.manager_id).where(reps.c.role == "rep").limit(1)).scalar_one()
        # a first-line manager's team: the manager and the reps reporting to them
        team = {manager, *conn.execute(select(reps.c.id).where(reps.c.manager_id == manager)).scalars()}
        org_wide = stalled_deals(conn, today=TODAY, settings=SETTINGS)
        assert {f.rule for f in org_wide} == set(RULES)
        for owner_ids in (None, Scope("tree", "team", rep_id=manager).member_ids(conn)):
            full = stalled_deals(conn, today=TODAY, settings=SETTINGS, owner_ids=owner_ids)
            got = stalled_overview(conn, today=TODAY, settings=SETTINGS, owner_ids=owner_ids, limit=limit,
                                   cache=ResultCache(60))
            # benchmarks stay org-wide, so a team's findings are the org's findings on the team's deals
            want = org_wide if owner_ids is None else [f for f in org_wide if f.owner_id in team]
            assert full == want
            assert full  # the team has stalled deals: the scoped comparison is not between two empty lists
            assert got.findings == full[:limit]
            assert (got.total_findings, got.total_deals) == (len(full), len({f.record_id for f in full}))
