"""The as-of figures on a demo org against the pandas rebuild from its history rows (tests/asof_oracle.py), at the
end of the day with the most history rows (UTC): every one of that day's rows is before the moment. The demo wrote
SQLite timestamps as '2026-10-01T09:00:00', SQLAlchemy's type compares them with '2026-10-01 23:59:59', and 'T'
sorts after ' ': the layer left out the whole day's rows (8,786,255 against 8,898,033 on one org)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select, text

from db.demo import build_demo
from db.engine import create_raw_engine, upgrade
from db.schema import opportunity_history
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import parse_period
from metrics.scopes import Scope
from tests.asof_oracle import History, figures_at


def test_demo_as_of_pipeline_matches_pandas_rebuild(db):
    today = date.today()
    build_demo(db.engine, seed=5, reps=12, deals=500, today=today, progress=False)
    period = parse_period("this quarter", today)
    with db.engine.connect() as conn:
        history = History(conn)
        days = Counter(t.astimezone(UTC).date() for t in history.rows["changed_at"] if t.date() < today)
        busiest, rows_that_day = days.most_common(1)[0]
        moment = datetime.combine(busiest, time(23, 59, 59), tzinfo=UTC)
        expected = figures_at(history.states(moment), period.start, period.end, None)
        got = {name: evaluate(conn, metric, period, Scope("org", "org"), today=today, as_of=moment,
                              cache=ResultCache()).rows[0][key]
               for name, metric, key in (("pipeline", "pipeline", "value"), ("closed_won", "closed_won", "value"),
                                         ("commit", "forecast", "commit"),
                                         ("weighted_pipeline", "weighted_pipeline", "value"))}
        assert rows_that_day > 1
        assert got == expected
        if db.backend == "sqlite":  # stored as SQLAlchemy stores them, so text comparisons order them as instants
            assert conn.execute(text("SELECT COUNT(*) FROM opportunity_history WHERE changed_at LIKE '%T%'")
                                ).scalar_one() == 0


def test_migration_rewrites_demo_timestamps_on_sqlite(tmp_path):
    """A SQLite database the old demo wrote: its 'T'-separated timestamps come out of the migration as SQLAlchemy
    writes them, and compare as instants again."""
    engine = create_raw_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0009_snapshots")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO reps (id, external_id, name, role, active) VALUES (1, 'r', 'R', 'rep', 1)"))
        conn.execute(text("INSERT INTO opportunities (id, external_id, name, owner_id, stage, created_at) "
                          "VALUES (1, 'o', 'O', 1, 'Prospecting', '2026-10-01T09:00:00.000000')"))
        conn.execute(text("INSERT INTO opportunity_history (opportunity_id, changed_at, stage) "
                          "VALUES (1, '2026-10-01T09:00:00.000000', 'Prospecting')"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT changed_at FROM opportunity_history")).scalar_one() == \
            "2026-10-01 09:00:00.000000"
        assert conn.execute(text("SELECT created_at FROM opportunities")).scalar_one() == "2026-10-01 09:00:00.000000"
        late = datetime(2026, 10, 1, 23, 0, tzinfo=UTC)
        assert conn.execute(select(func.count()).select_from(opportunity_history)
                            .where(opportunity_history.c.changed_at <= late)).scalar_one() == 1
    engine.dispose()
