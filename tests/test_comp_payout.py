"""Payout estimates: hand-worked examples for every tier mode and band edge, a cap, SPIFFs, a plan change inside
the period, no plan, zero quota; hypothesis against an exact implementation written here; the payout metrics on
the small org against pandas; who may see whose payout."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

import bot
from db.schema import quotas
from metrics.comp_plans import read_plans_file
from metrics.payout import DealCredit, Person, compute_payout
from tests.factories import Factory
from tests.oracles import read_tables
from tests.orgs import build_small_org

Q4 = (date(2026, 10, 1), date(2026, 12, 31))  # 92 days

PLANS = """\
plans:
  - name: AE
    period: quarter
    target_incentive: 30000
    credit: closed_won
    tiers:
      - {from: 0.0, to: 0.5, multiplier: 0.5}
      - {from: 0.5, to: 1.0, multiplier: 1.0}
      - {from: 1.0, multiplier: 1.5}
    tier_mode: MODE
    cap: 2.5
    spiffs:
      - {name: New logo, amount: 500, where: {source: New Business}}
      - {name: Multi-year, rate: 0.01, where: {product: Platform Plus}}
  - name: Senior
    period: quarter
    target_incentive: 60000
    tiers:
      - {from: 0, to: 1, multiplier: 1}
      - {from: 1, multiplier: 2}
    tier_mode: retroactive
assignments:
  - {role: rep, plan: AE, from: 2026-01-01}
