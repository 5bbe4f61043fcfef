"""`/sales trend …` and `/sales accuracy …` through the real bot and the fake Slack on the small org (tests/orgs.py,
clock held at 2026-12-01 15:00 UTC): each trend point against the pandas rebuild of the history
(tests/asof_oracle.py), the change in words worked by hand, the quota line on the chart; the accuracy table and the
mean absolute percentage error against a hand-worked example; a rep cannot see another rep's trend or accuracy;
the charts arrive privately as PNG."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert

from assistant.service import answer_text
from assistant.trend_answers import _change_line, change_words
from db.schema import bot_forecast_calls
from metrics.moments import trend_moments
from metrics.periods import Period
from metrics.scopes import viewer_by_email
from render.charts import chart_figure
from tests.asof_oracle import History, figures_at
from tests.factories import Factory, at
from tests.fakeslack import post_slash_command
from tests.slackbot import SECRET
from tests.test_permissions import SCOPE_REFUSAL, assert_refused, by_slash_command, text_of

NOW = datetime(2026, 12, 1, 15, tzinfo=UTC)
Q2 = Period(date(2026, 4, 1), date(2026, 6, 30), "Q2 FY2026", "quarter")
Q3 = Period(date(2026, 7, 1), date(2026, 9, 30), "Q3 FY2026", "quarter")
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")


def test_change_in_words_by_hand():
    assert change_words(Decimal(100), Decimal(112), "money", 4, "weekly") == "up 12% in 4 weeks"
    assert change_words(Decimal(200), Decimal(150), "money", 3, "monthly") == "down 25% in 3 months"
    assert change_words(Decimal(100), Decimal("100.4"), "money", 1, "weekly") == "flat over 1 week"
    # a ratio moves in points: 50% → 44% is 6 points down, not 12%
    assert change_words(Decimal("0.5"), Decimal("0.44"), "ratio", 2, "weekly") == "down 6 points in 2 weeks"
    assert change_words(Decimal(0), Decimal(5000), "money", 2, "weekly") == "up $5,000 in 2 weeks"
    assert "no value" in change_words(None, Decimal(1), "ratio", 2, "weekly")


def test_the_change_runs_from_the_first_point_with_a_value():
    """A win rate has no value before the period's first deal closes: the change is counted from the first point
    that has one; with fewer than two, the sentence says why, once (no doubled full stop)."""
    rows = [{"value": None}, {"value": Decimal("0.5")}, {"value": None}, {"value": Decimal("0.44")}]
    assert _change_line("Win rate", rows, "ratio", "weekly", "USD") == "Win rate: Down 6 points in 2 weeks."
    alone = _change_line("Win rate", rows[:2], "ratio", "weekly", "USD")
    assert "no value" in alone and not alone.endswith("..")


@pytest.fixture
def bot(running_bot):
    """Ann gets a 5,000 Proposal closing Dec 15, created Nov 10; and two finished quarters worked by hand:
    Q2: a 1,000 commit deal (Negotiation) won at 1,000 on Jun 20 → forecast at mid-quarter 1,000, actual 1,000.
    Q3: a 4,000 commit deal won at 5,000 on Sep 20, a 2,000 best-case deal (Proposal) lost on Sep 25, and Ann's
    call of 4,500 submitted Aug 3 → at mid-quarter (Aug 10 06:00 UTC) commit 4,000, best case 6,000; actual 5,000.
    Cat (outside Max's tree) won 800 in Q3."""
    engine, ann = running_bot.deps.engine, running_bot.org["A"]
    f = Factory(engine)
    f.deal(ann, "Proposal", 5000, date(2026, 12, 15), created=date(2026, 11, 10))
    q2 = f.deal(ann, "Closed Won", 1000, date(2026, 6, 20), created=date(2026, 4, 1), history=False)
    f.history(q2, at(date(2026, 4, 1)), stage="Negotiation", amount=Decimal(1000), close_date=date(2026, 6, 20))
    f.history(q2, at(date(2026, 6, 20)), stage="Closed Won", amount=Decimal(1000), close_date=date(2026, 6, 20))
    won = f.deal(ann, "Closed Won", 5000, date(2026, 9, 20), created=date(2026, 7, 1), history=False)
    f.history(won, at(date(2026, 7, 1)), stage="Negotiation", amount=Decimal(4000), close_date=date(2026, 9, 20))
    f.history(won, at(date(2026, 9, 20)), stage="Closed Won", amount=Decimal(5000), close_date=date(2026, 9, 20))
    lost = f.deal(ann, "Closed Lost", 2000, date(2026, 9, 25), created=date(2026, 7, 1), history=False)
    f.history(lost, at(date(2026, 7, 1)), stage="Proposal", amount=Decimal(2000), close_date=date(2026, 9, 25))
    f.history(lost, at(date(2026, 9, 25)), stage="Closed Lost", amount=Decimal(2000), close_date=date(2026, 9, 25))
    cat = f.deal(running_bot.org["C"], "Closed Won", 800, date(2026, 9, 1), created=date(2026, 7, 1), history=False)
    f.history(cat, at(date(2026, 9, 1)), stage="Closed Won", amount=Decimal(800), close_date=date(2026, 9, 1))
    with engine.begin() as conn:
        conn.execute(insert(bot_forecast_calls), {
            "rep_id": ann, "scope": "rep", "period_start": Q3.start, "period_end": Q3.end, "week_of": date(2026, 8, 3),
            "commit_amount": Decimal(4500), "best_case_amount": Decimal(6000), "submitted_by": ann,
            "submitted_at": datetime(2026, 8, 3, 12, tzinfo=UTC), "late": False})
    return running_bot


def ask(bot, email: str, text: str):
    with bot.deps.engine.connect() as conn:
        viewer = viewer_by_email(conn, email)
    return answer_text(bot.deps.engine, viewer, text, settings=bot.deps.settings, now=NOW)


def test_trend_points_words_and_chart(bot):
    answer = ask(bot, "ann.rep@example.com", "/sales trend pipeline weekly")
    moments = trend_moments("weekly", 13, NOW, bot.deps.settings.tz)
    with bot.deps.engine.connect() as conn:
        history = History(conn)
        expected = [figures_at(history.states(m), Q4.start, Q4.end, {bot.org["A"]})["pipeline"] for m in moments]
    assert [row[0] for row in answer.table.rows] == [m.astimezone(bot.deps.settings.tz).date() for m in moments]
    assert [row[1] for row in answer.table.rows] == expected
    # by hand: Ann's Q4 pipeline is 1,000 + 2,000 until the 5,000 created on Nov 10 (first seen at Nov 15's end)
    assert expected[0] == Decimal("3000.00") and expected[-1] == Decimal("8000.00")
    assert "Open pipeline: Up 167% in 12 weeks." in answer.lines  # 5,000 ÷ 3,000 = 166.7%
    assert answer.chart.kind == "lines" and [v for _, v in answer.chart.series] == expected
    assert answer.chart.target is None  # no quota line on pipeline

    monthly = ask(bot, "ann.rep@example.com", "/sales trend commit monthly")
    assert len(monthly.table.rows) == 12 and monthly.chart.target == Decimal("10000.00")  # Ann's Q4 quota
    [ax] = chart_figure(monthly.chart).axes  # the quota drawn across: a flat line at 10,000, named
    assert [list(line.get_ydata()) for line in ax.get_lines()][1] == [10000.0, 10000.0]
    assert any(t.get_text().replace("\\$", "$") == "quota $10K" for t in ax.texts)  # "$" escaped for mathtext
    attainment = ask(bot, "ann.rep@example.com", "/sales trend attainment")
    assert attainment.chart.target == 1 and attainment.table.rows[-1][1] == Decimal("0.3")  # 3,000 of 10,000


def with_chart(bot, user: str, text: str):
    """A slash command's answer (in the channel, privately) and the chart it sent to the asker's DM, once the note
    saying so has come too."""
    bot.fake.reset()
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=bot.fake.response_url("cmd"),
                                   channel_id="C5")
    assert status == 200
    answer, note = bot.fake.wait_for_messages(2, kind="response_url", timeout=15)[-2:]
    assert "I sent the chart to you in a direct message" in note.text
    [upload] = bot.fake.uploads()
    assert upload.completed and upload.is_png and upload.channel_id == f"D{user}"
    return text_of(answer), upload


