"""Integrity rules and `bot.py check`, on SQLite and PostgreSQL.

Each rule gets a planted bad row and a clean neighbour that must not trip it; figures worked out by hand.
TODAY is 2026-05-15, in fiscal quarter FY2026 Q2 (2026-04-01..2026-06-30) with the default fiscal calendar.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

import bot
from config import Settings
from db.schema import accounts, activities, opportunities, opportunity_history, quotas, reps
from metrics.integrity import RULES, integrity_findings
from metrics.rules_common import fiscal_quarter_bounds, fiscal_quarter_name
from tests.factories import Factory, at

TODAY = date(2026, 5, 15)
FAR = date(2026, 12, 31)
SETTINGS = Settings()


def run(db, rules=None, settings=SETTINGS, **kw):
    with db.engine.connect() as conn:
        return integrity_findings(conn, today=TODAY, settings=settings, rules=rules, **kw)


def hits(findings, rule=None) -> dict[str, str]:
    return {f.record: f.detail for f in findings if rule is None or f.rule == rule}


@pytest.fixture
def f(db) -> Factory:
    return Factory(db.engine)


@pytest.fixture
def ann(f) -> int:
    return f.rep("Ann Lee")


def deal(f: Factory, owner, ext: str, stage: str = "Prospecting", amount=1000, close_date=FAR, **kw) -> int:
    kw.setdefault("next_step", "call back")
    return f.deal(owner, stage, amount, close_date, external_id=ext, **kw)


# --- amounts -----------------------------------------------------------------------------------------------------

def test_missing_amount(db, f, ann):
    deal(f, ann, "prospecting_none", "Prospecting", None)  # first stage: allowed
    deal(f, ann, "qualification_none", "Qualification", None)
    deal(f, ann, "proposal_zero", "Proposal", 0)
    deal(f, ann, "won_none", "Closed Won", None)
    deal(f, ann, "lost_none", "Closed Lost", None)  # lost: exempt
    deal(f, ann, "proposal_ok", "Proposal", 100)
    deal(f, ann, "negative", "Proposal", -5)  # negative is its own rule
    assert hits(run(db, ["missing_amount"])) == {
        "qualification_none": "no amount on a deal in Qualification",
        "proposal_zero": "zero amount on a deal in Proposal",
        "won_none": "no amount on a deal in Closed Won",
    }


def test_negative_amount(db, f, ann):
    deal(f, ann, "minus", "Closed Won", "-1.50")
    deal(f, ann, "zero", "Prospecting", 0)
    deal(f, ann, "plus", "Prospecting", 1)
    found = run(db, ["negative_amount"])
    assert hits(found) == {"minus": "amount is negative (-1.50)"}
    assert found[0].amount == Decimal("-1.50")


def test_amount_outlier(db, f, ann):
    smb_rep = f.rep("Sam Smb", segment="SMB")
    ent = f.account("Big Co", segment="Enterprise")
    strategic = f.account("Huge Co", segment="Strategic")
    # enterprise (account segment): 10 × 10,000 and 500,000 → median 10,000
    for _ in range(10):
        f.deal(ann, "Proposal", 10_000, FAR, account_id=ent)
    deal(f, ann, "ent_big", "Proposal", 500_000, account_id=ent)
    # smb (owner segment, no account): 10 × 1,000, 9,000 and 50,000 → median 1,000
    for _ in range(10):
        f.deal(smb_rep, "Proposal", 1_000, FAR)
    deal(f, smb_rep, "smb_9k", "Proposal", 9_000)  # below 10 × median
    # smb p99 at rank 0.99 × 11 = 10.89 → 9,000 + 0.89 × 41,000 = 45,490: 50,000 is above both thresholds
    deal(f, smb_rep, "smb_50k", "Proposal", 50_000)
    # strategic: 140,000, 145,000, 160,000 → median 145,000
    for amount in (140_000, 145_000, 160_000):
        f.deal(ann, "Proposal", amount, FAR, account_id=strategic)
    # enterprise p99 at rank 0.99 × 10 = 9.9 → 10,000 + 0.9 × 490,000 = 451,000; strategic: none is 10× its median
    deal(f, ann, "nothing", "Proposal", None, account_id=ent)  # no amount: not in the population
    found = hits(run(db, ["amount_outlier"]))
    assert found == {
        "ent_big": "amount 500,000 is 50.0× the median of the enterprise segment (10,000) "
                   "and above its 99th percentile (451,000)",
        "smb_50k": "amount 50,000 is 50.0× the median of the smb segment (1,000) "
                   "and above its 99th percentile (45,490)",
    }
    # A strategic 600,000 is beyond its segment's 99th percentile but not 10 × its median (152,500): no finding.
    deal(f, ann, "strat_600k", "Proposal", 600_000, account_id=strategic)
    assert set(hits(run(db, ["amount_outlier"]))) == {"ent_big", "smb_50k"}


# --- dates -------------------------------------------------------------------------------------------------------

def test_past_close_date(db, f, ann):
    deal(f, ann, "late", close_date=TODAY - timedelta(days=1))
    deal(f, ann, "due_today", close_date=TODAY)
    deal(f, ann, "no_date", close_date=None)
    deal(f, ann, "won_late", "Closed Won", close_date=TODAY - timedelta(days=30))
    assert hits(run(db, ["past_close_date"])) == {"late": "open deal with close date 2026-05-14, 1 day in the past"}


def test_close_before_created(db, f, ann):
    created = date(2026, 3, 1)
    deal(f, ann, "before", close_date=date(2026, 2, 28), created=created)
    deal(f, ann, "same_day", close_date=created, created=created)
    deal(f, ann, "closed_early", "Closed Won", close_date=date(2026, 3, 10), created=created,
         closed_at=at(date(2026, 2, 20)))
    # closed earlier the same day it was created (09:00 < 12:00): same date, not flagged
    deal(f, ann, "closed_same_day", "Closed Won", close_date=created, created=created, closed_at=at(created, 9))
    assert hits(run(db, ["close_before_created"])) == {
        "before": "close date 2026-02-28 is before the deal was created (2026-03-01)",
        "closed_early": "closed on 2026-02-20, before the deal was created (2026-03-01)",
    }


def test_change_after_close(db, f, ann):
    closed = date(2026, 3, 1)
    same_day = deal(f, ann, "same_day", "Closed Won", closed_at=at(closed, 10))
    f.history(same_day, at(closed, 15), stage="Closed Won")  # the close itself, later that day
    later = deal(f, ann, "later", "Closed Won", closed_at=at(closed, 10))
    f.history(later, at(date(2026, 3, 2)), stage="Closed Won", amount=Decimal(900))
    f.history(later, at(date(2026, 3, 5)), stage="Closed Won", amount=Decimal(800))
    reopened = deal(f, ann, "open_no_closed_at", "Proposal")
    f.history(reopened, at(date(2026, 4, 1)), stage="Proposal")
    no_stamp = deal(f, ann, "closed_no_stamp", "Closed Lost")
    f.history(no_stamp, at(date(2026, 4, 1)), stage="Closed Lost")
    assert hits(run(db, ["change_after_close"])) == {
        "later": "2 changes recorded after it closed on 2026-03-01 (latest 2026-03-05)"
    }


# --- stage consistency -------------------------------------------------------------------------------------------

def test_probability_off_stage(db, f, ann):
    deal(f, ann, "q46", "Qualification", probability=46)  # default 20: 26 points off
    deal(f, ann, "q45", "Qualification", probability=45)  # 25 points: allowed
    deal(f, ann, "q_default", "Qualification")
    deal(f, ann, "n54", "Negotiation", probability=54)  # default 80: 26 points off
    deal(f, ann, "n55", "Negotiation", probability=55)
    assert hits(run(db, ["probability_off_stage"])) == {
        "q46": "probability 46% is 26 points from the Qualification default of 20%",
        "n54": "probability 54% is 26 points from the Negotiation default of 80%",
    }


@pytest.mark.parametrize(
    ("stage", "category", "flagged"),
    [
        ("Closed Won", "commit", True),
        ("Closed Won", "closed", False),
        ("Closed Lost", "pipeline", True),
        ("Closed Lost", "omitted", False),
        ("Prospecting", "closed", True),
        ("Prospecting", "commit", True),  # two steps above pipeline
        ("Prospecting", "best_case", False),  # one step above: a judgement call, allowed
        ("Prospecting", "omitted", False),
        ("Proposal", "commit", False),
        ("Negotiation", "pipeline", False),  # lower is always allowed
        ("Negotiation", "closed", True),
        ("Qualification", "bogus", True),
        ("Qualification", None, False),
    ],
)
def test_forecast_category_mismatch(db, f, ann, stage, category, flagged):
    deal(f, ann, "d", stage, forecast_category=category)
    deal(f, ann, "clean", stage)
    found = hits(run(db, ["forecast_category_mismatch"]))
    assert set(found) == ({"d"} if flagged else set())


def test_forecast_category_details(db, f, ann):
    deal(f, ann, "won", "Closed Won", forecast_category="commit")
    deal(f, ann, "early", "Prospecting", forecast_category="commit")
    deal(f, ann, "open_closed", "Proposal", forecast_category="closed")
    assert hits(run(db, ["forecast_category_mismatch"])) == {
        "won": "forecast category commit on a deal in Closed Won (a Closed Won deal is closed)",
        "early": "forecast category commit is more than one step above the Prospecting default (pipeline)",
        "open_closed": "forecast category closed on an open deal in Proposal",
    }


def test_late_stage_no_next_step(db, f, ann):
    deal(f, ann, "nego_none", "Negotiation", next_step=None)
    deal(f, ann, "nego_blank", "Negotiation", next_step="   ")
    deal(f, ann, "nego_ok", "Negotiation", next_step="Send contract")
    deal(f, ann, "proposal_none", "Proposal", next_step=None)  # best_case, 50%
    deal(f, ann, "qual_none", "Qualification", next_step=None)  # pipeline, 20%: not late stage
    deal(f, ann, "qual_p60", "Qualification", next_step=None, probability=60)
    deal(f, ann, "qual_best", "Qualification", next_step=None, forecast_category="best_case")
    deal(f, ann, "nego_down", "Negotiation", next_step=None, forecast_category="pipeline", probability=40)
    deal(f, ann, "won_none", "Closed Won", next_step=None)
    found = hits(run(db, ["late_stage_no_next_step"]))
    assert set(found) == {"nego_none", "nego_blank", "proposal_none", "qual_p60", "qual_best"}
    assert found["nego_none"] == "no next step on a deal in Negotiation (commit, 80%)"
    assert found["qual_p60"] == "no next step on a deal in Qualification (pipeline, 60%)"


# --- ownership ---------------------------------------------------------------------------------------------------

def test_owner_inactive_and_unknown(db, f, ann):
    gone = f.rep("Gus Gone", active=False)
    deal(f, gone, "gone_open", "Proposal")
    deal(f, gone, "gone_won", "Closed Won")
    deal(f, ann, "ann_open", "Proposal")
    deal(f, None, "orphan_open", "Proposal")
    deal(f, None, "orphan_lost", "Closed Lost")
    found = run(db, ["owner_inactive", "owner_unknown"])
    assert [(x.rule, x.record, x.owner, x.detail) for x in found] == [
        ("owner_inactive", "gone_open", "Gus Gone", "open deal owned by Gus Gone, who is inactive"),
        ("owner_unknown", "orphan_open", None, "open deal with no owner"),
    ]
    # A scope is a set of owners: an ownerless deal belongs to none of them.
    scoped = run(db, ["owner_inactive", "owner_unknown"], owner_ids=[gone])
    assert [(x.rule, x.record) for x in scoped] == [("owner_inactive", "gone_open")]


def test_rep_without_quota(db, f):
    a = f.rep("Amy Q2")
    b = f.rep("Ben Q1only")
    c = f.rep("Cat Overlap")
    dd = f.rep("Dan Inactive", active=False)
    e = f.rep("Eve Manager", role="manager")
    y = f.rep("Yan Annual")
    f.quota(a, date(2026, 4, 1), date(2026, 6, 30), 1000)
    f.quota(b, date(2026, 1, 1), date(2026, 3, 31), 1000)
    f.quota(c, date(2026, 6, 1), date(2026, 8, 31), 1000)  # overlaps the quarter's last month
    f.quota(y, date(2026, 1, 1), date(2026, 12, 31), 4000)
    assert dd and e
    found = run(db, ["rep_without_quota"])
    assert [(x.record, x.record_type, x.owner, x.detail) for x in found] == [
        ("rep-ben.q1only", "rep", "Ben Q1only", "no quota for FY2026 Q2 (2026-04-01..2026-06-30)"),
    ]
    # Fiscal year from February: TODAY is in FY2027 Q2 = 2026-05-01..2026-07-31; Amy's Apr–Jun row overlaps.
    found = run(db, ["rep_without_quota"], settings=Settings(fiscal_year_start_month=2))
    assert hits(found) == {"rep-ben.q1only": "no quota for FY2027 Q2 (2026-05-01..2026-07-31)"}
    # An explicit period: only Yan's annual row covers January.
    found = run(db, ["rep_without_quota"], period_start=date(2027, 1, 1), period_end=date(2027, 1, 31))
    assert set(hits(found)) == {"rep-amy.q2", "rep-ben.q1only", "rep-cat.overlap", "rep-yan.annual"}


@pytest.mark.parametrize(
    ("day", "start_month", "bounds", "name"),
    [
        (date(2026, 5, 15), 1, (date(2026, 4, 1), date(2026, 6, 30)), "FY2026 Q2"),
        (date(2026, 1, 15), 2, (date(2025, 11, 1), date(2026, 1, 31)), "FY2026 Q4"),
        (date(2026, 2, 1), 2, (date(2026, 2, 1), date(2026, 4, 30)), "FY2027 Q1"),
        (date(2026, 12, 31), 10, (date(2026, 10, 1), date(2026, 12, 31)), "FY2027 Q1"),
        (date(2026, 9, 30), 10, (date(2026, 7, 1), date(2026, 9, 30)), "FY2026 Q4"),
    ],
)
def test_fiscal_quarter_bounds(day, start_month, bounds, name):
    assert fiscal_quarter_bounds(day, start_month) == bounds
    assert fiscal_quarter_name(bounds[0], start_month) == name


# --- duplicates --------------------------------------------------------------------------------------------------

def test_duplicate_opportunity(db, f, ann):
    acme = f.account("Acme")
    other = f.account("Other")
    d1 = deal(f, ann, "d1", "Proposal", 100, account_id=acme, name="Acme - Renewal 2026")
    deal(f, ann, "d2", "Negotiation", 200, account_id=acme, name="acme renewal  2026!")  # same normalised name
    deal(f, ann, "d3", "Proposal", 5000, date(2026, 6, 30), account_id=acme, name="Expansion")
    deal(f, ann, "d4", "Proposal", 5000, date(2026, 6, 30), account_id=acme, name="Upsell")  # same figures as d3
    deal(f, ann, "d5", "Proposal", 300, account_id=other, name="Acme Renewal 2026")  # other account
    deal(f, ann, "d6", "Closed Lost", 400, account_id=acme, name="Acme Renewal 2026")  # lost: still a duplicate
    deal(f, ann, "d7", "Proposal", 500, account_id=acme, name="ACME  Renewal, 2026")  # third copy: names d1
    deal(f, ann, "d8", "Proposal", 5000, date(2026, 7, 1), account_id=acme, name="Cross-sell")  # other date
    deal(f, ann, "d9", "Proposal", 600, name="Acme Renewal 2026")  # no account
    deal(f, ann, "d10", "Proposal", 700, name="Acme Renewal 2026")
    assert d1
    assert hits(run(db, ["duplicate_opportunity"])) == {
        "d2": 'duplicate of d1 "Acme - Renewal 2026" (same account and name)',
        "d4": 'duplicate of d3 "Expansion" (same account, amount and close date)',
        "d6": 'duplicate of d1 "Acme - Renewal 2026" (same account and name)',
        "d7": 'duplicate of d1 "Acme - Renewal 2026" (same account and name)',
    }


def test_duplicate_account(db, f, ann):
    f.account("Globex Corp.", external_id="g1", owner_id=ann)
    f.account("GLOBEX   corp", external_id="g2", owner_id=ann)
    f.account("globex-corp", external_id="g3")  # hyphen → space: the same name again
    f.account("Globex Corporation", external_id="g4")
    f.account("Initech", external_id="i1")
    f.account("...", external_id="dots")
    f.account("!!", external_id="bangs")  # normalises to empty: never a duplicate
    found = run(db, ["duplicate_account"])
    assert [(x.record, x.record_type, x.owner, x.detail) for x in found] == [
        ("g2", "account", "Ann Lee", 'same name as account g1 "Globex Corp."'),
        ("g3", "account", None, 'same name as account g1 "Globex Corp."'),
    ]
    assert [x.record for x in run(db, ["duplicate_account"], owner_ids=[ann])] == ["g2"]


# --- all together: scope, order ----------------------------------------------------------------------------------

def test_scope_and_order(db, f):
    boss = f.rep("Bea Boss", role="manager")
    ann = f.rep("Ann Lee", manager=boss)
    zed = f.rep("Zed Zu", manager=boss)
    olga = f.rep("Olga Other")
    for rep in (ann, zed, olga):
        f.quota(rep, date(2026, 4, 1), date(2026, 6, 30), 1000)
    deal(f, zed, "z_neg", "Proposal", -1)
    deal(f, ann, "a_neg", "Proposal", -2)
    deal(f, ann, "a_zero", "Proposal", 0)
    deal(f, olga, "o_neg", "Proposal", -3)
    deal(f, None, "none_neg", "Proposal", -4)
    everything = run(db)
    assert [(x.rule, x.owner, x.record) for x in everything] == [
        ("missing_amount", "Ann Lee", "a_zero"),
        ("negative_amount", "Ann Lee", "a_neg"),
        ("negative_amount", "Olga Other", "o_neg"),
        ("negative_amount", "Zed Zu", "z_neg"),
        ("negative_amount", None, "none_neg"),
        ("owner_unknown", None, "none_neg"),
    ]
    assert everything[1].fingerprint == "negative_amount:a_neg"
    team = select(reps.c.id).where(reps.c.manager_id == boss)
    assert [x.record for x in run(db, owner_ids=team)] == ["a_zero", "a_neg", "z_neg"]
    assert run(db, owner_ids=select(reps.c.id).where(reps.c.id == boss)) == []


# --- properties against pandas -----------------------------------------------------------------------------------

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
deal_strategy = st.fixed_dictionaries({
    "stage": st.sampled_from(STAGES),
    "amount": st.one_of(st.none(), st.sampled_from([Decimal(0), Decimal("-0.01"), Decimal("-250"), Decimal("0.01"),
                                                    Decimal(1000)])),
    "close_offset": st.one_of(st.none(), st.integers(-5, 5)),
    "owner": st.sampled_from([1, 2]),
})


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal_strategy, max_size=12), scoped=st.booleans())
def test_amount_and_date_rules_match_pandas(db, deals, scoped):
    with db.engine.begin() as conn:
        for table in (activities, opportunity_history, opportunities, quotas, accounts, reps):
            conn.execute(delete(table))
        conn.execute(insert(reps), [{"id": 1, "external_id": "r1", "name": "One", "role": "rep"},
                                    {"id": 2, "external_id": "r2", "name": "Two", "role": "rep"}])
        if deals:
            conn.execute(insert(opportunities), [
                {"id": i, "external_id": f"o{i}", "name": f"Deal {i}", "owner_id": d["owner"], "stage": d["stage"],
                 "amount": d["amount"], "created_at": at(TODAY - timedelta(days=30)),
                 "close_date": None if d["close_offset"] is None else TODAY + timedelta(days=d["close_offset"])}
                for i, d in enumerate(deals, start=1)
            ])
    owner_ids = select(reps.c.id).where(reps.c.id == 2) if scoped else None
    rules = ["missing_amount", "negative_amount", "past_close_date"]
    with db.engine.connect() as conn:
        got = integrity_findings(conn, today=TODAY, settings=SETTINGS, owner_ids=owner_ids, rules=rules)

    want: dict[str, set[str]] = {rule: set() for rule in rules}
    if deals:
        frame = pd.DataFrame(deals)
        frame["record"] = [f"o{i}" for i in range(1, len(deals) + 1)]
        if scoped:
            frame = frame[frame["owner"] == 2]
        position = frame["stage"].map({name: i for i, name in enumerate(STAGES, start=1)})
        is_open = ~frame["stage"].isin(["Closed Won", "Closed Lost"])
        amount = frame["amount"].map(lambda v: None if v is None else float(v)).astype("Float64")
        missing = (amount.isna() | (amount == 0)).fillna(True)
        want["missing_amount"] = set(frame.loc[missing & (position > 1) & (frame["stage"] != "Closed Lost"), "record"])
        want["negative_amount"] = set(frame.loc[(amount < 0).fillna(False), "record"])
        past = (frame["close_offset"].astype("Float64") < 0).fillna(False)
        want["past_close_date"] = set(frame.loc[is_open & past, "record"])
    for rule in rules:
        assert {x.record for x in got if x.rule == rule} == want[rule], rule


# --- the CLI -----------------------------------------------------------------------------------------------------

def _cli_data(db):
    """Rules that do not depend on the date: the CLI runs with the real today, so the deals close a year after it."""
    f = Factory(db.engine)
    ann = f.rep("Ann Lee")
    ahead = date.today() + timedelta(days=365)
    f.deal(ann, "Proposal", "-250.50", ahead, external_id="neg", name="Negative deal", next_step="x")
    f.deal(ann, "Proposal", 0, ahead, external_id="zero", name="Zero deal", next_step="x")
    f.account("Initech", external_id="acc1")
    f.account("INITECH", external_id="acc2")
    # no quota row at all: Ann is a rep without quota whatever today is
    return ann


def test_cli_json(db, monkeypatch, capsys):
    _cli_data(db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["check", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload["totals"]) == list(RULES)
    assert {k: v for k, v in payload["totals"].items() if v} == {
        "missing_amount": 1, "negative_amount": 1, "duplicate_account": 1, "rep_without_quota": 1}
    assert payload["generated_at"].endswith("+00:00")
    by_record = {x["record"]: x for x in payload["findings"]}
    assert by_record["neg"] == {"rule": "negative_amount", "record_type": "opportunity", "record": "neg",
                                "record_name": "Negative deal", "owner": "Ann Lee",
                                "detail": "amount is negative (-250.50)", "amount": -250.5}
    assert by_record["zero"]["amount"] == 0
    assert by_record["acc2"]["amount"] is None and by_record["acc2"]["owner"] is None
    assert by_record["rep-ann.lee"]["rule"] == "rep_without_quota"


def test_cli_csv_and_table(db, monkeypatch, capsys):
    _cli_data(db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["check", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["record"] for r in rows] == ["zero", "neg", "acc2", "rep-ann.lee"]
    assert rows[1]["amount"] == "-250.50" and rows[2]["amount"] == "" and rows[2]["owner"] == ""
    assert list(rows[0]) == ["rule", "record_type", "record", "record_name", "owner", "detail", "amount"]

    assert bot.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "4 findings" in out.splitlines()[0]
    lines = out.splitlines()
    total_line = next(line for line in lines if line.startswith("negative_amount "))
    assert total_line.split()[-1] == "1"
    header = next(line for line in lines if line.startswith("rule ") and "detail" in line)
    detail_col = header.index("detail")
    neg = next(line for line in lines if line.startswith("negative_amount") and "neg " in line)
    assert neg[detail_col:] == "amount is negative (−$250.50)"  # the table is for people: Babel's money
    assert "−$250.50" in neg


def test_cli_empty_database(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert bot.main(["check", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["findings"] == [] and set(payload["totals"].values()) == {0}
    assert bot.main(["check"]) == 0
    assert "No findings" in capsys.readouterr().out
