"""`chart` on any answer draws the kind that fits its data — bars by owner or stage (every stage in order, zero
ones too, spread over the width), lines by month, win rate on a percent axis, a funnel, paired bars for a
comparison — titled with the scope and the period; an outlier is clipped with a break mark and its true value.
Figures are hand-worked from tests/orgs.py (the clock held at 2026-12-01). Sizes are checked per kind in
tests/test_render_charts.py; render times are measured by the benchmark only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.service import answer_text
from config import load_settings
from metrics.scopes import viewer_by_email
from render.answers import ChartSpec
from render.charts import AMBER, chart_figure
from tests.orgs import build_small_org

SETTINGS = load_settings({})
EXEC, ANN = "erin.exec@example.com", "ann.rep@example.com"
QUARTER, YEAR = "this quarter (Q4 FY2026)", "this year (FY2026)"


@pytest.fixture
def ask(db, small_org_clock):
    build_small_org(db.engine)

    def ask(email: str, text: str):
        with db.engine.connect() as conn:
            viewer = viewer_by_email(conn, email)
        answer = answer_text(db.engine, viewer, text, settings=SETTINGS)
        assert answer.kind == "metric", answer.lines
        return answer

    return ask


def drawn(spec: ChartSpec):
    fig = chart_figure(spec)
    fig.canvas.draw()
    [ax] = fig.axes
    return ax


def texts(items) -> list[str]:
    return [t.get_text() for t in items]


def centres(ax) -> list[float]:
    """Each bar's centre as a fraction of the frame's width."""
    left, right = ax.get_xlim()
    return [(p.get_x() + p.get_width() / 2 - left) / (right - left) for p in ax.patches]


def test_pipeline_by_stage_has_every_open_stage_in_order(ask):
    chart = ask(ANN, "pipeline by stage chart").chart
    # Ann's open Q4 deals: Proposal 1000, Negotiation 2000; the 700 forecast as omitted is left out, the 4000
    # closes in January: Prospecting and Qualification are zero, and still drawn, in pipeline order
    assert chart.kind == "bars" and chart.title == f"Open pipeline by stage · Ann Rep · {QUARTER}"
    ax = drawn(chart)
    assert texts(ax.get_xticklabels()) == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    assert [p.get_height() for p in ax.patches] == [0, 0, 1000, 2000]
    assert texts(ax.texts) == ["$0", "$0", "$1K", "$2K"]
    assert centres(ax) == pytest.approx([0.125, 0.375, 0.625, 0.875])  # one slot each, over the whole width


def test_two_bars_spread_over_the_width():
    ax = drawn(ChartSpec("bars", "Two owners", [("Ann", Decimal(3000)), ("Bob", Decimal(1000))]))
    assert centres(ax) == pytest.approx([0.25, 0.75])  # not two slabs at the left of an empty frame
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.35, 0.35])  # narrowed, not widened


def test_bookings_by_owner_are_bars_largest_first(ask):
    chart = ask(EXEC, "bookings by owner this quarter chart").chart
    assert chart.title == f"Closed won by owner · the whole org · {QUARTER}"
    ax = drawn(chart)
    # Cat 5000; Ann 3000; Bob 1000 + 2000
    assert [p.get_height() for p in ax.patches] == [5000, 3000, 3000]
    assert texts(ax.get_xticklabels()) == ["Cat Rep", "Ann Rep", "Bob Rep"]


def test_monthly_bookings_are_a_line_with_every_month(ask):
    chart = ask(EXEC, "closed won by month this year chart").chart
    assert chart.kind == "lines" and chart.title == f"Closed won by month · the whole org · {YEAR}"
    ax = drawn(chart)
    [line] = ax.lines
    # won: Ann 3000 on Oct 10; Bob 1000 + 2000 in November; Cat 5000 on Dec 1; nothing before October
    assert list(line.get_ydata()) == [0] * 9 + [3000, 3000, 5000]
    assert texts(ax.get_xticklabels())[:2] == ["Jan 2026", "Feb 2026"]
    assert texts(ax.get_xticklabels())[-1] == "Dec 2026"


def test_a_single_figure_charts_its_trend(ask):
    chart = ask(ANN, "what did I close this quarter chart").chart
    assert chart.kind == "lines" and chart.title == f"Closed won by month · Ann Rep · {QUARTER}"
    assert chart.series == [("2026-10", Decimal("3000.00")), ("2026-11", 0), ("2026-12", 0)]


def test_win_rate_is_bars_on_a_percent_axis(ask):
    chart = ask(EXEC, "/sales winrate this quarter by owner chart").chart
    ax = drawn(chart)
    # Bob 2 won of 2, Cat 1 of 1, Ann 1 won (3000) of 2 (lost 500)
    assert [p.get_height() for p in ax.patches] == [1, 1, 0.5]
    assert texts(ax.texts) == ["100%", "100%", "50%"]
    ticks = texts(ax.get_yticklabels())
    assert ticks[0] == "0%" and "100%" in ticks and all(t.endswith("%") for t in ticks)


def test_comparison_is_paired_bars(ask):
    answer = ask(EXEC, "ann vs cat closed won this quarter chart")
    chart = answer.chart
    assert chart.kind == "paired" and chart.title == f"Closed won: Ann Rep vs Cat Rep · {QUARTER}"
    ax = drawn(chart)
    assert [p.get_height() for p in ax.patches] == [3000, 5000]
    assert texts(ax.get_legend().get_texts()) == ["Ann Rep", "Cat Rep"]
    assert texts(ax.texts) == ["$3K", "$5K"]


def test_funnel_centres_each_stage_under_the_one_before():
    ax = drawn(ChartSpec("funnel", "Stage conversion · West · Q4",
                         [("Prospecting", 40), ("Proposal", 10), ("Negotiation", 4)],
                         extra={"conversion": [Decimal("0.25"), Decimal("0.4"), None]}))
    assert texts(ax.get_yticklabels()) == ["Prospecting", "Proposal", "Negotiation"]
    assert list(ax.get_yticks()) == [2, 1, 0]  # the first stage on top
    assert [(p.get_x(), p.get_width()) for p in ax.patches] == [(0, 40), (15, 10), (18, 4)]
    assert texts(ax.texts) == ["40 · 25% moved on", "10 · 40% moved on", "4"]


def test_funnel_answer(ask):
    chart = ask(EXEC, "/sales funnel this quarter chart").chart
    assert chart.kind == "funnel" and chart.title == f"Stage conversion · the whole org · {QUARTER}"


def test_an_outlier_is_clipped_with_its_true_value():
    ax = drawn(ChartSpec("bars", "Closed won by owner",
                         [("Ann", 1000), ("Bob", 1200), ("Cat", 900), ("Dan", 50_000), ("Eve", 1100)]))
    heights = [p.get_height() for p in ax.patches]
    # Dan's 50,000 is over 5x the median of the rest (1,050): the axis stops at 1.45 x 1,200 = 1,740
    assert ax.get_ylim()[1] == pytest.approx(1740)
    assert heights == [1000, 1200, 900, pytest.approx(1740), 1100]
    assert ax.patches[3].get_facecolor() == pytest.approx((*[int(AMBER[i:i + 2], 16) / 255 for i in (1, 3, 5)], 1))
    assert texts(ax.texts) == ["$50K ↑", "$1K", "$1.2K", "$900", "$1.1K"]  # the true value, on the clipped bar
    assert len(ax.lines) == 2  # the break mark: two slanted strokes across it


def test_a_tall_bar_under_the_rule_is_drawn_whole():
    ax = drawn(ChartSpec("bars", "Closed won by owner", [("Ann", 1000), ("Bob", 1000), ("Dan", 4900)]))
    assert [p.get_height() for p in ax.patches] == [1000, 1000, 4900]
    assert ax.get_ylim()[1] > 4900 and not ax.lines
