"""What a bulk load (the importer, the demo build) runs once its rows are written, given by its caller.

The history snapshot (metrics.history_snapshot) is rebuilt after every import and demo build, but it is a
metrics concern (it keeps the stalled rules' benchmarks) that the db layer must not import: the callers pass
`metrics.history_snapshot.SNAPSHOT_AFTER_LOAD`. A load given none leaves the snapshot as it was; readers then
notice it no longer matches the data and work from history alone until the next refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine


@dataclass(frozen=True)
class AfterLoad:
    refresh: Callable[[Connection], object]  # inside the load's transaction, after its rows
    tidy: Callable[[Engine], None]  # after the commit, outside any transaction (VACUUM, ANALYZE)
