"""render.charts: PNG charts, one per kind, small and quick (timings are measured by the benchmark, not here)."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from matplotlib.colors import to_rgba

from render.answers import ChartSpec
from render.charts import (
    BLUE,
    CHART_KINDS,
    GREEN,
    chart_alt_text,
    chart_figure,
    chart_timings,
    render_chart,
    sample_specs,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 200 * 1024


def check_png(data: bytes) -> None:
    assert data[:8] == PNG_MAGIC
    assert len(data) <= MAX_BYTES, len(data)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 720)  # 6.4 x 3.6 in at 200 dpi: twice the pixel density


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_each_kind_renders(kind):
    check_png(render_chart(sample_specs()[kind]))


def drawn(spec: ChartSpec):
    """The chart's Axes after a draw (tick labels from formatters exist only once drawn)."""
    fig = chart_figure(spec)
    fig.canvas.draw()
    [ax] = fig.axes
    return ax


def texts(items) -> list[str]:
    return [t.get_text() for t in items]


def test_pipeline_by_stage_shows_each_stage_and_its_amount():
    ax = drawn(ChartSpec("pipeline_by_stage", "Open pipeline — West",
                         [("Prospecting", Decimal(120_000)), ("Proposal", Decimal(45_000)), ("Negotiation", None)]))
    assert ax.get_title(loc="left") == "Open pipeline — West"
    assert [p.get_height() for p in ax.patches] == [120_000, 45_000, 0]
    assert texts(ax.get_xticklabels()) == ["Prospecting", "Proposal", "Negotiation"]
    assert texts(ax.texts) == ["$120K", "$45K", "$0"]  # the value on each bar
    assert texts(ax.get_yticklabels())[0] == "$0"


def test_a_long_stage_list_folds_its_tail_into_one_bar():
    ax = drawn(ChartSpec("pipeline_by_stage", "Many stages", [(f"Stage {i}", i * 1000) for i in range(100)]))
    assert len(ax.patches) == 30
    assert texts(ax.get_xticklabels()) == [f"Stage {i}" for i in range(29)] + ["+71 more"]
    # stages 29..99: 1,000 x (29 + ... + 99) = 1,000 x 71 x 64
    heights = [p.get_height() for p in ax.patches]
    assert heights[:29] == [i * 1000 for i in range(29)]
    # the tail (4,544,000) is over 5x the median of the rest: clipped at the frame's top, its true value written
    assert heights[29] == ax.get_ylim()[1] < 4_544_000
    assert texts(ax.texts) == ["$4.5M ↑"]  # too many bars to print the others' values


def test_forecast_bars_and_the_quota_line():
    ax = drawn(ChartSpec("forecast", "Forecast vs quota — Q3",
                         [("Closed", Decimal(300_000)), ("Commit", Decimal(450_000)), ("Best case", Decimal(600_000))],
                         target=Decimal(1_000_000)))
    assert ax.get_title(loc="left") == "Forecast vs quota — Q3"
    assert [p.get_height() for p in ax.patches] == [300_000, 450_000, 600_000]
    assert texts(ax.get_xticklabels()) == ["Closed", "Commit", "Best case"]
    assert texts(ax.texts) == ["$300K", "$450K", "$600K", "Quota $1M"]
    [quota] = ax.lines
    assert list(quota.get_ydata()) == [1_000_000, 1_000_000]


def test_leaderboard_ranks_the_top_reps_leader_on_top():
    ax = drawn(ChartSpec("leaderboard", "Attainment",
                         [("Ann", Decimal("1.25")), ("Bob", Decimal("0.5")), ("Cat", Decimal("0.9")),
                          ("Dan", Decimal("0.1"))], target=Decimal(1), extra={"top": 3}))
    # bottom to top: Bob, Cat, Ann (Dan is fourth: off the board)
    assert texts(ax.get_yticklabels()) == ["Bob", "Cat", "Ann"]
    assert [p.get_width() for p in ax.patches] == [0.5, 0.9, 1.25]
    assert [p.get_facecolor() for p in ax.patches] == [to_rgba(BLUE), to_rgba(BLUE), to_rgba(GREEN)]  # 100%+ green
    assert texts(ax.texts) == ["50%", "90%", "125%"]
    [target] = ax.lines
    assert list(target.get_xdata()) == [1, 1]


