"""Round-trip rows for `python bot.py bench`: a signed `/sales` request into the real bot over HTTP, the reply
received by a local fake Slack (the one the tests use), p50/p95 per subcommand; plus chart render timings."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select

from config import Settings
from db.schema import reps
from metrics.bench import p95

SUBCOMMANDS = ("pipeline", "quota", "forecast", "deals", "stalled", "winrate", "cycle", "funnel", "leaderboard",
               "changes", "help")
ASKERS = ("rep", "manager", "vp", "exec")
SECRET, TOKEN = "bench-signing-secret", "xoxb-bench"


@dataclass
class RoundTrip:
    who: str
    subcommand: str
    p50_ms: float
    p95_ms: float


def _people(engine: Engine) -> dict[str, str]:
    """One rep, one first-line manager, one VP (a manager of managers, about half the demo org) and one exec by
    email: the demo logins when present (a VP only then: the demo's `vp@` login)."""
    from db.demo import DEMO_LOGINS

    out = {}
    with engine.connect() as conn:
        for role in ASKERS:
            preferred = conn.execute(select(reps.c.email).where(reps.c.email == DEMO_LOGINS[role])).scalar()
            email = preferred or conn.execute(
                select(reps.c.email).where(reps.c.role == role, reps.c.active.is_(True), reps.c.email.is_not(None))
                .order_by(reps.c.id).limit(1)).scalar()
            if email:
                out[role] = email
    return out


def run_roundtrips(engine: Engine, settings: Settings, runs: int = 10,
                   only: frozenset[str] | None = None) -> list[RoundTrip]:
    """`only`: the subcommands and askers (rep, manager, vp, exec) to time; None: all of them."""
    from handlers.app import build_app, serve_http, web_client
    from handlers.deps import BotDeps
    from metrics.cache import ResultCache
    from tests.fakeslack import FakeSlack, post_slash_command

    rows = []
    with FakeSlack() as fake:
        people = _people(engine)
        for i, (role, email) in enumerate(people.items()):
            fake.add_user(f"UBENCH{i}", email, role)
        # one person asks far more than a person's fair-use limit: the bench measures answers, not the limit
        bench_settings = replace(settings, slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                                 slack_api_url=fake.api_url, serving=replace(settings.serving, rate_limit_per_minute=0))
        deps = BotDeps(engine, bench_settings, ResultCache(0))
        server = serve_http(build_app(deps, web_client(bench_settings)), deps, 0, host="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        try:
            for i, role in enumerate(people):
                if only is not None and not only.isdisjoint(ASKERS) and role not in only:
                    continue
                for sub in (s for s in SUBCOMMANDS if only is None or s in only):
                    samples = []
                    for n in range(runs + 1):
                        fake.reset()
                        t0 = time.perf_counter()
                        post_slash_command(url, SECRET, sub, f"UBENCH{i}", response_url=fake.response_url(f"b{n}"))
                        fake.wait_for_messages(1, kind="response_url", timeout=30)
                        if n:  # the first is a warm-up
                            samples.append((time.perf_counter() - t0) * 1000)
                    rows.append(RoundTrip(role, sub, statistics.median(samples), p95(samples)))
        finally:
            server.shutdown()
            server.server_close()
    return rows


def print_roundtrips(rows: list[RoundTrip]) -> None:
    print(f"\n{'round trip':<24} {'p50':>9} {'p95':>9}")
    for r in rows:
        print(f"{r.who + ' /sales ' + r.subcommand:<24} {r.p50_ms:>7.1f}ms {r.p95_ms:>7.1f}ms")


def print_chart_timings(n: int = 20) -> dict:
    from render.charts import chart_timings

    timings = chart_timings(n)
    print(f"\n{'chart':<20} {'p50':>9} {'p95':>9} {'size':>9}")
    for kind, (p50_ms, p95_ms, size) in timings.items():
        print(f"{kind:<20} {p50_ms:>7.1f}ms {p95_ms:>7.1f}ms {size / 1024:>7.1f}KB")
    return timings