def test_trend_in_slack_chart_private_and_scoped(bot):
    text, upload = with_chart(bot, "UANN", "trend pipeline weekly")
    assert "Up 167% in 12 weeks" in text
    assert upload.title == "Open pipeline trend · Ann Rep · this quarter (Q4 FY2026)"
    assert_refused(by_slash_command(bot, "UANN", "trend pipeline bob"), SCOPE_REFUSAL, bot, {"B"})


def test_accuracy_table_and_mape_by_hand(bot):
    answer = ask(bot, "ann.rep@example.com", "/sales accuracy")
    rows = {r[0]: r for r in answer.table.rows}
    assert [r[0] for r in answer.table.rows] == ["Q4 FY2025", "Q1 FY2026", "Q2 FY2026", "Q3 FY2026"]
    d = Decimal
    # Q3: commit 4,000, best case 6,000, call 4,500, actual 5,000: accuracy 1 − 1,000/5,000 = 0.8, bias −0.2
    assert rows["Q3 FY2026"][2:] == [d("4000.00"), d("6000.00"), d("4500.00"), d("5000.00"), d("0.8"), d("-0.2")]
    assert rows["Q2 FY2026"][2:] == [d("1000.00"), d("1000.00"), None, d("1000.00"), d("1"), d("0")]
    assert rows["Q1 FY2026"][5:] == [d("0.00"), None, None]  # nothing closed: no accuracy
    # MAPE over the quarters with an actual: (0.2 + 0) / 2 = 10%
    assert answer.lines[0] == "Mean absolute percentage error of the commit at mid-quarter: 10% over 2 quarters."
    # the chart: Q3's commit roll-up each Monday (4,000 until the win on Sep 20, then 5,000), the actual's line
    assert answer.chart.target == d("5000.00")
    values = [v for _, v in answer.chart.series]
    assert len(values) == 13 and set(values[:11]) == {d("4000.00")} and values[-1] == d("5000.00")

    ytd = ask(bot, "ann.rep@example.com", "/sales accuracy ytd")
    assert [r[0] for r in ytd.table.rows] == ["Q1 FY2026", "Q2 FY2026", "Q3 FY2026"]
    unfinished = ask(bot, "ann.rep@example.com", "/sales accuracy this quarter")
    assert unfinished.kind == "error" and "finished quarters" in " ".join(unfinished.lines)
    last = ask(bot, "ann.rep@example.com", "/sales accuracy last quarter")
    assert [r[0] for r in last.table.rows] == ["Q3 FY2026"]
    assert "10%" not in last.lines[0] and "20%" in last.lines[0]


def test_accuracy_in_slack_private_chart_and_scoped(bot):
    text, upload = with_chart(bot, "UANN", "accuracy last 4 quarters")
    assert "10% over 2 quarters" in text
    assert upload.title == "Commit roll-up week by week vs actual · Ann Rep · Q3 FY2026"
    assert_refused(by_slash_command(bot, "UANN", "accuracy bob"), SCOPE_REFUSAL, bot, {"B"})
    team, _ = with_chart(bot, "UMAX", "accuracy team last quarter")
    assert "Q3 FY2026  Ann Rep" in team and "Cat Rep" not in team  # Max's tree only, not Cat's Q3 win
