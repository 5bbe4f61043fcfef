"""What the new readings answer, over the small hand-built org (tests/orgs.py): figures worked out by hand.

Also `bot.py parse` (the reading, before any query), impossible periods as sentences, and periods over the whole
calendar (hypothesis: never an exception, only a period or a sentence).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.console import run_parse
from assistant.grammar import parse_request
from assistant.service import answer_text
from config import load_settings
from metrics.periods import PeriodError, extract_period, parse_period
from metrics.scopes import viewer_by_email
from tests.orgs import build_small_org

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday; Q4 FY2026
SETTINGS = load_settings({})
ANN, EXEC = "ann.rep@example.com", "erin.exec@example.com"


@pytest.fixture
def small_org(db):
    build_small_org(db.engine)
    return db.engine


@pytest.fixture
def ask(small_org):
    def ask(email: str, text: str):
        with small_org.connect() as conn:
            viewer = viewer_by_email(conn, email)
        return answer_text(small_org, viewer, text, settings=SETTINGS, now=NOW)

    return ask


def figures(answer) -> dict:
    return {f.label: f.value for f in answer.figures}


def test_what_did_i_close(ask):
    a = ask(ANN, "what did I close this quarter?")
    assert (a.kind, figures(a)["Closed won"], figures(a)["Won deals"]) == ("metric", Decimal("3000.00"), 1)


def test_bookings_by_owner(ask):
    a = ask(EXEC, "bookings by owner this quarter")
    # Ann 3000; Bob 1000 + 2000; Cat 5000
    assert {row[0]: row[1] for row in a.table.rows} == {
        "Ann Rep": Decimal("3000.00"), "Bob Rep": Decimal("3000.00"), "Cat Rep": Decimal("5000.00")}
    assert figures(a)["Closed won"] == Decimal("11000.00")


def test_average_deal_size(ask):
    # 3000 + 1000 + 2000 + 5000 won in Q4 over 4 deals
    assert figures(ask(EXEC, "average deal size this quarter"))["Average deal size"] == Decimal("2750.00")


def test_weighted_pipeline_by_stage(ask):
    a = ask(ANN, "what's my weighted pipeline by stage")
    # Proposal 1000 x 50% and Negotiation 2000 x 80%; the omitted 700 and the January 4000 are out
    assert figures(a)["Weighted pipeline"] == Decimal("2100.00")
    assert [(row[0], row[1]) for row in a.table.rows] == [("Proposal", Decimal("500.00")),
                                                          ("Negotiation", Decimal("1600.00"))]


def test_two_people_side_by_side(ask):
    a = ask(EXEC, "/sales winrate ann vs bob rep this quarter")
    # Ann: 1 won, 1 lost; Bob: 2 won, none lost
    assert figures(a) == {"Ann Rep": Decimal("0.5000"), "Bob Rep": Decimal("1.0000"), "Change": "−50 pts"}


def test_two_periods_side_by_side(ask):
    a = ask(ANN, "my pipeline vs next quarter")
    # this quarter 1000 + 2000; next quarter the January 4000
    f = figures(a)
    assert f["this quarter (Q4 FY2026)"] == Decimal("3000.00")
    assert f["next quarter (Q1 FY2027)"] == Decimal("4000.00") and f["Change"] == Decimal("-1000.00")
    assert a.lines == ["−25% against next quarter (Q1 FY2027)."]


def test_top_deals_and_filters(ask):
    top = ask(EXEC, "top 2 deals this quarter")
    # open in Q4: 2000, 1000, 700 (omitted, still open), 300
    assert [row[3] for row in top.table.rows] == [Decimal("2000.00"), Decimal("1000.00")]
    assert figures(top)["Deals"] == 4
    over = ask(EXEC, "deals over $900 this quarter")
    assert [row[3] for row in over.table.rows] == [Decimal("2000.00"), Decimal("1000.00")]
    stage = ask(EXEC, "deals in negotiation this quarter")
    assert [(row[2], row[3]) for row in stage.table.rows] == [("Negotiation", Decimal("2000.00"))]


def test_impossible_and_endless_periods_are_answered(ask):
    for text in ("/sales funnel all time", "/sales pipeline fy9999", "/sales pipeline 9999-12",
                 "/sales quota all time chart", "/sales pipeline all", "/sales winrate all time"):
        a = ask(EXEC, text)
        assert a.error_id is None and a.kind != "error", (text, a.lines)
        assert not any("9999" in line for line in a.context if "all" in text), a.context
    assert ask(EXEC, "/sales pipeline all").context[0] == "all time"
    week = ask(EXEC, "/sales pipeline this week").context[0]
    assert week == "this week (Nov 23 – 29, 2026)"
    q5 = ask(EXEC, "/sales funnel q5")
    assert q5.kind == "error" and "no Q5" in q5.lines[0]


def test_words_are_never_people_and_never_dropped(ask):
    pipe = ask(ANN, "how's my pipe looking")
    assert pipe.kind == "metric" and figures(pipe)["Pipeline"] == Decimal("3000.00")
    monday = ask(EXEC, "what changed since monday")
    assert monday.kind == "list" and "Monday" not in " ".join(monday.lines)
    nonsense = ask(ANN, "flibber jabber")
    assert nonsense.title == "I can't answer that yet"
    assert sum(line.startswith("• ") for line in nonsense.lines) == 3
    by_owner = ask(EXEC, "/sales pipeline by owner chart")  # the chart follows the breakdown: nothing ignored
    assert by_owner.understood is None and by_owner.chart.kind == "bars"
    stray = ask(EXEC, "pipeline flibber this quarter")
    assert stray.kind == "metric" and "I ignored: “flibber”." in stray.understood


def test_parse_prints_the_reading(small_org):
    out = io.StringIO()
    run_parse(small_org, SETTINGS, EXEC, "top 5 deals closing this month over 100k by owner", as_json=True, out=out)
    reading = json.loads(out.getvalue())
    assert (reading["intent"], reading["limit"], reading["by"], reading["filters"]) == (
        "deals", 5, ["owner"], {"amount_min": "100000", "sort": "largest"})
    assert reading["scope"] == {"kind": "org", "name": "the whole org"}
    assert reading["period"]["default"] is False
    out = io.StringIO()
    run_parse(small_org, SETTINGS, "max.manager@example.com", "win rate ann vs bob rep", out=out)
    assert "vs Bob Rep (rep)" in out.getvalue() and "Ann Rep (rep)" in out.getvalue()


PHRASES = ("today", "yesterday", "this week", "last month", "next quarter", "this year", "q3", "ytd", "qtd", "mtd",
           "last 30 days", "next 90 days", "all", "all time", "since monday", "last friday", "next monday",
           "end of quarter", "rest of the year", "eoy", "since last week", "since yesterday", "this quarter",
           "last 2 weeks")


@settings(max_examples=300, deadline=None)
@given(today=st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
       phrase=st.one_of(st.sampled_from(PHRASES),
                        st.integers(0, 99999).map(lambda y: f"fy{y}"),
                        st.integers(0, 99999).map(lambda y: f"{y:04d}-12"),
                        st.integers(0, 99999).map(lambda y: f"q4 {y}"),
                        st.integers(0, 99999).map(lambda y: f"{y:04d}-01-01..9999-12-31")),
       fiscal=st.integers(1, 12))
def test_periods_over_the_whole_calendar(today, phrase, fiscal):
    """Far past, far future, any fiscal start: a period (labelled, in order) or a PeriodError, never a crash."""
    for read in (lambda: parse_period(phrase, today, fiscal), lambda: extract_period(f"pipeline {phrase}", today,
                                                                                      fiscal)[0]):
        try:
            period = read()
        except PeriodError as exc:
            assert str(exc)
            continue
        if period is not None:
            assert period.start <= period.end and period.described
    request = parse_request(f"/sales pipeline {phrase} vs last year", today, fiscal)
    assert request.intent == "pipeline"  # read, never raised: an impossible period is kept as a sentence
