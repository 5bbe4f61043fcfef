"""The fake Salesforce with a large generated org, in its own process (for `python bot.py bench --sync`, so the
syncing process's memory is its own).

    python -m tests.fakecrm.serve --deals 100000 [--seed 1] [--page-size 2000]

Prints one JSON line {"url", "client_id", "client_secret", "counts", "seconds"} once it serves, then reads
commands from stdin, one a line, answering each with one JSON line: `change N` (move N open deals one stage on;
answers {"changed": N}) and `quit`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tests.fakecrm.org import change_deals, large_org
from tests.fakecrm.salesforce import FakeSalesforce


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakecrm.serve")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with FakeSalesforce(page_size=args.page_size) as fake:
        counts = large_org(fake, args.deals, args.seed)
        print(json.dumps({"url": fake.url, "client_id": fake.client_id, "client_secret": fake.client_secret,
                          "counts": counts, "seconds": round(time.monotonic() - started, 1)}), flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "change":
                print(json.dumps({"changed": len(change_deals(fake, int(arg)))}), flush=True)
            elif command == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
