"""What a bulk load (the importer, the demo build) runs once its rows are written, given by its caller.

The history snapshot (metrics.history_snapshot) is rebuilt after every import and demo build, but it is a
metrics concern (it keeps the stalled rules' benchmarks) that the db layer must not import: the callers pass
`metrics.history_snapshot.SNAPSHOT_AFTER_LOAD`. A load given none leaves the snapshot as it was; readers then
notice it no longer matches the data and work from history alone until the next refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from db.schema import SALES_TABLES


@dataclass(frozen=True)
class AfterLoad:
    refresh: Callable[[Connection], object]  # inside the load's transaction, after its rows
    tidy: Callable[[Engine], None]  # after the commit, outside any transaction (VACUUM, ANALYZE)


def vacuum_sales_tables(engine: Engine) -> None:
    """PostgreSQL: VACUUM (ANALYZE) the sales tables after a bulk load, outside any transaction. ANALYZE gives the
    planner the new rows' statistics; VACUUM marks the pages all-visible, without which an index-only scan (the
    as-of readers' history index) still reads the table for every row. Autovacuum may be off, and comes late."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in SALES_TABLES:
            conn.execute(text(f"VACUUM (ANALYZE) {table.name}"))
