"""The snapshot job (DESIGN §6): keeps the history snapshot (metrics.history_snapshot) current.

Every tick adds the deals whose history grew since the last one; once a day the snapshot is rebuilt whole
(metrics.history_snapshot.FULL_REBUILD_AFTER). Conversion never depends on the job having run: deals newer than
the snapshot are computed from history, so a late tick only makes the answer a little slower.
"""

from __future__ import annotations

from datetime import datetime

from metrics.history_snapshot import refresh_history_snapshot, tidy_after_rebuild


def refresh_snapshots(ctx, now: datetime) -> dict:
    with ctx.engine.begin() as conn:
        done = refresh_history_snapshot(conn, now=now)
    if done["mode"] == "full":
        tidy_after_rebuild(ctx.engine)
    return done
