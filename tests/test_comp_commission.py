"""`/sales commission`: what-ifs equal the difference of two payouts computed independently; every figure says it is
an estimate; a rep sees only their own; a manager without a plan gets their reps' table; `comp statement`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import bot
from assistant.service import answer_text
from config import load_settings
from metrics.comp_plans import store_version
from metrics.scopes import viewer_by_email
from render.charts import chart_figure
from tests.factories import Factory
from tests.orgs import build_small_org
from tests.test_comp_payout import PLANS, exact_payout

AE_TIERS = [("0", "0.5", "0.5"), ("0.5", "1", "1"), ("1", None, "1.5")]


def ae(credited: str, quota: str = "10000") -> Decimal:
    return exact_payout(AE_TIERS, "marginal", "2.5", "30000", Decimal(credited), Decimal(quota), 0)


@pytest.fixture
def org(db, small_org_clock, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    ids = build_small_org(db.engine)
    Factory(db.engine).deal(ids["B"], "Negotiation", 900, date(2026, 12, 20), name="Globex expansion")
    with db.engine.begin() as conn:
        store_version(conn, PLANS.replace("MODE", "marginal"), "plans.yml", date(2026, 1, 1),
                      datetime.now(UTC))
    return ids


def ask(db, email: str, text: str):
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, email)
    return answer_text(db.engine, viewer, text, settings=load_settings())


@pytest.mark.parametrize(("text", "credited_after", "line_end"), [
    # Ann's open Proposal "Acme platform" (1000): 3000 → 4000 credited
    ("/sales commission what if Acme platform", "4000", "taking you to 40%."),
    ("/sales comp what if +3000", "6000", "taking you to 60%."),
    ("what will I earn what if 8k", "11000", "taking you to 110% and the accelerator."),
])
def test_what_if_adds_the_difference_of_two_payouts(db, org, text, credited_after, line_end):
    answer = ask(db, "ann.rep@example.com", text)
    added = ae(credited_after) - ae("3000")
    what_if = [line for line in answer.lines if " adds " in line]
    assert len(what_if) == 1
    assert what_if[0].endswith(f" adds ${added:,} (estimate), {line_end}")
    assert answer.chart is not None and answer.chart.kind == "payout_curve"
    marks = answer.chart.extra["marks"]
    assert marks["What if"][1] == ae(credited_after)


def test_commission_figures_band_and_projection(db, org):
    answer = ask(db, "ann.rep@example.com", "/sales commission")
    figures = {f.label: f.value for f in answer.figures}
    # Ann: 3000 of 10000 → 4500; commit Negotiation 2000 → 5000 (50%) → 7500
    assert figures["Earned so far (estimate)"] == ae("3000") == Decimal("4500.00")
    assert figures["If your commit closes (estimate)"] == ae("5000") == Decimal("7500.00")
    assert figures["Attainment"] == Decimal("0.3")
    assert all("estimate" in label.lower() for label in figures if "Earned" in label or "commit" in label)
    assert answer.lines[0] == "Every figure here is an estimate under your comp plan, not a payroll figure."
    # band 1 of 3 (0.5×): the next dollar pays 30000 / 10000 × 0.5 = 1.50; 2000 more reaches 50%
    assert answer.lines[1] == ("You are in band 1 of 3 (0.5× the base rate, marginal); the next dollar you close "
                               "pays about $1.50 (estimate).")
    assert answer.lines[2] == "$2,000 more closed takes you to the next band (1×)."


def test_a_rep_cannot_what_if_someone_elses_deal(db, org):
    answer = ask(db, "ann.rep@example.com", "/sales commission what if Globex expansion")
    assert answer.kind == "error"
    assert answer.lines == ["I can't find a deal called “Globex expansion” among your deals. Try part of its name "
                            "or its CRM id."]


def test_a_rep_without_a_plan_is_told_so(db, org):
    only_ann = PLANS.replace("MODE", "marginal").replace("{role: rep, plan: AE,",
                                                         "{rep: ann.rep@example.com, plan: AE,")
    with db.engine.begin() as conn:
        store_version(conn, only_ann, "plans.yml", date(2026, 1, 1), datetime.now(UTC))
    answer = ask(db, "cat.rep@example.com", "/sales payout")
    assert (answer.kind, answer.figures) == ("info", [])
    assert answer.lines == ["You have no comp plan for this period, so there is no payout to estimate. Sales ops "
                            "assigns plans."]


def test_a_manager_without_a_plan_gets_the_reps_table(db, org):
    answer = ask(db, "max.manager@example.com", "/sales commission")
    assert answer.title == "Estimated payouts · Max Manager's team"
    assert [(r[0], r[4]) for r in answer.table.rows] == [("Bob Rep", ae("3000", "5000")),
                                                         ("Ann Rep", ae("3000"))]
    assert answer.lines[0] == "You have no comp plan of your own; these are your reps' estimated payouts."


def test_the_payout_curve_marks_the_points(db, org):
    answer = ask(db, "ann.rep@example.com", "/sales commission chart")
    fig = chart_figure(answer.chart)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Payout (estimate)", "You now: 30%, $4.5K", "If commit closes: 50%, $7.5K"]
    curve = ax.get_lines()[0]
    # the curve is the plan's: at 100% attainment of a 10000 quota the marginal payout is 22500
    points = dict(zip(curve.get_xdata(), curve.get_ydata(), strict=True))
    assert points[1.0] == 22500.0


def test_comp_statement_csv_one_line_per_rep_and_deal(db, org, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert bot.main(["comp", "statement", "--period", "2026-Q4", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    bob = [(r["deal"], r["credit"], r["payout"]) for r in rows if r["rep"] == "Bob Rep"]
    # Bob: 1000 on Nov 1 (20% → 1000 × 0.5 × 6 = 3000), then 2000 on Nov 5 (to 60%: 1500 × 0.5 + 500 × 1.0 → 7500)
    assert [b[1:] for b in bob] == [("1000.00", "3000.00"), ("2000.00", "7500.00"), ("3000.00", "10500.00")]
    assert bob[-1][0] == "TOTAL"
    assert {r["rep"] for r in rows} == {"Ann Rep", "Bob Rep", "Cat Rep"}
