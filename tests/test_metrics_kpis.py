"""KPIs on a small hand-built org, figures worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from metrics.cache import ResultCache
from metrics.evaluate import MetricError, evaluate, evaluate_together
from metrics.periods import Period
from metrics.scopes import Scope, ScopeRefused, resolve_scope, viewer_by_email
from tests.factories import Factory, at
from tests.orgs import build_small_org

TODAY = date(2026, 11, 25)
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
ORG = Scope("org", "the whole org")


@pytest.fixture
def org(db):
    return build_small_org(db.engine)


def value(db, metric, scope=ORG, period=Q4, **kw):
    with db.engine.connect() as conn:
        return evaluate(conn, metric, period, scope, today=TODAY, cache=ResultCache(0), **kw)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("pipeline", Decimal("3300.00")),  # 1000 + 2000 + 300
        ("weighted_pipeline", Decimal("2190.00")),  # 1000×.5 + 2000×.8 + 300×.3
        ("closed_won", Decimal("11000.00")),
        ("closed_lost", Decimal("500.00")),
        ("quota", Decimal("23000.00")),  # reps only: 10000 + 5000 + 8000
        ("attainment", Decimal("0.4783")),  # 11000 / 23000
        ("gap", Decimal("12000.00")),
        ("coverage", Decimal("0.2750")),  # 3300 / 12000
        ("win_rate", Decimal("0.8000")),  # 4 won / 5 closed
        ("win_rate_value", Decimal("0.9565")),  # 11000 / 11500
        ("avg_deal_size", Decimal("2750.00")),
        ("cycle_days", Decimal("30.0")),  # 30, 30, 30, 60
        ("cycle_days_mean", Decimal("37.5")),
        ("forecast", Decimal("13000.00")),  # commit = closed 11000 + commit 2000
    ],
)
def test_org_kpis(db, org, metric, expected):
    assert value(db, metric).value == expected


def test_extras_counts_and_pace(db, org):
    pipe = value(db, "pipeline").rows[0]
    assert pipe["open_count"] == 3
    won = value(db, "closed_won").rows[0]
    assert won["won_count"] == 4
    att = value(db, "attainment").rows[0]
    # 2026-10-01 .. 2026-11-25 is 56 of 92 days
    assert att["pace"] == (Decimal(56) / Decimal(92)).quantize(Decimal("0.0001"))


def test_forecast_rollup(db, org):
    row = value(db, "forecast").rows[0]
    assert (row["closed"], row["commit"], row["best_case"], row["pipeline"], row["quota"]) == (
        Decimal("11000.00"), Decimal("13000.00"), Decimal("14000.00"), Decimal("14300.00"), Decimal("23000.00"))


def test_attainment_by_owner(db, org):
    rows = {r["owner"]: r["value"] for r in value(db, "attainment", by="owner").rows}
    assert rows["Ann Rep"] == Decimal("0.3000")
    assert rows["Bob Rep"] == Decimal("0.6000")
    assert rows["Cat Rep"] == Decimal("0.6250")


def test_pipeline_by_stage_is_ordered_by_stage_position(db, org):
    rows = value(db, "pipeline", by="stage").rows
    assert [(r["stage"], r["value"]) for r in rows] == [
        ("Prospecting", Decimal("300.00")), ("Proposal", Decimal("1000.00")), ("Negotiation", Decimal("2000.00"))
    ]


def test_closed_won_by_month_and_team(db, org):
    by_month = {r["month"]: r["value"] for r in value(db, "closed_won", by="month").rows}
    assert by_month == {"2026-10": Decimal("3000.00"), "2026-11": Decimal("3000.00"),
                        "2026-12": Decimal("5000.00")}
    by_team = {r["team"]: r["value"] for r in value(db, "closed_won", by="team").rows}
    assert by_team == {"West": Decimal("6000.00"), "East": Decimal("5000.00")}
    by_q = value(db, "closed_won", by="quarter").rows
    assert [(r["quarter"], r["value"]) for r in by_q] == [("FY2026 Q4", Decimal("11000.00"))]


def test_manager_quota_is_own_row_else_team_sum(db, org):
    m_tree = Scope("tree", "Max's team", rep_id=org["M"])
    m2_tree = Scope("tree", "Mia's team", rep_id=org["M2"])
    assert value(db, "quota", m_tree).value == Decimal("18000.00")  # M's own row
    assert value(db, "quota", m2_tree).value == Decimal("5000.00")  # no row of her own: Bob's
    assert value(db, "attainment", m_tree).value == Decimal("0.3333")  # (3000 + 3000) / 18000
    assert value(db, "closed_won", m2_tree).value == Decimal("3000.00")


def test_quota_prorated_for_a_month(db, org):
    october = Period(date(2026, 10, 1), date(2026, 10, 31), "Oct 2026", "month")
    # Ann's Q4 quota 10000 over 92 days, 31 of them in October
    got = value(db, "quota", Scope("rep", "Ann", rep_id=org["A"]), october).value
    assert got == (Decimal(10000) * 31 / 92).quantize(Decimal("0.01"))


def test_conversion_from_history(db):
    f = Factory(db.engine)
    r = f.rep("Ann Rep")
    x = f.deal(r, "Proposal", 100, date(2026, 12, 1), history=False)
    y = f.deal(r, "Closed Lost", 100, date(2026, 10, 15), history=False)
    z = f.deal(r, "Proposal", 100, date(2026, 12, 1), history=False)
    for opp, steps in ((x, [("Prospecting", 2), ("Qualification", 10), ("Proposal", 20)]),
                       (y, [("Prospecting", 5), ("Closed Lost", 15)]),
                       (z, [("Prospecting", 3), ("Proposal", 8)])):
        for stage, day in steps:
            f.history(opp, at(date(2026, 10, day)), stage=stage, amount=Decimal(100))
    rows = {r["stage"]: (r["entered"], r["advanced"], r["value"]) for r in value(db, "conversion").rows}
    assert rows == {
        "Prospecting": (3, 2, Decimal("0.6667")),  # x and z moved on; y was lost
        "Qualification": (1, 1, Decimal("1.0000")),
        "Proposal": (2, 0, Decimal("0.0000")),
    }


def test_velocity(db, org):
    # Trailing 365 days to today (Cat's win closes after today, so it is out): won 3000, 1000, 2000
    # (avg 2000), lost 1 → win rate 0.75, mean cycle 40 days; open deals in Q4: 3.
    # Velocity = 3 × 2000 × 0.75 / 40 = 112.50 per day.
    assert value(db, "velocity").value == Decimal("112.50")


def test_scopes_and_permissions(db, org):
    with db.engine.connect() as conn:
        ann = viewer_by_email(conn, "ann.rep@example.com")
        max_ = viewer_by_email(conn, "max.manager@example.com")
        mia = viewer_by_email(conn, "mia.lead@example.com")
        erin = viewer_by_email(conn, "erin.exec@example.com")
        olly = viewer_by_email(conn, "olly.ops@example.com")
        assert resolve_scope(conn, ann, "me").rep_id == org["A"]
        with pytest.raises(ScopeRefused, match="your own numbers"):
            resolve_scope(conn, ann, "Bob Rep")
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, ann, "team")
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, ann, "org")
        assert resolve_scope(conn, max_, "bob rep").rep_id == org["B"]  # nested: Bob is under Mia under Max
        assert resolve_scope(conn, max_, "team").kind == "tree"
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, max_, "Cat Rep")
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, max_, "org")
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, mia, "Ann Rep")  # Ann is Max's, not Mia's
        assert resolve_scope(conn, mia, "Bob").rep_id == org["B"]  # unique first name
        with pytest.raises(ScopeRefused):
            resolve_scope(conn, max_, "East")  # a team label outside Max's tree
        assert resolve_scope(conn, max_, "west team").kind == "team"
        assert resolve_scope(conn, erin, "org").kind == "org"
        assert resolve_scope(conn, olly, "Cat Rep").rep_id == org["C"]
        assert resolve_scope(conn, erin, "Max Manager").kind == "tree"


def test_unknown_metric_and_dimension_suggest(db, org):
    with pytest.raises(MetricError, match="pipeline"):
        value(db, "pipline")
    with pytest.raises(MetricError, match="owner"):
        value(db, "pipeline", by="ownr")
    with pytest.raises(MetricError, match="Cannot break"):
        value(db, "quota", by="stage")


def test_cache_reuses_until_data_changes(db, org):
    cache = ResultCache(60)
    with db.engine.connect() as conn:
        first = evaluate(conn, "closed_won", Q4, ORG, today=TODAY, cache=cache).value
        again = evaluate(conn, "closed_won", Q4, ORG, today=TODAY, cache=cache).value
    assert first == again == Decimal("11000.00") and cache.hits == 1
    Factory(db.engine).deal(org["C"], "Closed Won", 1, date(2026, 12, 2))
    with db.engine.connect() as conn:
        fresh = evaluate(conn, "closed_won", Q4, ORG, today=TODAY, cache=cache).value
    assert fresh == Decimal("11001.00")


def test_money_on_a_half_cent_rounds_as_exact_arithmetic_does(db):
    """Figures that land exactly on a half cent round half-even on both databases, as Decimal arithmetic does.
    SQLite computes in binary floats (16.555 arrives as 16.554999…), so without care it said 16.55."""
    f = Factory(db.engine)
    ann = f.rep("Ann Rep")
    f.quota(ann, date(2026, 10, 5), date(2026, 2, 9).replace(year=2027), "24.08")  # 128 days, 88 of them in Q4
    f.deal(ann, "Prospecting", "100.30", date(2026, 11, 30), probability=5)  # weighted: 5.015
    scope = Scope("rep", "Ann", rep_id=ann)
    exact_quota = (Decimal("24.08") * 88 / 128).quantize(Decimal("0.01"))
    assert exact_quota == Decimal("16.56")
    assert value(db, "quota", scope).value == exact_quota
    assert value(db, "attainment", scope).rows[0]["quota"] == exact_quota  # the quota beside the deals, one query
    assert value(db, "weighted_pipeline", scope).value == (Decimal("100.30") * 5 / 100).quantize(Decimal("0.01"))
    assert value(db, "weighted_pipeline", scope).value == Decimal("5.02")


def test_metrics_read_together_match_each_alone(db, org):
    """The scorecard reads win rate, deal size and cycle by rep from one query: each metric's rows as `evaluate`
    gives them; a rep only another metric counts appears with an unknown value."""
    with db.engine.connect() as conn:
        together = evaluate_together(conn, ("win_rate", "avg_deal_size", "cycle_days"), Q4, ORG, by="rep_id",
                                     today=TODAY, cache=ResultCache(0))
    for metric, rows in together.items():
        alone = {r["rep_id"]: r for r in value(db, metric, by="rep_id").rows}
        assert alone, metric
        by_rep = {r["rep_id"]: r for r in rows}
        assert {k: by_rep[k] for k in alone} == alone
        assert all(r["value"] is None for k, r in by_rep.items() if k not in alone)


def test_conversion_by_rep_within_a_tree(db):
    """Stage conversion by rep for a manager's tree: the tree's reps' rows as over the org, nobody else's."""
    f = Factory(db.engine)
    boss = f.rep("Meg Boss", role="manager")
    mine, other = f.rep("Ann Rep", manager=boss), f.rep("Bob Elsewhere")
    for owner in (mine, mine, other):
        opp = f.deal(owner, "Proposal", 100, date(2026, 12, 1), history=False)
        for stage, day in (("Prospecting", 2), ("Qualification", 10), ("Proposal", 20)):
            f.history(opp, at(date(2026, 10, day)), stage=stage, amount=Decimal(100))
    tree = value(db, "conversion", Scope("tree", "Meg's team", rep_id=boss), by="rep_id").rows
    org = value(db, "conversion", by="rep_id").rows
    assert tree == [r for r in org if r["rep_id"] == mine]
    assert {r["stage"]: r["entered"] for r in tree} == {"Prospecting": 2, "Qualification": 2, "Proposal": 2}


def test_closed_lost_by_loss_reason_by_hand_and_by_pandas(db):
    """Lost deals in Q4 by the CRM's loss reason, a deal with none in a group of its own; won and open deals and
    lost deals outside the quarter count nowhere."""
    import pandas as pd

    f = Factory(db.engine)
    ann = f.rep("Ann Rep")
    lost = [("Price", 1000, date(2026, 10, 5)), ("Price", 250, date(2026, 11, 2)), ("Competitor", 4000,
            date(2026, 12, 1)), (None, 75, date(2026, 10, 20)), ("Price", 9999, date(2026, 9, 30))]
    for reason, amount, closed in lost:
        f.deal(ann, "Closed Lost", amount, closed, loss_reason=reason)
    f.deal(ann, "Closed Won", 500, date(2026, 10, 9), loss_reason="Price")  # a stray reason on a won deal
    f.deal(ann, "Proposal", 700, date(2026, 11, 9))
    rows = {r["loss_reason"]: (r["value"], r["lost_count"]) for r in value(db, "closed_lost", by="loss_reason").rows}
    assert rows == {"Price": (Decimal("1250.00"), 2), "Competitor": (Decimal("4000.00"), 1),
                    None: (Decimal("75.00"), 1)}
    frame = pd.DataFrame(lost, columns=["reason", "amount", "closed"])
    frame = frame[(frame["closed"] >= Q4.start) & (frame["closed"] <= Q4.end)]
    by_pandas = frame.groupby(frame["reason"].fillna("-"), sort=False)["amount"].agg(["sum", "count"])
    assert {("-" if k is None else k): (v, n) for k, (v, n) in rows.items()} == {
        k: (Decimal(int(s)).quantize(Decimal("0.01")), n) for k, (s, n) in by_pandas.iterrows()}


def test_pipeline_and_win_rate_by_source(db):
    """Open pipeline and win rate by where the deals came from (opportunities.source), worked by hand."""
    f = Factory(db.engine)
    ann = f.rep("Ann Rep")
    for source, stage, amount in (("Inbound", "Proposal", 1000), ("Inbound", "Negotiation", 500),
                                  ("Partner", "Proposal", 300), (None, "Prospecting", 40),
                                  ("Inbound", "Closed Won", 900), ("Inbound", "Closed Lost", 100),
                                  ("Partner", "Closed Lost", 200), ("Partner", "Closed Lost", 250)):
        f.deal(ann, stage, amount, date(2026, 11, 10), source=source)
    pipeline = {r["source"]: r["value"] for r in value(db, "pipeline", by="source").rows}
    assert pipeline == {"Inbound": Decimal("1500.00"), "Partner": Decimal("300.00"), None: Decimal("40.00")}
    win_rate = {r["source"]: r["value"] for r in value(db, "win_rate", by="source").rows}
    assert win_rate == {"Inbound": Decimal("0.5000"), "Partner": Decimal("0.0000")}  # 1 of 2 closed; 0 of 2
