"""Currencies (issue 12 item 1, DESIGN §3a): deals keep their own currency and the metrics layer converts every
amount to ORG_CURRENCY in SQL, at the dated rate of the close date (closed deals) or of today (open deals),
rounded half-even to the cent deal by deal. Checked against pandas over the same rows, on both databases."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, literal, select

from db.schema import DEFAULT_STAGES, Numeric, exchange_rates, opportunities, opportunity_history, reps
from db.types import Money
from metrics.cache import ResultCache
from metrics.dialect import money_quotient
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from tests.factories import at

TODAY = date(2026, 11, 25)
PERIOD = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
STAGE = {s["name"]: s for s in DEFAULT_STAGES}
ORG = Scope("org", "org")
CENT = Decimal("0.01")
# Dated rates, units per USD. EUR changes twice in the quarter; JPY's only rate ends on Oct 20 (a deal closed on
# Oct 21 has none); GBP has no rate at all.
RATES = [
    ("EUR", "0.91", date(2026, 1, 1), date(2026, 10, 14)),
    ("EUR", "0.875", date(2026, 10, 15), date(2026, 11, 19)),
    ("EUR", "0.92", date(2026, 11, 20), None),
    ("IDR", "15500.5", date(2026, 1, 1), date(2026, 10, 31)),
    ("IDR", "16250", date(2026, 11, 1), None),
    ("JPY", "151.333333", date(2026, 1, 1), date(2026, 10, 20)),
]
CURRENCIES = ["USD", "EUR", "IDR", "JPY", "GBP", None]

deal = st.fixed_dictionaries({
    "stage": st.sampled_from(list(STAGE)),
    "amount": st.one_of(st.none(), st.decimals(min_value=-10**6, max_value=10**10, places=2, allow_nan=False,
                                               allow_infinity=False)),
    "currency": st.sampled_from(CURRENCIES),
    "close_offset": st.integers(-70, 40),  # Sep 16 .. Jan 4: across every rate boundary and the period's ends
    "probability": st.one_of(st.none(), st.integers(0, 100)),
})


def load(db, deals, rates=RATES) -> None:
    with db.engine.begin() as conn:
        for table in (opportunity_history, opportunities, reps, exchange_rates):
            conn.execute(delete(table))
        owner = conn.execute(insert(reps).returning(reps.c.id), {"external_id": "ann", "name": "Ann"}).scalar_one()
        conn.execute(insert(exchange_rates), [{"currency": c, "rate": Decimal(r), "valid_from": f, "valid_to": t}
                                              for c, r, f, t in rates])
        rows = [{"external_id": f"o{i}", "name": f"o{i}", "owner_id": owner, "stage": d["stage"],
                 "amount": d["amount"], "currency": d["currency"], "probability": d["probability"],
                 "close_date": TODAY + timedelta(days=d["close_offset"]), "created_at": at(date(2026, 1, 5))}
                for i, d in enumerate(deals)]
        if rows:
            conn.execute(insert(opportunities), rows)


def pandas_rate(currency, day: date) -> Decimal | None:
    """This test's own reading of RATES: the row valid on `day` (USD and no currency need none)."""
    if currency in (None, "USD"):
        return Decimal(1)
    frame = pd.DataFrame(RATES, columns=["currency", "rate", "valid_from", "valid_to"])
    valid = frame[(frame.currency == currency) & (frame.valid_from <= day)
                  & (frame.valid_to.isna() | (frame.valid_to.map(lambda t: t is None or t >= day)))]
    return None if valid.empty else Decimal(valid.sort_values("valid_from").rate.iloc[-1])


