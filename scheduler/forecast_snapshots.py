"""The weekly forecast-snapshot job (DESIGN §4a): Monday 06:00 UTC, on the leader only (scheduler.jobs).

It stores the week's snapshots as of the week's Monday 06:00 UTC (metrics.forecast_snapshots.week_moment), so a
late or repeated run stores the same figures once: a week already stored is skipped.
"""

from __future__ import annotations

from datetime import datetime

from metrics.forecast_snapshots import take_snapshots, week_moment


def take_weekly_snapshots(ctx, now: datetime) -> dict:
    settings = ctx.settings
    return take_snapshots(ctx.engine, [week_moment(now)], settings.tz, settings.fiscal_year_start_month,
                          source="job", now=now)
