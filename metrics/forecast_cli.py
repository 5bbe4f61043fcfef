"""`python bot.py forecast backfill [--quarters 8]`: weekly forecast snapshots of past weeks, from history."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from config import Settings
from db.engine import get_engine
from errors import UserError
from i18n import _
from metrics.forecast_snapshots import backfill_moments, take_snapshots

MAX_QUARTERS = 40


def run_forecast_command(args, settings: Settings) -> int:
    if not 1 <= args.quarters <= MAX_QUARTERS:
        raise UserError(_("--quarters is 1 to {most}, not {quarters}.").format(most=MAX_QUARTERS,
                                                                                 quarters=args.quarters))
    now = datetime.now(UTC)
    moments = backfill_moments(now, settings.tz, args.quarters, settings.fiscal_year_start_month)
    started = time.perf_counter()
    done = take_snapshots(get_engine(settings.database_url), moments, settings.tz,
                          settings.fiscal_year_start_month, source="backfill", now=now)
    took = time.perf_counter() - started
    print(f"forecast snapshots: {done['weeks']} week(s) of {len(moments)} filled from history "
          f"({moments[0].date()} .. {moments[-1].date()}), {done['rows']:,} rows for {done['people']:,} people, "
          f"in {took:.1f} s; weeks already stored were left as they were")
    return 0