def test_attainment_pace_steps_to_the_closed_won_against_the_pace_line():
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    ax = drawn(ChartSpec("attainment_pace", "Closed won vs pace",
                         [(date(2026, 7, 15), Decimal(200_000)), (date(2026, 8, 1), Decimal(500_000))],
                         target=Decimal(1_000_000), extra={"start": start, "end": end}))
    won, pace, quota = ax.lines
    assert list(won.get_xdata()) == [start, date(2026, 7, 15), date(2026, 8, 1)]  # from 0 on the first day
    assert list(won.get_ydata()) == [0, 200_000, 500_000]
    assert (list(pace.get_xdata()), list(pace.get_ydata())) == ([start, end], [0, 1_000_000])
    assert list(quota.get_ydata()) == [1_000_000, 1_000_000]
    assert texts(ax.get_legend().get_texts()) == ["Closed won", "Pace to quota", "Quota $1M"]
    assert texts(ax.texts) == ["$500K · 50%"]
    # 92 days, a tick every 16 days
    assert texts(ax.get_xticklabels()) == ["1 Jul", "17 Jul", "2 Aug", "18 Aug", "3 Sep", "19 Sep"]


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_empty_series_draws_no_data(kind):
    check_png(render_chart(ChartSpec(kind, f"Nothing yet: {kind}", [])))
    ax = drawn(ChartSpec(kind, f"Nothing yet: {kind}", []))
    assert (len(ax.patches), len(ax.lines)) == (0, 0)
    assert texts(ax.texts) == ["No data for this period"]
    assert (list(ax.get_xticks()), list(ax.get_yticks())) == ([], [])


def test_dollar_signs_in_data_are_shown_literally():
    ax = drawn(ChartSpec("forecast", "From $1M to $2M", [("$\\frac{$", 1), ("a$b$c", 2)], target=Decimal(3)))
    assert ax.get_title(loc="left") == r"From \$1M to \$2M"  # an escaped $ draws a plain dollar sign
    assert texts(ax.get_xticklabels()) == [r"\$\frac{\$", r"a\$b\$c"]


def test_awkward_data():
    """None values, strings, datetimes, unicode and escaping-prone names, negative values, one point."""
    specs = [
        ChartSpec("pipeline_by_stage", "<script> & Co", [("Négociation 漢字", None), ("", Decimal(-5)), (None, "x")]),
        ChartSpec("attainment_pace", "One point", [(datetime(2026, 7, 3, 12), Decimal(10))], target=None),
        ChartSpec(
            "attainment_pace",
            "ISO dates, no bounds",
            [("2026-07-01", 0), ("2026-07-15", 5_000), ("not a date", 9)],
            target=Decimal(100_000),
        ),
        ChartSpec(
            "attainment_pace",
            "Zero quota",
            [(date(2026, 7, 1), 0)],
            target=Decimal(0),
            extra={"start": date(2026, 7, 1), "end": date(2026, 9, 30)},
        ),
        ChartSpec("forecast", "No quota", [("Closed", 0), ("Commit", 0)]),
        ChartSpec("leaderboard", "Two reps, all zero", [("A" * 80, 0), ("B", None)], extra={"top": 5}),
        ChartSpec("leaderboard", "Many reps", [(f"Rep {i}", Decimal(i) / 40) for i in range(500)]),
        ChartSpec("pipeline_by_stage", "Many stages", [(f"Stage {i}", i * 1000) for i in range(100)]),
        # dollar pairs in data would be mathtext (and "$\\frac$" would not even parse): shown literally instead
        ChartSpec("forecast", "From $1M to $2M", [("$\\frac{$", 1), ("a$b$c", 2)], target=Decimal(3)),
        ChartSpec("leaderboard", "$x$", [("$\\sqrt$", 0.5)]),
    ]
    for spec in specs:
        check_png(render_chart(spec))


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown chart kind"):
        render_chart(ChartSpec("pie", "t", [("a", 1)]))


def test_charts_render_from_threads():
    """The OO API (no pyplot) keeps no global figure state: concurrent renders all succeed."""
    specs = sample_specs()
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def work(kind, spec):
        try:
            results[kind] = render_chart(spec)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=item) for item in specs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # the same pictures as one at a time: no figure drew into another's
    assert results == {kind: render_chart(spec) for kind, spec in specs.items()}
    for png in results.values():
        check_png(png)


def test_chart_timings_shape():
    timings = chart_timings(n=1)
    assert set(timings) == set(CHART_KINDS)
    for p50, p95, size in timings.values():
        assert 0 < p50 <= p95
        assert 0 < size <= MAX_BYTES


def test_alt_text():
    specs = sample_specs()
    assert chart_alt_text(specs["forecast"]) == (
        "Forecast vs quota — Q3 FY2026: Closed $812K, Commit $1.1M, Best case $1.5M, Pipeline $3M, quota $1.5M"
    )
    pace = chart_alt_text(specs["attainment_pace"])
    assert pace.startswith("Closed won vs pace to quota — Q3 FY2026: closed won $") and "quota $1.5M (" in pace
    board = chart_alt_text(specs["leaderboard"])
    assert board.count("%") == 10
    assert chart_alt_text(ChartSpec("forecast", "F", [])) == "F: no data"
    long = ChartSpec("pipeline_by_stage", "P", [(f"Stage {i}", i) for i in range(1000)])
    assert len(chart_alt_text(long)) == 1000