def expected(deals) -> dict:
    df = pd.DataFrame(deals, columns=["stage", "amount", "currency", "close_offset", "probability"], dtype=object)
    df["close"] = df.close_offset.map(lambda n: TODAY + timedelta(days=int(n)))
    df = df[(df.close >= PERIOD.start) & (df.close <= PERIOD.end)].copy()
    df["closed"] = [bool(STAGE[s]["is_closed"]) for s in df.stage]
    df["won"] = [bool(STAGE[s]["is_won"]) for s in df.stage]
    df["rate"] = [pandas_rate(c, close if closed else TODAY)
                  for c, close, closed in zip(df.currency, df.close, df.closed, strict=True)]
    df["org"] = [None if a is None or r is None else (a / r).quantize(CENT, ROUND_HALF_EVEN)
                 for a, r in zip(df.amount, df.rate, strict=True)]
    df["missing"] = [a is not None and r is None for a, r in zip(df.amount, df.rate, strict=True)]
    df["prob"] = [p if p is not None else STAGE[s]["probability"] for p, s in zip(df.probability, df.stage,
                                                                                  strict=True)]
    is_open = ~df.closed & pd.Series([STAGE[s]["forecast_category"] != "omitted" for s in df.stage], index=df.index,
                                      dtype=bool)
    won, lost = df.closed & df.won, df.closed & ~df.won
    known = ~df.missing
    org = df.org.map(lambda v: Decimal(0) if v is None else v)
    won_n, lost_n = int((won & known).sum()), int((lost & known).sum())
    return {
        "pipeline": sum(org[is_open], Decimal(0)),
        "open_count": int((is_open & known).sum()),
        "pipeline_left_out": int((is_open & df.missing).sum()),
        "weighted_pipeline": sum((a * p / 100 for a, p in zip(org[is_open], df.prob[is_open], strict=True)),
                                 Decimal(0)),
        "closed_won": sum(org[won], Decimal(0)),
        "won_left_out": int((won & df.missing).sum()),
        "closed_lost": sum(org[lost], Decimal(0)),
        "avg_deal_size": sum(org[won], Decimal(0)) / won_n if won_n else None,
        "win_rate": Decimal(won_n) / (won_n + lost_n) if won_n + lost_n else None,
    }


def shown(value: Decimal | None, places: str = "0.01") -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), ROUND_HALF_EVEN)


def metric(db, name: str, **kw):
    with db.engine.connect() as conn:
        return evaluate(conn, name, PERIOD, ORG, today=TODAY, cache=ResultCache(0), **kw)


BOUNDARY_DEALS = [
    # JPY closed on Oct 21: its only rate ended the day before -> left out; on Oct 20 it converts
    {"stage": "Closed Won", "amount": Decimal("1000000.00"), "currency": "JPY", "close_offset": -35,
     "probability": None},
    {"stage": "Closed Won", "amount": Decimal("1000000.00"), "currency": "JPY", "close_offset": -36,
     "probability": None},
    # EUR closed on Oct 14 (0.91) and Oct 15 (0.875); open EUR at today's 0.92 although it closes in October
    {"stage": "Closed Won", "amount": Decimal("910.00"), "currency": "EUR", "close_offset": -42, "probability": None},
    {"stage": "Closed Won", "amount": Decimal("875.00"), "currency": "EUR", "close_offset": -41, "probability": None},
    {"stage": "Proposal", "amount": Decimal("0.05"), "currency": "EUR", "close_offset": -40, "probability": None},
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deals=st.lists(deal, max_size=20))
@example(deals=BOUNDARY_DEALS)
def test_converted_kpis_match_pandas(db, deals):
    load(db, deals)
    want = expected(deals)
    pipeline = metric(db, "pipeline")
    assert pipeline.value == shown(want["pipeline"])
    assert pipeline.rows[0]["open_count"] == want["open_count"]
    assert pipeline.left_out == want["pipeline_left_out"]
    won = metric(db, "closed_won")
    assert won.value == shown(want["closed_won"])
    assert won.left_out == want["won_left_out"]
    assert metric(db, "weighted_pipeline").value == shown(want["weighted_pipeline"])
    assert metric(db, "closed_lost").value == shown(want["closed_lost"])
    assert metric(db, "avg_deal_size").value == shown(want["avg_deal_size"])
    assert metric(db, "win_rate").value == shown(want["win_rate"], "0.0001")


