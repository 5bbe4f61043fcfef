"""render.charts: PNG charts, one per kind, small and quick (timings are measured by the benchmark, not here)."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest

from assistant.answers import ChartSpec
from render.charts import CHART_KINDS, chart_alt_text, chart_timings, render_chart, sample_specs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 200 * 1024


def check_png(data: bytes) -> None:
    assert data[:8] == PNG_MAGIC
    assert len(data) <= MAX_BYTES, len(data)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (640, 360)


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_each_kind_renders(kind):
    check_png(render_chart(sample_specs()[kind]))


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_empty_series_draws_no_data(kind):
    check_png(render_chart(ChartSpec(kind, f"Nothing yet: {kind}", [])))


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
    specs = list(sample_specs().values())
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work(spec):
        try:
            results.append(render_chart(spec))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == len(specs)
    for png in results:
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
