"""The snapshot job (DESIGN §6): keeps the stage-entry snapshot behind stage conversion current.

Every tick adds the deals whose history grew since the last one; once a day the snapshot is rebuilt whole
(metrics.stage_entries.FULL_REBUILD_AFTER). Conversion never depends on the job having run: deals newer than
the snapshot are computed from history, so a late tick only makes the answer a little slower.
"""

from __future__ import annotations

from datetime import datetime

from metrics.stage_entries import refresh_stage_entries, tidy_after_rebuild


def refresh_snapshots(ctx, now: datetime) -> dict:
    with ctx.engine.begin() as conn:
        done = refresh_stage_entries(conn, now=now)
    if done["mode"] == "full":
        tidy_after_rebuild(ctx.engine)
    return done