def test_the_boundaries_worked_by_hand(db):
    load(db, BOUNDARY_DEALS)
    won = metric(db, "closed_won")
    # JPY 1,000,000 on Oct 20 at 151.333333 = 6607.93...; EUR 910 at 0.91 = 1000; EUR 875 at 0.875 = 1000
    assert won.value == Decimal("8607.93")
    assert won.rows[0]["won_count"] == 3
    assert won.left_out == 1  # the JPY deal closed on Oct 21
    # the open EUR 0.05 at today's 0.92 = 0.054347... -> 0.05 (not at October's 0.875, which would give 0.06)
    assert metric(db, "pipeline").value == Decimal("0.05")


@pytest.mark.parametrize(("amount", "rate", "want"), [
    ("10.00", "8", "1.25"), ("0.05", "2", "0.02"), ("0.15", "2", "0.08"), ("-0.05", "2", "-0.02"),
    ("-0.15", "2", "-0.08"), ("1.00", "3", "0.33"), ("2.00", "3", "0.67"), ("160000000000.00", "16250", "9846153.85"),
    ("99999999.99", "0.000001", "99999999990000.00"),
])
def test_money_quotient_rounds_half_even_to_the_cent(db, amount, rate, want):
    """Hand-worked halves (0.025 -> 0.02, 0.075 -> 0.08) and the largest amounts, on both databases."""
    expr = money_quotient(db.engine.dialect.name, literal(Decimal(amount), Money), literal(Decimal(rate),
                                                                                         Numeric(18, 6)))
    with db.engine.connect() as conn:
        got = conn.execute(select(expr)).scalar_one()
    assert Decimal(str(got)).quantize(CENT) == Decimal(want)
    assert Decimal(want) == (Decimal(amount) / Decimal(rate)).quantize(CENT, ROUND_HALF_EVEN)


