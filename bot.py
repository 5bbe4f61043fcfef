#!/usr/bin/env python3
"""Sales-ops bot: the command line (DESIGN §9). `python bot.py --help` lists the subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
import uuid

from config import ConfigError, load_settings
from errors import DataSourceUnavailable, NotAvailableYet, UserError
from i18n import use_locale

log = logging.getLogger("salesbot")
# The demo's defaults (db.demo owns them; repeated here so `--help` does not import numpy).
DEMO_SEED, DEMO_REPS, DEMO_DEALS = 42, 60, 5_000
ERROR_LOG = "salesbot-errors.log"


def _not_yet(feature: str):
    def run(_args: argparse.Namespace) -> int:
        raise NotAvailableYet(f"`{feature}` is not available yet in this version of the bot.")

    return run


def cmd_db(args: argparse.Namespace) -> int:
    from db.engine import create_raw_engine, current_revision, head_revision, upgrade

    engine = create_raw_engine(load_settings().database_url)
    if args.action == "upgrade":
        upgrade(engine)
    if args.action == "snapshot":
        from metrics.history_snapshot import refresh_history_snapshot, tidy_after_rebuild

        upgrade(engine)
        with engine.begin() as conn:
            done = refresh_history_snapshot(conn, full=True)
        tidy_after_rebuild(engine)
        print(f"history snapshot rebuilt: {done['entries']:,} stage entries, {done['pushes']:,} close-date pushes, "
              f"{done['spans']:,} deal spans, history through id {done['through']:,}")
    print(f"database at revision {current_revision(engine)} (head {head_revision()})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from db.demo import run_demo_command
    from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD

    return run_demo_command(args, load_settings(), SNAPSHOT_AFTER_LOAD)


def cmd_import(args: argparse.Namespace) -> int:
    from db.importer import run_import_command
    from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD

    return run_import_command(args, load_settings(), SNAPSHOT_AFTER_LOAD)


def cmd_forecast(args: argparse.Namespace) -> int:
    from metrics.forecast_cli import run_forecast_command

    return run_forecast_command(args, load_settings())


def cmd_check(args: argparse.Namespace) -> int:
    from metrics.integrity_cli import run_check_command
    from render.check import write_table

    return run_check_command(args, load_settings(), write_table)


def cmd_metrics(args: argparse.Namespace) -> int:
    from metrics.cli import run_metrics_command

    return run_metrics_command(args, load_settings())


def cmd_bench(args: argparse.Namespace) -> int:
    if args.sync:
        from crm.bench import run_sync_bench

        return run_sync_bench(args, load_settings())
    if args.load or args.soak:
        from bench.load import run_load_command

        return run_load_command(args, load_settings())
    from bench import slack as slack_bench
    from metrics.bench import run_bench_command

    return run_bench_command(args, load_settings(), slack_bench=slack_bench)


def cmd_digest(args: argparse.Namespace) -> int:
    from handlers.app import web_client
    from scheduler.cli import run_digest_command

    return run_digest_command(args, load_settings(), slack_client=web_client)


def cmd_jobs(args: argparse.Namespace) -> int:
    from scheduler.cli import run_jobs_command

    return run_jobs_command(args, load_settings())


def cmd_console(args: argparse.Namespace) -> int:
    from assistant.console import run_console
    from db.engine import get_engine

    settings = load_settings()
    return run_console(get_engine(settings.database_url), settings, args.as_email)


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.console import run_ask
    from db.engine import get_engine

    settings = load_settings()
    return run_ask(get_engine(settings.database_url), settings, args.as_email, args.text, args.json)


def cmd_parse(args: argparse.Namespace) -> int:
    from assistant.console import run_parse
    from db.engine import get_engine

    settings = load_settings()
    return run_parse(get_engine(settings.database_url), settings, args.as_email, args.text, args.json)


def cmd_sync(args: argparse.Namespace) -> int:
    from crm.cli import run_sync_command

    return run_sync_command(args, load_settings())


def cmd_comp(args: argparse.Namespace) -> int:
    from metrics.comp_cli import run_comp_command

    return run_comp_command(args, load_settings())


def cmd_doctor(_args: argparse.Namespace) -> int:
    from doctor import run_doctor_command

    return run_doctor_command(load_settings())


def cmd_run(args: argparse.Namespace) -> int:
    from runner import run

    return run(load_settings(), console_as=args.as_email)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="Sales-ops bot for Slack. Reads DATABASE_URL (and .env); SQLite salesops.db by default.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="serve Slack and run the scheduler (the console when no Slack tokens are set)")
    p.add_argument("--as", dest="as_email", default=None, metavar="EMAIL",
                   help="console only: whose eyes to ask with (default: a demo manager)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("doctor", help="check the configuration: database, Slack token and scopes, channels, reps, CRM")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("console", help="a local chat with the bot")
    p.add_argument("--as", dest="as_email", required=True, metavar="EMAIL", help="whose eyes to ask with")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("ask", help="one answer from the bot")
    p.add_argument("--as", dest="as_email", required=True, metavar="EMAIL")
    p.add_argument("text", help='what to ask, e.g. "/sales quota team"')
    p.add_argument("--json", action="store_true", help="print the Slack payload")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("parse", help="how the bot reads a question (no metric is computed)")
    p.add_argument("--as", dest="as_email", required=True, metavar="EMAIL", help="whose eyes (and today) to read with")
    p.add_argument("text", help='the question, e.g. "top 5 deals closing this month"')
    p.add_argument("--json", action="store_true", help="print the reading as JSON")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("demo", help="create or refresh the demo org")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
    p.add_argument("--reps", type=int, default=DEMO_REPS, help=f"number of people (default {DEMO_REPS})")
    p.add_argument("--deals", type=int, default=DEMO_DEALS, help=f"number of opportunities (default {DEMO_DEALS:,})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="load CSV exports through a mapping file")
    p.add_argument("mapping", metavar="MAPPING.yml")
    p.add_argument("--skip-bad", action="store_true", help="import the good rows, write the rejects to a CSV")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("metrics", help="any KPI, by any dimension, for any period and scope")
    p.add_argument("metric")
    p.add_argument("--period", default="this quarter")
    p.add_argument("--by", default="")
    p.add_argument("--scope", default=None,
                   help="me, team, a name, an email, a team, org (default: the --as person's own numbers, "
                        "a manager's team; without --as, the whole org)")
    p.add_argument("--as", dest="as_email", default=None, metavar="EMAIL",
                   help="answer as this person: only what they may see, their today")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--currency", default=None, metavar="CODE",
                   help="show money in this currency (ISO 4217) at today's exchange rate (default: ORG_CURRENCY)")
    p.add_argument("--explain", action="store_true",
                   help="the definition and the SQL run: before the table; inside the JSON as \"explain\"; "
                        "on stderr with csv (stdout stays pure CSV)")
    p.add_argument("--as-of", dest="as_of", default=None, metavar="D",
                   help="as the data stood at D, rebuilt from history: a date (the end of that day in "
                        "DEFAULT_TIMEZONE) or a timestamp; for waterfall, the second moment")
    p.add_argument("--trend", choices=("weekly", "monthly"), default=None,
                   help="the metric as of the end of each of the last --points weeks or months")
    p.add_argument("--points", type=int, default=None, help="points of a --trend (default 13 weekly, 12 monthly)")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("forecast", help="forecast snapshots: fill past weeks from history")
    fc = p.add_subparsers(dest="action", required=True)
    f = fc.add_parser("backfill", help="weekly forecast snapshots of past weeks, rebuilt from history")
    f.add_argument("--quarters", type=int, default=8, help="how many quarters back (default 8)")
    f.set_defaults(func=cmd_forecast)

    p = sub.add_parser("digest", help="build (and send) the digests")
    p.add_argument("--dry-run", action="store_true", help="print exactly what would be sent; send nothing")
    p.add_argument("--date", metavar="D", help="the day (YYYY-MM-DD, today, yesterday): each person's local date")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--all", action="store_true", help="every digest of day D not yet sent, whatever the local time")
    g.add_argument("--to", metavar="EMAIL", help="one person's digest of day D")
    p.add_argument("--json", action="store_true", help="JSON output (with --dry-run: the Slack payloads)")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("check", help="run the data-integrity rules")
    p.add_argument("--as", dest="as_email", default=None, metavar="EMAIL",
                   help="that person's own deals (a manager's team) on their today; default: the whole org on "
                        "DEFAULT_TIMEZONE's today")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("bench", help="the performance benchmark (DESIGN §7)")
    p.add_argument("--deals", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=500)
    p.add_argument("--runs", type=int, default=20, help="timed runs per measurement (default 20)")
    p.add_argument("--output", default=None, help="folder for the JSON results (default bench-results/)")
    p.add_argument("--skip-slack", action="store_true", help="no Slack round trips or chart timings")
    p.add_argument("--only", default=None,
                   help="comma-separated: time only these metrics and /sales subcommands (and, when named, only "
                        "these askers: rep, manager, vp, exec; `as_of` for the as-of rows, `backfill` for the "
                        "forecast backfill)")
    p.add_argument("--sync", action="store_true",
                   help="the CRM sync instead: a fake Salesforce org of --deals opportunities synced into "
                        "DATABASE_URL (an empty database), first in full, then 1,000 changed deals")
    p.add_argument("--load", action="store_true",
                   help="the served bot under a burst: 200 commands from 50 people in 10 s and 20 clicks at once")
    p.add_argument("--soak", action="store_true", help="the served bot over time: --requests over --minutes")
    p.add_argument("--requests", type=int, default=20_000, help="--soak: requests in all (default 20,000)")
    p.add_argument("--minutes", type=float, default=10, help="--soak: over how many minutes (default 10)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="--soak: run the bot under tracemalloc and report what Python holds beside the RSS")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("sync", help="sync the sales database from the CRM (Salesforce or HubSpot), or show its health")
    p.add_argument("connector", nargs="?", choices=("salesforce", "hubspot"), default=None,
                   help="which CRM (default: the one whose credentials are set)")
    p.add_argument("--full", action="store_true", help="read every record again, not only what changed")
    p.add_argument("--status", action="store_true", help="per object: last success, watermark, rows, last error")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("comp", help="compensation plans: load the plans file, show it, print a statement")
    comp = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = comp.add_parser("load", help="validate and load the plans file (a changed file becomes a new version)")
    c.add_argument("file", metavar="PLANS.yml")
    c.add_argument("--from", dest="effective", default=None, metavar="DATE",
                   help="first period end the new version applies to (default today)")
    c.set_defaults(func=cmd_comp)
    c = comp.add_parser("show", help="the plans in force now")
    c.set_defaults(func=cmd_comp)
    c = comp.add_parser("statement", help="one line per rep and credited deal with the payout (payroll hand-off)")
    c.add_argument("--period", default="this quarter")
    c.add_argument("--format", choices=("table", "csv"), default="table")
    c.set_defaults(func=cmd_comp)

    p = sub.add_parser("jobs", help="list the scheduled jobs with their next run times")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("db", help="database schema: show or upgrade the migration revision; rebuild the snapshot")
    p.add_argument("action", choices=("upgrade", "current", "snapshot"),
                   help="snapshot: rebuild the history snapshot (stage conversion, pushed close dates) now")
    p.set_defaults(func=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from ops.logs import configure_logging

        settings = load_settings()
        configure_logging(settings)
        with use_locale(settings.default_locale):  # the command line speaks DEFAULT_LOCALE
            return args.func(args)
    except NotAvailableYet as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (UserError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bot.py metrics … | head`: the reader left; nothing is wrong
        sys.stderr.close()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one sentence, trace in the log
        if _is_connection_error(exc):
            print(f"error: {DataSourceUnavailable.__doc__.strip()} ({type(exc).__name__})", file=sys.stderr)
            return 1
        error_id = uuid.uuid4().hex[:8]
        _log_trace(error_id)
        print(f"error: something went wrong (error id {error_id}); the details are in {ERROR_LOG}.",
              file=sys.stderr)
        return 1


def _log_trace(error_id: str) -> None:
    """The trace goes to a file, never to the person's terminal."""
    from ops.logs import RedactingFormatter, secrets_of

    handler = logging.FileHandler(ERROR_LOG, encoding="utf-8")
    try:
        secrets = secrets_of(load_settings())
    except ConfigError:
        secrets = []
    handler.setFormatter(RedactingFormatter(secrets))
    trace_log = logging.getLogger("salesbot.errors")
    trace_log.propagate = False
    trace_log.addHandler(handler)
    trace_log.exception("unexpected failure, error id %s", error_id)
    handler.close()


def _is_connection_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError)


if __name__ == "__main__":
    sys.exit(main())
