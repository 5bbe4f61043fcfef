"""`python bot.py bench --sync [--deals N]`: the CRM sync's share of the DESIGN §7 benchmark.

A fake Salesforce with a generated org of N opportunities (about 4 history rows and 5 activities each) runs in
its own process; this process syncs it into DATABASE_URL (which must hold no sales data: the synced org is
written there) and reports the first full sync's time, then moves 1,000 deals one stage on in the fake and times
the incremental sync, and the peak RSS of this (the syncing) process. Results go to bench-results/.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from config import Settings, load_settings
from crm.engine import SyncReport, sync
from crm.mapping import crm_mapping
from crm.salesforce import SalesforceConnector
from db.engine import create_raw_engine, upgrade
from db.schema import opportunities
from errors import UserError

ROOT = Path(__file__).resolve().parent.parent
CHANGED = 1_000
TARGETS = {"first_sync_s": 300, "peak_rss_mb": 400, "incremental_s": 15}


def run_sync_bench(args, settings: Settings) -> int:
    engine = create_raw_engine(settings.database_url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(opportunities)).scalar_one():
            raise UserError("bench --sync writes a synced org into DATABASE_URL, which already has opportunities: "
                            "point DATABASE_URL at an empty, throwaway database.")
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakecrm.serve", "--deals", str(args.deals)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        served = json.loads(fake.stdout.readline() or "{}")
        if "url" not in served:
            raise UserError("The fake Salesforce did not start (see the lines above).")
        counts = served["counts"]
        print(f"fake Salesforce: {', '.join(f'{n:,} {obj}' for obj, n in counts.items())} "
              f"(generated in {served['seconds']} s, its own process)")
        crm = load_settings({"SALESFORCE_INSTANCE_URL": served["url"], "SALESFORCE_CLIENT_ID": served["client_id"],
                             "SALESFORCE_CLIENT_SECRET": served["client_secret"]}).crm
        specs = crm_mapping("salesforce")
        first, first_cpu = _timed(lambda: sync(engine, SalesforceConnector(crm), specs), "first full sync")
        first_rss = _peak_rss_mb()
        fake.stdin.write(f"change {CHANGED}\n")
        fake.stdin.flush()
        changed = json.loads(fake.stdout.readline())["changed"]
        incremental, incremental_cpu = _timed(lambda: sync(engine, SalesforceConnector(crm), specs),
                             f"incremental sync ({changed:,} deals changed)")
        fake.stdin.write("quit\n")
        fake.stdin.flush()
    finally:
        try:
            fake.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fake.kill()
    rss = _peak_rss_mb()
    figures = {"first_sync_s": round(first.seconds, 1), "peak_rss_mb": round(rss),
               "incremental_s": round(incremental.seconds, 1)}
    cpu = {"first_sync_cpu_s": round(first_cpu, 1), "incremental_cpu_s": round(incremental_cpu, 1)}
    print(f"peak RSS of the syncing process: {first_rss:.0f} MB after the first sync, {rss:.0f} MB at the end")
    for name, value in figures.items():
        print(f"{name:<16} {value:>8}  target ≤ {TARGETS[name]}  {'ok' if value <= TARGETS[name] else 'OVER'}")
    out = Path(args.output or "bench-results") / f"bench-sync-{engine.dialect.name}-{args.deals}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"database": engine.dialect.name, "deals": args.deals, "date": date.today().isoformat(),
                               "counts": counts, "changed": changed, **figures, **cpu,
                               "first_sync": first.lines(), "incremental_sync": incremental.lines()}, indent=2))
    print(f"wrote {out}")
    return 0


def _timed(run, label: str) -> tuple[SyncReport, float]:
    """The sync's wall time is in the report; the CPU time of this process says how much was the sync's own
    work (the rest: the database, the fake, and other load on the machine)."""
    started, cpu = time.monotonic(), time.process_time()
    report = run()
    cpu = time.process_time() - cpu
    print(f"\n{label}: {time.monotonic() - started:.1f} s ({cpu:.1f} s CPU in this process)")
    print("\n".join(f"  {line}" for line in report.lines()))
    return report, cpu


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
