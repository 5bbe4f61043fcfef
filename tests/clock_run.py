"""`python bot.py ARGS…` with the clock starting at MOMENT and ticking (time-machine), for tests that run the bot
as a process on tests/orgs.py's fixed dates (a digest due on the org's Tuesday whatever today is):

    python tests/clock_run.py 2026-12-01T15:00:00+00:00 run

Every clock reading in the process moves (time.time, datetime.now), so the bot, its scheduler and its ledger agree
with one another; a test signs its Slack requests on its own clock held at the same moment (small_org_clock).
"""

from __future__ import annotations

import runpy
import sys
from datetime import datetime
from pathlib import Path

import time_machine

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    moment = datetime.fromisoformat(sys.argv[1])
    time_machine.travel(moment, tick=True).start()
    sys.path.insert(0, str(ROOT))
    sys.argv = [str(ROOT / "bot.py"), *sys.argv[2:]]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