"""
ANN = Person(1, "Ann Rep", "ann.rep@example.com", "rep")


def book(mode: str = "marginal", extra_rows: str = ""):
    return read_plans_file(PLANS.replace("MODE", mode) + extra_rows)


def deal(amount, close=date(2026, 11, 2), product=None, source=None, n=1) -> DealCredit:
    return DealCredit(n, f"Deal {n}", close, Decimal(amount), product, source, True)


def pay(credited, quota="100000", mode="marginal", deals=None, extra_rows=""):
    deals = deals if deals is not None else [deal(credited)]
    return compute_payout(book(mode, extra_rows), ANN, Decimal(quota), deals, *Q4, 1)


# Base rate 30000 / 100000 = 0.30 per credited dollar.
@pytest.mark.parametrize(("credited", "marginal", "retroactive"), [
    ("0", "0.00", "0.00"),
    # 49.99%: first band either way: 49990 × 0.5 × 0.30
    ("49990", "7498.50", "7498.50"),
    # exactly 50%: still the first band (it includes its `to`)
    ("50000", "7500.00", "7500.00"),
    # 50.01%: marginal 25000 × 0.5 + 10 × 1.0 = 25010 → 7503.00; retroactive every dollar at 1.0 → 15003.00
    ("50010", "7503.00", "15003.00"),
    # exactly 100%: nothing at 1.5×: marginal 25000 + 50000 = 75000 → 22500; retroactive 100000 × 1.0
    ("100000", "22500.00", "30000.00"),
    # 100.01%: marginal 75000 + 10 × 1.5 = 75015 → 22504.50; retroactive 100010 × 1.5 = 150015 → 45004.50
    ("100010", "22504.50", "45004.50"),
    # 200%: marginal 75000 + 150000 = 225000 → 67500 (under the cap of 2.5 × 30000 = 75000);
    # retroactive 300000 × 0.30 = 90000 → capped at 75000
    ("200000", "67500.00", "75000.00"),
    # 300%: marginal 75000 + 300000 = 375000 → 112500, capped at 75000
    ("300000", "75000.00", "75000.00"),
])
def test_hand_worked_payouts_at_the_band_edges(credited, marginal, retroactive):
    assert pay(credited).value == Decimal(marginal)
    assert pay(credited, mode="retroactive").value == Decimal(retroactive)
    assert pay(credited).attainment == Decimal(credited) / Decimal(100000)


def test_spiffs_come_on_top_of_the_capped_tiered_payout():
    deals = [deal("12345.67", product="Platform Plus", n=1), deal("287654.33", source="New Business", n=2),
             deal("100", source="Inbound", n=3)]
    result = pay("300100", deals=deals)
    # tiered capped at 75000; SPIFFs: 1% of 12345.67 = 123.4567, plus 500 for the new logo → 623.4567;
    # rounded once at the end: 75623.4567 → 75623.46
    assert result.tiered == Decimal("75000.00")
    assert result.spiffs == Decimal("623.46")
    assert result.value == Decimal("75623.46")
    assert [(d.spiff, d.spiff_names) for d in result.deals] == [
        (Decimal("123.4567"), ("Multi-year",)), (Decimal("500"), ("New logo",)), (Decimal(0), ())]


def test_rounding_is_once_at_the_end_half_even():
    # first band, 0.5 × 0.30 = 0.15 per credited dollar: 12.05 → 1.8075 → 1.81;
    # 0.10 → 0.015 exactly → half-even 0.02; 0.30 → 0.045 exactly → half-even 0.04
    assert pay("12.05").value == Decimal("1.81")
    assert pay("0.10").value == Decimal("0.02")
    assert pay("0.30").value == Decimal("0.04")


def test_a_plan_change_inside_the_period_prorates_by_days():
    # Ann moves to Senior on Nov 16: Oct 1–Nov 15 is 46 of Q4's 92 days under AE, Nov 16–Dec 31 the other 46.
    # 50000 of 100000 credited: AE marginal 7500 × 46/92 = 3750; Senior retroactive 60000 × 0.5 × 46/92 = 15000.
    rows = "  - {rep: ann.rep@example.com, plan: Senior, from: 2026-11-16}\n"
    result = pay("50000", extra_rows=rows)
    assert result.plans == ["AE", "Senior"]
    assert result.value == Decimal("18750.00")
    # a SPIFF follows the plan in force on the close date: Senior has none
    late = pay("50000", deals=[deal("50000", close=date(2026, 12, 1), source="New Business")], extra_rows=rows)
    early = pay("50000", deals=[deal("50000", close=date(2026, 11, 1), source="New Business")], extra_rows=rows)
    assert (late.spiffs, early.spiffs) == (Decimal("0.00"), Decimal("500.00"))


def test_a_rep_own_row_beats_a_role_row_and_later_rows_win():
    rows = ("  - {rep: ann.rep@example.com, plan: Senior, from: 2026-01-01}\n"
            "  - {role: rep, plan: AE, from: 2026-06-01}\n")
    assert pay("50000", extra_rows=rows).plans == ["Senior"]
    later = book(extra_rows="  - {role: rep, plan: Senior, from: 2026-06-01}\n")
    assert later.plan_for("bob@example.com", "rep", date(2026, 5, 31)).name == "AE"
    assert later.plan_for("bob@example.com", "rep", date(2026, 6, 1)).name == "Senior"


def test_no_plan_and_zero_quota_say_so():
    nobody = compute_payout(book(), Person(2, "Mia Lead", "mia@example.com", "manager"), Decimal(1000),
                            [deal("10")], *Q4, 1)
    assert (nobody.value, nobody.note) == (None, "no comp plan")
    zero = pay("5000", quota="0")
    assert (zero.value, zero.attainment, zero.note) == (None, None, "zero quota: attainment cannot be computed")


# --- an exact implementation, written separately ---------------------------------------------------------------

def exact_payout(tiers, mode, cap, target, credited, quota, spiff_total) -> Decimal:
    """Attainment as a Fraction; marginal integrates each band's share of [0, a]; retroactive finds the band with
    lo < a ≤ hi (the first includes 0); cap on the multiple of target; half-even cents at the end."""
    a = Fraction(credited) / Fraction(quota)
    if mode == "marginal":
        f = sum((Fraction(m) * max(Fraction(0), min(a, Fraction(hi) if hi is not None else a) - Fraction(lo))
                 for lo, hi, m in tiers), Fraction(0))
    else:
        chosen = next(m for i, (lo, hi, m) in enumerate(tiers)
                      if (a > Fraction(lo) or i == 0) and (hi is None or a <= Fraction(hi)))
        f = Fraction(chosen) * a
    if cap is not None:
        f = min(f, Fraction(cap))
    total = Fraction(target) * f + Fraction(spiff_total)
    return Decimal(round(total * 100)) / 100


EDGES = st.lists(st.sampled_from(["0.25", "0.5", "0.75", "1", "1.2", "1.5", "2"]), min_size=0, max_size=3,
                 unique=True).map(lambda xs: sorted(xs, key=Decimal))
CENTS = st.integers(min_value=0, max_value=50_000_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edges=EDGES, mults=st.lists(st.sampled_from(["0", "0.5", "1", "1.25", "1.5", "2", "3"]), min_size=4,
                                   max_size=4),
       mode=st.sampled_from(["marginal", "retroactive"]), cap=st.sampled_from([None, "1", "2.5"]),
       target=st.sampled_from(["30000", "12345.67", "1"]), amounts=st.lists(CENTS, min_size=1, max_size=4),
       quota=st.integers(min_value=1, max_value=100_000_000).map(lambda c: Decimal(c) / 100),
       spiff_rate=st.sampled_from([None, "0.01", "0.0333"]))
def test_payout_matches_an_exact_implementation(edges, mults, mode, cap, target, amounts, quota, spiff_rate):
    bounds = ["0", *edges]
    tiers = [(lo, bounds[i + 1] if i + 1 < len(bounds) else None, mults[i]) for i, lo in enumerate(bounds)]
    lines = "\n".join(f"      - {{from: {lo}, {'to: ' + hi + ', ' if hi else ''}multiplier: {m}}}"
                      for lo, hi, m in tiers)
    spiff = f"    spiffs:\n      - {{name: S, rate: {spiff_rate}}}\n" if spiff_rate else ""
    text = (f"plans:\n  - name: P\n    period: quarter\n    target_incentive: {target}\n    tiers:\n{lines}\n"
            f"    tier_mode: {mode}\n" + (f"    cap: {cap}\n" if cap else "") + spiff
            + "assignments:\n  - {role: rep, plan: P, from: 2020-01-01}\n")
    deals = [deal(str(x), n=i) for i, x in enumerate(amounts)]
    result = compute_payout(read_plans_file(text), ANN, quota, deals, *Q4, 1)
    credited = sum(amounts, Decimal(0))
    spiffs = sum((Fraction(x) * Fraction(spiff_rate) for x in amounts), Fraction(0)) if spiff_rate else 0
    assert result.value == exact_payout(tiers, mode, cap, target, credited, quota, spiffs)
    # the statement's per-deal shares add up to the tiered payout exactly
    assert sum((d.payout for d in result.deals), Decimal(0)) == result.tiered


# --- the metrics on the small org ------------------------------------------------------------------------------

@pytest.fixture
def comp(db, monkeypatch, small_org_clock, tmp_path, capsys):
    org = build_small_org(db.engine)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.delenv("FISCAL_YEAR_START_MONTH", raising=False)
    (tmp_path / "plans.yml").write_text(PLANS.replace("MODE", "marginal"))

    def run(*args: str):
        code = bot.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    def rows(metric: str, *args: str) -> list[dict]:
        code, out, err = run("metrics", metric, "--period", "2026-Q4", "--format", "json", *args)
        assert code == 0, err
        return json.loads(out, parse_float=Decimal)["rows"]

    assert run("comp", "load", "plans.yml")[0] == 0
    run.rows, run.org = rows, org
    return run


def pandas_payouts(db, projected: bool = False) -> dict[str, Decimal]:
    """Each rep's AE payout from the tables: won (and with `projected` open commit) amounts closing in Q4 against
    the Q4 quota row, marginal tiers, SPIFFs by source and product; exact_payout does the arithmetic."""
    with db.engine.connect() as conn:
        t = read_tables(conn)
    deals, out = t.deals, {}
    in_q4 = deals["close_date"].map(lambda d: d is not None and Q4[0] <= d <= Q4[1])
    counted = deals["is_won"] | ((deals["category"] == "commit") & deals["is_open"]) if projected else deals["is_won"]
    for _, rep in t.reps[t.reps["role"] == "rep"].iterrows():
        mine = deals[in_q4 & counted & (deals["owner_id"] == rep["id"])]
        quota_rows = t.quotas[(t.quotas["rep_id"] == rep["id"]) & (t.quotas["period_start"] == Q4[0])]
        credited = sum(mine["amount"], Decimal(0))
        spiffs = sum((Fraction(a) / 100 if p == "Platform Plus" else 0) + (500 if s == "New Business" else 0)
                     for a, p, s in zip(mine["amount"], mine["product"], mine["source"], strict=True))
        tiers = [("0", "0.5", "0.5"), ("0.5", "1", "1"), ("1", None, "1.5")]
        out[rep["name"]] = exact_payout(tiers, "marginal", "2.5", "30000", credited,
                                        quota_rows["amount"].iloc[0], spiffs)
    return out


def test_payout_by_owner_matches_pandas_and_hand_figures(db, comp):
    rows = comp.rows("payout", "--by", "owner")
    # Ann 3000 of 10000: 0.5 × 3000 × 3 = 4500; Bob 3000 of 5000: (1250 + 500) × 6 = 10500;
    # Cat 5000 of 8000: (2000 + 1000) × 3.75 = 11250
    assert {r["owner"]: r["value"] for r in rows} == {"Ann Rep": 4500, "Bob Rep": 10500, "Cat Rep": 11250}
    assert {r["owner"]: r["value"] for r in rows} == pandas_payouts(db)
    ann = next(r for r in rows if r["owner"] == "Ann Rep")
    assert (ann["attainment"], ann["credited"], ann["quota"], ann["plan"], ann["spiffs"]) == (
        Decimal("0.3"), 3000, 10000, "AE", 0)
    # projected: Ann's open commit deal (Negotiation 2000, Dec 15) as if it closes → 5000 = 50% → 7500
    projected = {r["owner"]: r["value"] for r in comp.rows("payout_projected", "--by", "owner")}
    assert projected["Ann Rep"] == 7500
    assert projected == pandas_payouts(db, projected=True)


def test_no_plan_and_zero_quota_in_the_metric(db, comp, tmp_path):
    (tmp_path / "plans.yml").write_text(PLANS.replace("MODE", "marginal").replace(
        "  - {role: rep, plan: AE, from: 2026-01-01}", "  - {rep: ann.rep@example.com, plan: AE, from: 2026-01-01}"))
    assert comp("comp", "load", "plans.yml")[0] == 0
    with db.engine.begin() as conn:  # a new row (as an import writes it), so the result cache sees new data
        conn.execute(delete(quotas).where(quotas.c.rep_id == comp.org["A"], quotas.c.period_start == Q4[0]))
    Factory(db.engine).quota(comp.org["A"], *Q4, 0)
    rows = {r["owner"]: r for r in comp.rows("payout", "--by", "owner")}
    assert (rows["Bob Rep"]["value"], rows["Bob Rep"]["note"]) == (None, "no comp plan")
    assert (rows["Ann Rep"]["value"], rows["Ann Rep"]["note"]) == (None, "zero quota: attainment cannot be "
                                                                         "computed")


@pytest.mark.parametrize(("who", "scope", "expected"), [
    ("ann.rep@example.com", None, None),  # one row, her own, no owner key
    ("ann.rep@example.com", "bob rep", "refused"),
    ("ann.rep@example.com", "org", "refused"),
    ("max.manager@example.com", None, {"Ann Rep", "Bob Rep"}),  # no plan of his own: his reps' table
    ("mia.lead@example.com", None, {"Bob Rep"}),
    ("mia.lead@example.com", "ann rep", "refused"),
    ("erin.exec@example.com", None, {"Ann Rep", "Bob Rep", "Cat Rep"}),
])
def test_who_sees_whose_payout(comp, who, scope, expected):
    args = ["metrics", "payout", "--period", "2026-Q4", "--format", "json", "--as", who, "--by", "owner"]
    if scope:
        args += ["--scope", scope]
    if expected is None:
        args.remove("--by"), args.remove("owner")
    code, out, err = comp(*args)
    if expected == "refused":
        assert code == 1 and err.startswith("error: You can't see ")
        return
    rows = json.loads(out, parse_float=Decimal)["rows"]
    if expected is None:
        assert rows == [{"value": 4500, "attainment": Decimal("0.3"), "credited": 3000, "quota": 10000,
                         "plan": "AE", "spiffs": 0, "note": None}]
    else:
        assert {r["owner"] for r in rows} == expected


def test_payouts_from_deal_classes_equal_payouts_from_deals(db, comp, tmp_path):
    """The team table and the payout metric sum the deals by class (owner, plan segment, product, source): each
    rep's payout, credit and SPIFFs are those the deals give one by one, across a plan change inside the quarter,
    both SPIFF kinds, a deal in another currency, a deal without an amount and one whose currency has no rate."""
    from db.schema import exchange_rates
    from metrics.payout import payouts
    from metrics.periods import Period

    org = comp.org
    f = Factory(db.engine)
    with db.engine.begin() as conn:
        conn.execute(exchange_rates.insert(), [{"currency": "EUR", "rate": Decimal("0.9"),
                                                "valid_from": date(2026, 1, 1), "valid_to": None}])
    for i, (rep, close, amount, product, source, currency) in enumerate([
            ("A", date(2026, 10, 20), "1000.01", "Platform Plus", "New Business", "USD"),
            ("A", date(2026, 11, 20), "2000.03", "Platform Plus", "new business", "USD"),
            ("A", date(2026, 12, 1), "333.33", "Platform Plus", None, "EUR"),
            ("B", date(2026, 11, 14), "777.77", None, "New Business", "USD"),
            ("B", date(2026, 11, 15), "555.55", "Platform Plus", "New Business", "USD"),
            ("B", date(2026, 12, 30), None, None, "New Business", "USD"),
            ("C", date(2026, 11, 30), "999.99", "Platform Plus", None, "JPY")]):
        f.deal(org[rep], "Closed Won", amount, close, product=product, source=source, currency=currency,
               name=f"Class deal {i}")
    (tmp_path / "plans.yml").write_text(PLANS.replace("MODE", "marginal")
                                        + "  - {rep: bob.rep@example.com, plan: Senior, from: 2026-11-15}\n")
    assert comp("comp", "load", "plans.yml")[0] == 0
    with db.engine.connect() as conn:
        both = [payouts(conn, Period(*Q4, "2026-Q4"), None, today=Q4[1], by_deal=by_deal) for by_deal in (True, False)]
    figures = [[(r.name, r.plans, r.credited, r.spiffs, r.tiered, r.value, r.note) for r in table] for table in both]
    assert figures[0] == figures[1]
    assert [r.spiffs for r in both[0] if r.name == "Bob Rep"] != [Decimal(0)]
