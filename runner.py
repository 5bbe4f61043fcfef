"""`python bot.py run`: serve Slack (Socket Mode or HTTP) and run the scheduler; the console without tokens."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime

from sqlalchemy import func, select

from config import Settings
from db.engine import get_engine
from db.schema import opportunities
from errors import UserError

log = logging.getLogger("salesbot.run")


def ensure_demo_data(engine, settings: Settings) -> None:
    """An empty database gets the default demo org, so the first run has something to show."""
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(opportunities)).scalar_one():
            return
    from db.demo import DEFAULT_DEALS, DEFAULT_REPS, DEFAULT_SEED, build_demo
    from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD

    print("The database is empty: building the demo org first…", file=sys.stderr)
    build_demo(engine, seed=DEFAULT_SEED, reps=DEFAULT_REPS, deals=DEFAULT_DEALS,
               today=datetime.now(settings.tz).date(), progress=sys.stderr.isatty(), after_load=SNAPSHOT_AFTER_LOAD)


def run(settings: Settings, console_as: str | None = None) -> int:
    if settings.slack_bot_token and not settings.slack_app_token and not settings.slack_signing_secret:
        # checked before the database is opened (and migrated): a setting is missing, nothing else should happen
        raise UserError("HTTP mode needs SLACK_SIGNING_SECRET to verify that requests come from Slack "
                        "(or set SLACK_APP_TOKEN for Socket Mode).")
    engine = get_engine(settings.database_url)
    if not settings.slack_bot_token:
        from assistant.console import run_console
        from db.demo import DEMO_LOGINS

        print("No SLACK_BOT_TOKEN is set, so I'm not connecting to Slack: opening the local console instead.\n"
              "(Set SLACK_BOT_TOKEN with SLACK_APP_TOKEN for Socket Mode, or with SLACK_SIGNING_SECRET for HTTP "
              "mode; see the README.)", file=sys.stderr)
        ensure_demo_data(engine, settings)
        return run_console(engine, settings, console_as or DEMO_LOGINS["manager"])
    return serve(settings, engine)


def serve(settings: Settings, engine) -> int:
    """Serve Slack until SIGTERM or SIGINT, then stop gracefully (README "Running in production")."""
    from doctor import refuse_to_start_on_fatal
    from handlers.app import build_app
    from handlers.deps import BotDeps
    from handlers.health import Health
    from handlers.server import serve_http
    from metrics.cache import ResultCache
    from ops.memory import tune_memory

    tune_memory(settings.serving)  # before the serving threads exist: their malloc arenas are capped
    deps = BotDeps(engine, settings, ResultCache(settings.cache_ttl_seconds))
    health = Health(deps, slack_auth=False)
    # the HTTP endpoints come up first: /healthz live at once, /readyz 503 (and in HTTP mode /slack/events 503)
    # until Slack has accepted the token and, in Socket Mode, the connection is open
    server = None
    if not settings.slack_app_token:
        server = serve_http(None, deps, settings.port, health=health, slack_later=True)
        log.info("serving Slack on http://0.0.0.0:%s/slack/events (/healthz, /readyz, /metrics)", server.port)
    elif settings.serving.metrics_port:
        server = serve_http(None, deps, settings.serving.metrics_port, health=health)
        log.info("health and metrics on http://0.0.0.0:%s (/healthz, /readyz, /metrics)", server.port)
    try:
        refuse_to_start_on_fatal(settings, engine)
        app = build_app(deps)  # bolt calls auth.test here: a refused token stops the start
    except BaseException:
        if server is not None:
            server.close()  # the port is free again at once, also for a caller that goes on (the tests)
        raise
    threading.Thread(target=_warm_caches, args=(deps,), name="warm-caches", daemon=True).start()
    scheduler = _start_scheduler(deps, app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    socket_mode = None
    if settings.slack_app_token:
        from handlers.socket_mode import OnceSocketModeHandler

        socket_mode = OnceSocketModeHandler(app, settings.slack_app_token, deps)
        socket_mode.connect()
        log.info("connected to Slack with Socket Mode")
    else:
        server.slack.attach(app)
    health.slack_auth = True
    log.info("ready")
    stop.wait()
    return _stop_gracefully(settings, deps, server, socket_mode, scheduler)


def _stop_gracefully(settings: Settings, deps, server, socket_mode, scheduler) -> int:
    """Stop taking requests, finish those in flight within SHUTDOWN_GRACE_SECONDS, stop the scheduler (a job
    running finishes within the same grace), release the leader lock. Work still running when the grace is over
    is abandoned: the process exits anyway (a claimed delivery is taken over by the next leader, not lost)."""
    from handlers.server import stop_serving

    grace = settings.serving.shutdown_grace_seconds
    deadline = time.monotonic() + grace
    log.info("stopping: no new requests; finishing the work in flight (up to %s s)", grace)
    if scheduler is not None:
        scheduler.request_stop()  # a digest run stops after the delivery it is sending, while requests drain
    if socket_mode is not None:
        socket_mode.close()
    drained = stop_serving(server, deps, deadline)
    jobs_done = scheduler.stop_gracefully(deadline) if scheduler is not None else True
    if drained and jobs_done:
        deps.workers.shutdown(wait=False)
        log.info("stopped cleanly")
        return 0
    log.warning("stopped after the %s s grace with work unfinished (%s answers, jobs %s); leaving it", grace,
                deps.workers.pending, "finished" if jobs_done else "still running")
    logging.shutdown()
    os._exit(0)  # the unfinished threads would keep the interpreter alive past the grace


def _warm_caches(deps) -> None:
    """Compute the org-wide won-deal stage benchmarks once at start-up, so no user waits for them (unless the
    history snapshot holds them already)."""
    from metrics.history_snapshot import usable_state
    from metrics.stage_benchmarks import won_stage_percentiles

    try:
        with deps.engine.connect() as conn:
            state = usable_state(conn)
            if state is None or state.benchmarks is None:
                won_stage_percentiles(conn, cache=deps.cache)
    except Exception:  # noqa: BLE001 - a warm-up only; the first request computes it instead
        log.warning("could not warm the stalled-deal benchmarks", exc_info=True)


def _start_scheduler(deps, app):
    """The scheduler, unless SCHEDULER=off (or this version has none: scheduled work is its own module)."""
    if not deps.settings.serving.scheduler:
        log.info("scheduler off (SCHEDULER=off): this process runs no scheduled jobs")
        return None
    try:
        from scheduler.service import start_scheduler
    except ImportError:
        return None
    return start_scheduler(deps, app.client)