def test_cli_currency_and_explain(db, monkeypatch, capsys):
    """`bot.py metrics pipeline --currency EUR` at today's rate, hand-worked; --explain says how it converts."""
    import time_machine

    import bot

    load(db, [{"stage": "Proposal", "amount": Decimal("1000.00"), "currency": "USD", "close_offset": 5,
               "probability": None},
              {"stage": "Proposal", "amount": Decimal("920.00"), "currency": "EUR", "close_offset": 6,
               "probability": None},
              {"stage": "Proposal", "amount": Decimal("500.00"), "currency": "GBP", "close_offset": 7,
               "probability": None}])
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "UTC")
    with time_machine.travel(at(TODAY), tick=False):
        assert bot.main(["metrics", "pipeline", "--period", "q4", "--currency", "EUR", "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        # USD 1000 + EUR 920 at 0.92 (= USD 1000) = USD 2000; in EUR at today's 0.92: 1840; GBP has no rate
        assert (report["currency"], report["rows"][0]["value"], report["left_out"]) == ("EUR", 1840, 1)
        assert bot.main(["metrics", "pipeline", "--period", "q4", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "valid on its close date when closed, today's when open" in out
    assert "left out: 1 deal whose currency has no exchange rate on its date" in out
    assert "exchange_rates" in out  # the SQL shows the lookup


# --- the bot's answers: a missing rate, answers in another currency ------------------------------------------

@pytest.fixture
def ask_small(db):
    """The small hand-built org (Ann's Q4 pipeline is USD 3,000) plus a EUR deal and a GBP deal with no rate."""
    from assistant.service import answer_text
    from config import load_settings
    from metrics.scopes import viewer_by_email
    from tests.factories import Factory
    from tests.orgs import build_small_org

    ids = build_small_org(db.engine)
    f = Factory(db.engine)
    f.deal(ids["A"], "Proposal", Decimal("460.00"), date(2026, 12, 10), currency="EUR", name="Berlin rollout")
    f.deal(ids["A"], "Proposal", Decimal("800.00"), date(2026, 12, 11), currency="GBP", name="Leeds pilot")
    with db.engine.begin() as conn:
        conn.execute(insert(exchange_rates), [
            {"currency": "EUR", "rate": Decimal("0.90"), "valid_from": date(2026, 1, 1),
             "valid_to": date(2026, 11, 30)},
            {"currency": "EUR", "rate": Decimal("0.92"), "valid_from": date(2026, 12, 1), "valid_to": None},
        ])
    settings = load_settings({})

    def ask(email: str, text: str):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, email)
        return answer_text(db.engine, viewer, text, settings=settings, now=at(date(2026, 12, 1), 15))

    return ask


def figures(answer) -> dict:
    return {f.label: f.value for f in answer.figures}


def test_a_deal_with_no_rate_is_a_finding_left_out_and_counted(ask_small):
    # Ann's Q4 pipeline: USD 1000 + 2000, EUR 460 at today's 0.92 = USD 500; the GBP 800 has no rate
    a = ask_small("ann.rep@example.com", "/sales pipeline")
    assert figures(a)["Pipeline"] == Decimal("3500.00")
    assert figures(a)["Open deals"] == 3
    assert ("1 deal was left out of these totals: their currency has no exchange rate on their date "
            "(`/sales integrity` lists them).") in a.lines
    found = ask_small("olly.ops@example.com", "/sales integrity missing exchange rate")
    rows = [row for row in found.table.rows if row[0] == "Leeds pilot"]
    assert len(rows) == 1 and "amount £800 has no exchange rate to USD" in rows[0][2]  # Babel: the deal's currency
    assert [row[0] for row in found.table.rows] == ["Leeds pilot"]


def test_pipeline_in_eur_at_todays_rate(ask_small):
    # USD 3500 at today's 0.92 = EUR 3220; weighted: 1000×.5 + 2000×.8 + 500×.5 = USD 2350 -> EUR 2162
    a = ask_small("ann.rep@example.com", "/sales pipeline in eur")
    assert a.currency == "EUR"
    assert (figures(a)["Pipeline"], figures(a)["Weighted"]) == (Decimal("3220.00"), Decimal("2162.00"))
    assert "Amounts in EUR at today's rate: 1 USD = 0.92 EUR (2026-12-01)." in a.lines
    assert {row[0]: row[1] for row in a.table.rows} == {"Proposal": Decimal("1380.00"),
                                                         "Negotiation": Decimal("1840.00")}
    from render.text import answer_to_text

    assert "€3.2K" in answer_to_text(a)
    same = ask_small("ann.rep@example.com", "/sales pipeline --currency EUR")
    assert figures(same)["Pipeline"] == Decimal("3220.00")


def test_a_currency_with_no_rate_today_is_a_sentence(ask_small):
    a = ask_small("ann.rep@example.com", "/sales pipeline in jpy")
    assert any("no exchange rate for JPY valid today (Dec 1, 2026)" in line for line in a.lines)
    assert not a.figures


def test_deal_lists_rank_and_filter_in_the_org_currency(ask_small):
    # EUR 460 is USD 500: below Ann's USD 700 deal, above nothing else over $450; the GBP 800 (no rate) has no
    # amount in USD and so is not "over $450" (it would lead the list if compared unconverted)
    a = ask_small("ann.rep@example.com", "/sales deals this quarter over $450")
    assert [row[3] for row in a.table.rows] == [Decimal("2000.00"), Decimal("1000.00"), Decimal("700.00"),
                                                Decimal("500.00")]
    assert (a.table.rows[1][0], a.table.rows[3][0]) == ("Acme platform", "Berlin rollout")
    # in EUR the filter is in EUR too: over EUR 600 is over USD 652.17, so the EUR 460 deal drops out
    e = ask_small("ann.rep@example.com", "/sales deals this quarter over $600 in eur")
    assert [row[3] for row in e.table.rows] == [Decimal("1840.00"), Decimal("920.00"), Decimal("644.00")]
