"""The scorecard chart through `chart_figure()`: one panel per figure, the rep's bar beside the team median's, with
the values, labels and median marks worked out by hand on the constructed team of tests/test_scorecard.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

from assistant.service import answer_text
from config import load_settings
from metrics.scopes import viewer_by_email
from render.charts import chart_figure
from tests.factories import Factory
from tests.test_scorecard import team  # noqa: F401 (the fixture)


def test_scorecard_bars_against_the_team_median(db, team):  # noqa: F811
    f = Factory(db.engine)
    f.deal(team["Rita Slow"], "Closed Won", 2000, date(2026, 11, 1), created=date(2026, 10, 1))
    f.deal(team["Sam Fast"], "Closed Lost", 1000, date(2026, 11, 1), created=date(2026, 10, 1))
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, "rita.slow@example.com")
    answer = answer_text(db.engine, viewer, "/sales scorecard chart", settings=load_settings(),
                         now=datetime(2026, 12, 1, 15, tzinfo=UTC))
    fig = chart_figure(answer.chart)
    panels = {ax.get_title(): ax for ax in fig.axes}
    # Q4, each rep's five path deals (1000 … 5000) were created on Oct 5: 15000 each, plus the two deals above.
    # Pipeline created: Rita 17000; team (17000, 16000, 15000) → median 16000.
    # Win rate: Rita 1 won of 1 = 100%; Sam 0 of 1; Tom none closed → median of (100%, 0%) = 50%.
    # Avg deal size: Rita 2000, nobody else won → median 2000.
    # Activities / week: 3 calls each over 92 / 7 weeks = 0.228… → 0.2, the median too.
    expected = {"Pipeline created": ([17000, 16000], ["$17K", "$16K"]),
                "Win rate": ([1.0, 0.5], ["100%", "50%"]),
                "Avg deal size": ([2000, 2000], ["$2K", "$2K"]),
                "Activities / week": ([0.2, 0.2], ["0.2", "0.2"])}
    for title, (heights, labels) in expected.items():
        ax = panels[title]
        assert [bar.get_height() for bar in ax.patches] == heights, title
        assert [t.get_text() for t in ax.texts] == labels, title
        assert [t.get_text() for t in ax.get_xticklabels()] == ["Rita Slow", "team"], title
    assert set(panels) == {"Activities / week", "Pipeline created", "Win rate", "Avg deal size", "Cycle (days)",
                           "Attainment (4 qtrs)"}
