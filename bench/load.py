"""`python bot.py bench --load` and `--soak`: the served bot (bench/served.py) under a burst, and over time.

--load: 200 `/sales` commands from 50 people within 10 seconds, and 20 button clicks at the same instant in the
middle of it. Every request must be acked (HTTP 200) within Slack's 3 seconds and answered exactly once; ack and
answer times are reported as p50/p95/p99, with the bot's own count of outcomes (ok, refused, busy, …).

--soak: N requests spread evenly over M minutes (default 20,000 over 10). The bot's RSS after the first tenth (the
warm-up) and at the end; no answer with an error id; the database pool back to its idle level at the end. The bot
runs with SCHEDULER=off, so no scheduled job (a digest run, a sync) lands in the middle and skews the figures;
with --tracemalloc it also runs under PYTHONTRACEMALLOC, and what Python itself holds is reported beside the RSS
(tracing costs memory and time of its own: compare RSS figures only between runs without it).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date
from pathlib import Path

from bench.served import Sent, ServedBot, slack_people
from config import Settings
from db.engine import get_engine
from metrics.bench import ensure_demo

SUBCOMMANDS = ("pipeline", "quota", "forecast", "deals", "stalled", "winrate", "cycle", "funnel", "leaderboard",
               "changes", "help")
ACK_LIMIT_MS = 3000  # Slack's deadline for the ack
SQLITE_GAUGE = "salesbot_sqlite_memory_bytes"
ANSWER_WAIT = 300  # seconds to wait for the last answers before counting them missing


def percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "p99": None}
    if len(samples) == 1:
        return dict.fromkeys(("p50", "p95", "p99"), round(samples[0], 1))
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": round(statistics.median(samples), 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


def summary(sent: list[Sent]) -> dict:
    """What the requests came to: acks over the limit, answers missing or repeated, and the time figures."""
    return {
        "requests": len(sent),
        "acked_ok": sum(s.ack_status == 200 for s in sent),
        "acks_over_3s": sum(s.ack_ms is None or s.ack_ms > ACK_LIMIT_MS for s in sent),
        "answered_once": sum(s.replies == 1 for s in sent),
        "unanswered": sum(s.replies == 0 for s in sent),
        "answered_twice_or_more": sum(s.replies > 1 for s in sent),
        "ack_ms": percentiles([s.ack_ms for s in sent if s.ack_ms is not None]),
        "answer_ms": percentiles([s.reply_ms for s in sent if s.reply_ms is not None]),
    }


def fire_at(schedule: list[tuple[float, Sent]], send, workers: int) -> list[Sent]:
    """Send each request at its offset (seconds from now) from a pool of threads, so a slow ack never delays the
    next request; returns them once all are acked."""
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        futures = []
        for offset, sent in schedule:
            pause = t0 + offset - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(send, sent))
        return [f.result() for f in futures]


def run_load(bot: ServedBot, people: list[tuple[str, str, str]], commands: int = 200, seconds: float = 10,
             clicks: int = 20) -> tuple[dict, list[Sent]]:
    burst = [(i * seconds / commands, Sent(f"cmd-{i}", "command", people[i % len(people)][0],
                                           SUBCOMMANDS[i % len(SUBCOMMANDS)], 0.0)) for i in range(commands)]
    taps = [Sent(f"click-{i}", "click", people[i % len(people)][0], "/sales pipeline", 0.0) for i in range(clicks)]
    before = bot.outcomes()
    start_clicks = threading.Barrier(clicks)

    def click(sent: Sent) -> Sent:
        start_clicks.wait()
        return bot.click(sent)

    with ThreadPoolExecutor(max_workers=clicks, thread_name_prefix="click") as clickers:
        timer = threading.Timer(seconds / 2, lambda: [clickers.submit(click, t) for t in taps])
        timer.start()
        fired = fire_at(burst, bot.command, workers=64)
        timer.join()
    everything = fired + taps
    bot.wait_for_answers(everything, ANSWER_WAIT)
    after = bot.outcomes()
    return {"outcomes": {k: after.get(k, 0) - before.get(k, 0) for k in after}}, everything


def run_soak(bot: ServedBot, people: list[tuple[str, str, str]], requests: int, minutes: float) -> tuple[dict, list]:
    seconds = minutes * 60
    warm_up = max(requests // 10, 1)
    schedule = [(i * seconds / requests, Sent(f"soak-{i}", "command", people[i % len(people)][0],
                                              SUBCOMMANDS[i % len(SUBCOMMANDS)], 0.0)) for i in range(requests)]
    rss: dict[str, float] = {"start": bot.rss_mb()}
    traced: dict[str, float | None] = {"start": bot.traced_mb()}
    sqlite: dict[str, float | None] = {"start": bot.traced_mb(SQLITE_GAUGE)}
    load = {"start": os.getloadavg()[0]}
    peak = [rss["start"]]
    by_minute: list[float] = []  # RSS at the end of each minute of the soak: the trend, not only its ends
    sampling = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not sampling.wait(1.0):
            peak.append(bot.rss_mb())
            if time.monotonic() - t0 >= 60 * (len(by_minute) + 1):
                by_minute.append(round(peak[-1], 1))
            load["peak"] = max(load.get("peak", 0.0), os.getloadavg()[0])

    def send(sent: Sent) -> Sent:
        if sent.name == f"soak-{warm_up}":  # the warm-up is over
            rss["after_warm_up"] = bot.rss_mb()
            traced["after_warm_up"] = bot.traced_mb()
            sqlite["after_warm_up"] = bot.traced_mb(SQLITE_GAUGE)
        return bot.command(sent)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    fired = fire_at(schedule, send, workers=64)
    bot.wait_for_answers(fired, ANSWER_WAIT)
    sampling.set()
    sampler.join()
    time.sleep(2)  # the answers' connections go back to the pool
    rss["end"] = bot.rss_mb()
    traced["end"] = bot.traced_mb()
    sqlite["end"] = bot.traced_mb(SQLITE_GAUGE)
    load["end"] = os.getloadavg()[0]
    rss["peak"] = max(peak + [rss["end"]])
    result = {"minutes": minutes, "rss_mb": {k: round(v, 1) for k, v in rss.items()},
              "rss_growth_after_warm_up_pct": _growth(rss), "rss_mb_by_minute": by_minute,
              "load_average": {k: round(v, 1) for k, v in load.items()},
              "outcomes": bot.outcomes()}
    if traced["start"] is not None:
        result["python_traced_mb"] = {k: round(v, 1) for k, v in traced.items() if v is not None}
        result["python_growth_after_warm_up_pct"] = _growth(traced)
    if sqlite["start"] is not None and bot.database_url.startswith("sqlite"):
        result["sqlite_heap_mb"] = {k: round(v, 1) for k, v in sqlite.items() if v is not None}
    return result, fired


def _growth(mb: dict) -> float:
    return round((mb["end"] - mb["after_warm_up"]) / mb["after_warm_up"] * 100, 1)


def askers_needed(per_minute: float, limit: int, at_least: int) -> int:
    """Enough people that none of them passes the per-person limit (at half of it, to leave room)."""
    return max(at_least, math.ceil(per_minute / max(limit / 2, 1))) if limit else at_least


def print_requests(label: str, s: dict) -> None:
    a, r = s["ack_ms"], s["answer_ms"]
    print(f"{label:<9} {s['requests']:>5} sent  {s['acked_ok']:>5} acked  {s['acks_over_3s']:>3} acks > 3 s  "
          f"{s['answered_once']:>5} answered once  {s['unanswered']:>3} unanswered  "
          f"{s['answered_twice_or_more']:>3} twice")
    print(f"{'':<9} ack    p50 {a['p50']} ms  p95 {a['p95']} ms  p99 {a['p99']} ms")
    print(f"{'':<9} answer p50 {r['p50']} ms  p95 {r['p95']} ms  p99 {r['p99']} ms")


def run_load_command(args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    print(ensure_demo(engine, args.deals, args.reps, settings))
    soak = bool(args.soak)
    # the burst is 4 commands and at most one click a person; a soak spreads its rate over enough people
    count = askers_needed(args.requests / args.minutes, settings.serving.rate_limit_per_minute, 50) if soak else 50
    people = slack_people(engine, count)
    out_dir = Path(args.output or "bench-results")
    kind = "soak" if soak else "load"
    env = {"SCHEDULER": "off", **({"PYTHONTRACEMALLOC": "1"} if args.tracemalloc else {})} if soak else {}
    with ServedBot(settings.database_url, people, out_dir / f"{kind}-bot.log", env=env) as bot:
        pool_idle = bot.pool_in_use()
        if soak:
            result, sent = run_soak(bot, people, args.requests, args.minutes)
        else:
            result, sent = run_load(bot, people)
        deadline = time.monotonic() + 30
        while bot.pool_in_use() > pool_idle and time.monotonic() < deadline:
            time.sleep(0.5)
        result["pool_in_use"] = {"idle_before": pool_idle, "at_end": bot.pool_in_use()}
        error_ids = bot.error_ids()
        result["exit_status"] = bot.stop()
        bot.note_answers(sent)  # answers that were still on their way when SIGTERM came are counted too
    result["error_ids"] = error_ids
    result.update(database=engine.dialect.name, deals=args.deals, people=len(people), date=date.today().isoformat(),
                  cache_ttl_seconds=settings.cache_ttl_seconds)
    print(f"{kind}: {len(people)} people on the {engine.dialect.name} demo org of {args.deals:,} deals")
    for label in ("requests",) if soak else ("commands", "clicks"):
        result[label] = summary([s for s in sent if (s.kind == "click") == (label == "clicks")])
        print_requests(label, result[label])
    print(f"outcomes {json.dumps(result['outcomes'])}; error ids {len(error_ids)}; pool in use "
          f"{result['pool_in_use']['at_end']:.0f} at the end ({result['pool_in_use']['idle_before']:.0f} when idle)")
    if soak:
        print_soak(result)
    path = out_dir / f"{kind}-{engine.dialect.name}-{args.deals}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**result, "requests_detail": [asdict(s) for s in sent]}, indent=2))
    print(f"wrote {path}")
    return 0 if load_passed(result, soak) else 1


def print_soak(result: dict) -> None:
    rss, load, outcomes = result["rss_mb"], result["load_average"], result["outcomes"]
    print(f"RSS {rss['start']:.0f} MB at start, {rss['after_warm_up']:.0f} MB after the warm-up, "
          f"{rss['end']:.0f} MB at the end (peak {rss['peak']:.0f}): {result['rss_growth_after_warm_up_pct']:+}%")
    if result["rss_mb_by_minute"]:
        print(f"RSS minute by minute: {' '.join(f'{mb:.0f}' for mb in result['rss_mb_by_minute'])} MB")
    traced = result.get("python_traced_mb")
    if traced:
        print(f"Python (tracemalloc) {traced['start']:.1f} MB at start, {traced['after_warm_up']:.1f} MB after the "
              f"warm-up, {traced['end']:.1f} MB at the end: {result['python_growth_after_warm_up_pct']:+}%")
    heap = result.get("sqlite_heap_mb")
    if heap:
        print(f"SQLite's heap {heap['start']:.1f} MB at start, {heap['after_warm_up']:.1f} MB after the warm-up, "
              f"{heap['end']:.1f} MB at the end")
    busy = outcomes.get("busy", 0) / max(sum(outcomes.values()), 1) * 100
    print(f"busy {busy:.1f}%; load average {load['start']} at start, {load.get('peak', load['end'])} at most, "
          f"{load['end']} at the end")


def load_passed(result: dict, soak: bool) -> bool:
    """Every request acked under 3 s and answered once, no error id, no connection left checked out (and, for a
    soak, RSS within 10% of what it was after the warm-up)."""
    problems = []
    for label in ("commands", "clicks", "requests"):
        s = result.get(label)
        if s and (s["acks_over_3s"] or s["acked_ok"] != s["requests"] or s["answered_once"] != s["requests"]):
            problems.append(f"{label}: not every request was acked under 3 s and answered once")
    if result["error_ids"]:
        problems.append(f"{len(result['error_ids'])} answers went wrong (error ids {result['error_ids'][:5]})")
    if result["pool_in_use"]["at_end"] > result["pool_in_use"]["idle_before"]:
        problems.append("database connections are still checked out after the last answer")
    if soak and result["rss_growth_after_warm_up_pct"] > 10:
        problems.append(f"RSS grew {result['rss_growth_after_warm_up_pct']}% after the warm-up")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return not problems
