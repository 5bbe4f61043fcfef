"""README claims that no other test proved: each test names the sentence it holds the code to.

The expected values come from the README itself (its settings table, the manifest's scopes, the command line's
promise of one clear line), from hand-worked figures, or from reading the database directly.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select, text

import bot
from assistant.service import answer_text
from assistant.vocabulary import SUBCOMMANDS as SLASH_SUBCOMMANDS
from config import load_settings
from db.engine import dispose_all, get_engine
from db.importer import import_mapping
from db.schema import bot_slack_identities, opportunities, opportunity_history, quotas, reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD, read_state, refresh_history_snapshot
from metrics.periods import Period
from metrics.scopes import Scope, viewer_by_email
from tests.backends import postgres_only
from tests.factories import Factory, at
from tests.orgs import build_small_org
from tests.test_console import Tty
from tests.test_digest_schedule import MON_AFTER_US, due_names, make_ctx, utc
from tests.test_slack_bot import ask, fields

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
ORG = Scope("org", "the whole org")


def readme_section(title: str) -> str:
    """The text of one `## title` section of the README."""
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


# --- Quick start ---------------------------------------------------------------------------------------------


def test_run_with_nothing_set_builds_the_demo_in_salesops_db_and_opens_the_console_as_a_manager(
        tmp_path, monkeypatch, capsys):
    """"With no Slack tokens set, `run` says so, builds the demo org in a SQLite file (`salesops.db`) and opens
    the local console as a demo manager. … `quit` leaves." And "`DATABASE_URL` unset means sqlite:///salesops.db"."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.setenv(name, "x")  # so that teardown restores the variable's absence, whatever .env sets
        monkeypatch.delenv(name)
    monkeypatch.setattr("sys.stdin", Tty("/sales help\n/sales quota team\nquit\n/sales pipeline\n"))
    try:
        assert bot.main(["run"]) == 0
    finally:
        dispose_all()
    out, err = capsys.readouterr()
    assert "No SLACK_BOT_TOKEN is set" in err
    assert (tmp_path / "salesops.db").exists()
    engine = create_engine(f"sqlite:///{tmp_path / 'salesops.db'}")
    try:
        with engine.connect() as conn:
            manager = conn.execute(select(reps.c.name, reps.c.role)
                                   .where(reps.c.email == "manager@demo.example.com")).one()
            deals = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
            team = conn.execute(select(reps.c.name).where(
                reps.c.manager_id == select(reps.c.id).where(reps.c.email == "manager@demo.example.com")
                .scalar_subquery(), reps.c.active.is_(True))).scalars().all()
    finally:
        engine.dispose()
    assert manager.role == "manager" and deals == bot.DEMO_DEALS
    assert f"You are {manager.name} (manager)." in out
    assert "/sales pipeline" in out.split("sales> /sales help", 1)[1]  # help lists the commands
    team_answer = out.split("sales> /sales quota team", 1)[1]
    assert f"Quota attainment · {manager.name}'s team" in team_answer
    assert team and all(name in team_answer for name in team)  # one row per rep of their team
    assert out.rstrip().endswith("sales> quit")  # nothing after `quit` was read


# --- PostgreSQL -----------------------------------------------------------------------------------------------


@postgres_only
def test_postgresql_sessions_run_without_jit_and_with_custom_plans(db):
    """"The bot's PostgreSQL sessions run with `jit=off` … and `plan_cache_mode=force_custom_plan`"."""
    engine = get_engine(db.url)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_money_is_exact_decimal_and_numeric_18_2(db):
    """"Money is `NUMERIC(18,2)` (exact `Decimal` in Python)". SQLite stores a REAL, so it is exact to the cent for
    amounts up to 15 significant digits (the README says so); PostgreSQL keeps all 18."""
    f = Factory(db.engine)
    rep = f.rep("Ann Rep")
    amounts = ["0.10", "0.20", "1234567890123.45", "-99.99"]
    if db.backend == "postgresql":
        amounts.append("9999999999999999.99")
    for day, amount in enumerate(amounts, start=1):
        f.quota(rep, date(2026, 1, day), date(2026, 3, 31), amount)
    with db.engine.connect() as conn:
        stored = conn.execute(select(quotas.c.amount).order_by(quotas.c.period_start)).scalars().all()
    assert stored == [Decimal(a) for a in amounts]
    assert all(isinstance(v, Decimal) for v in stored)
    for table in ("opportunities", "quotas", "opportunity_history"):
        [amount] = [c for c in inspect(db.engine).get_columns(table) if c["name"] == "amount"]
        if db.backend == "postgresql":
            assert (amount["type"].precision, amount["type"].scale) == (18, 2), table


def test_timestamps_are_stored_in_utc_and_read_back_aware(db):
    """"timestamps are stored in UTC and are always time-zone aware": an instant given in +09:00 comes back the
    same instant, in UTC; the database holds the UTC wall time; a naive timestamp is refused."""
    f = Factory(db.engine)
    rep = f.rep("Ann Rep")
    deal = f.deal(rep, "Prospecting", 100, date(2026, 12, 31), history=False)
    tokyo = datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=9)))
    f.history(deal, tokyo, stage="Prospecting")
    with db.engine.connect() as conn:
        back = conn.execute(select(opportunity_history.c.changed_at)).scalar_one()
        if db.backend == "sqlite":
            raw = conn.execute(text("SELECT changed_at FROM opportunity_history")).scalar_one()
            assert raw.startswith("2026-12-01 00:30:00")
        else:
            kind = conn.execute(text("SELECT data_type FROM information_schema.columns WHERE table_name = "
                                     "'opportunity_history' AND column_name = 'changed_at'")).scalar_one()
            assert kind == "timestamp with time zone"
    assert back == tokyo and back.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="time-zone aware"):
        f.history(deal, datetime(2026, 12, 1, 9, 30), stage="Prospecting")


# --- Connecting Slack -----------------------------------------------------------------------------------------


def test_the_manifest_declares_the_command_scopes_app_home_interactivity_and_events():
    """Step 1 of "Connecting Slack": the manifest declares `/sales`, the listed bot scopes, App Home,
    interactivity and the events, on the path the bot serves (`POST /slack/events`), Socket Mode by default."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/sales"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    listed = re.search(r"the bot scopes \((.*?)\), App Home", README, re.DOTALL).group(1)
    named = [w for w in re.findall(r"`([^`]+)`", listed) if ":" in w or w == "commands"]  # not `doctor`
    assert len(named) >= 8
    for scope in named:
        if scope.endswith(":*"):
            assert any(s.startswith(scope[:-1]) for s in scopes), scope
        else:
            assert scope in scopes, scope
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True  # DMs to the bot
    assert settings["interactivity"]["is_enabled"] is True
    assert {"app_home_opened", "app_mention", "message.im"} <= set(settings["event_subscriptions"]["bot_events"])
    assert settings["socket_mode_enabled"] is True
    for url in (features["slash_commands"][0]["url"], settings["interactivity"]["request_url"],
                settings["event_subscriptions"]["request_url"]):
        assert url == "https://YOUR-HOST/slack/events"


def test_the_manifest_usage_hint_lists_every_subcommand_of_the_grammar():
    """The manifest's usage hint for `/sales` names every subcommand the grammar picks outright (`trend`,
    `waterfall`, `accuracy`, `call`, `calls`, …), and nothing the grammar does not know."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    words = [part.split()[0] for part in hint.split("|")]
    assert sorted(words) == sorted(SLASH_SUBCOMMANDS)
    assert len(hint) <= 1000  # the longest usage hint Slack's manifest accepts


def test_people_are_matched_by_slack_email_and_cached_in_the_bots_tables(running_bot):
    """"People are matched to reps by the email on their Slack profile (`users.info`), cached in the bot's own
    tables": the second question asks Slack nothing, and the cache row names Ann's rep."""
    bot = running_bot
    first = ask(bot, "UANN", "pipeline", name="first")
    assert bot.fake.calls("users.info") and len(bot.fake.calls("users.info")) == 1
    bot.fake.reset()
    again = ask(bot, "UANN", "pipeline", name="again")
    assert bot.fake.calls("users.info") == []
    assert fields(first) == fields(again)
    with bot.deps.engine.connect() as conn:
        row = conn.execute(select(bot_slack_identities).where(bot_slack_identities.c.slack_user_id == "UANN")).one()
    assert (row.rep_id, row.email, row.tz) == (bot.org["A"], "ann.rep@example.com", "America/New_York")


# --- Scheduled work -------------------------------------------------------------------------------------------


def test_a_manager_with_no_zone_anywhere_gets_the_digest_at_0800_in_default_timezone(db, fake_slack):
    """"at `DIGEST_TIME` (08:00) in their own time zone (Slack's, else `reps.timezone`, else
    `DEFAULT_TIMEZONE`)": Nina has no Slack account and no zone of her own; with DEFAULT_TIMEZONE=Asia/Tokyo her
    Monday digest is due from 08:00 Tokyo, i.e. Sunday 23:00 UTC."""
    f = Factory(db.engine)
    boss = f.rep("Erin Exec", role="exec", timezone="America/New_York")
    nina = f.rep("Nina Nozone", role="manager", manager=boss, team="North", timezone=None)
    f.rep("Ned Rep", manager=nina, team="North", timezone=None)
    ctx = make_ctx(db.engine, fake_slack, default_timezone="Asia/Tokyo")
    sunday = MON_AFTER_US - timedelta(days=1)
    assert "Nina" not in due_names(ctx, utc(sunday, 22, 59))  # 07:59 Monday in Tokyo
    assert "Nina" in due_names(ctx, utc(sunday, 23))  # 08:00 Monday in Tokyo
    utc_ctx = make_ctx(db.engine, fake_slack)  # DEFAULT_TIMEZONE unset: UTC, 08:00 UTC
    assert "Nina" not in due_names(utc_ctx, utc(MON_AFTER_US, 7, 59))
    assert "Nina" in due_names(utc_ctx, utc(MON_AFTER_US, 8))


def test_the_snapshot_is_rebuilt_whole_once_a_day_and_taken_by_every_import(db, tmp_path):
    """"[the snapshot] is rebuilt whole once a day (also after every import and demo build …)": a refresh 23 hours
    after the last full rebuild only catches up; one 24 hours after rebuilds whole. And an import leaves a
    snapshot that covers every history row it wrote."""
    f = Factory(db.engine)
    rep = f.rep("Ann Rep")
    deal = f.deal(rep, "Prospecting", 100, date(2026, 12, 31), created=date(2026, 9, 1))
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    with db.engine.begin() as conn:
        assert refresh_history_snapshot(conn, now=start)["mode"] == "full"
    f.history(deal, at(date(2026, 9, 2)), stage="Qualification")
    with db.engine.begin() as conn:
        assert refresh_history_snapshot(conn, now=start + timedelta(hours=23))["mode"] == "incremental"
        assert refresh_history_snapshot(conn, now=start + timedelta(hours=23, minutes=59))["mode"] == "current"
        assert refresh_history_snapshot(conn, now=start + timedelta(hours=24))["mode"] == "full"

    import_mapping(db.engine, ROOT / "examples" / "hubspot" / "mapping.yml",
                   now=datetime(2026, 12, 1, 12, tzinfo=UTC), after_load=SNAPSHOT_AFTER_LOAD)
    with db.engine.connect() as conn:
        newest = conn.execute(select(func.max(opportunity_history.c.id))).scalar_one()
        imported = conn.execute(select(func.count()).select_from(opportunities)).scalar_one()
        state = read_state(conn)
    assert imported > 1 and state is not None and state.through == newest


# --- Command line ---------------------------------------------------------------------------------------------

# Every subcommand that reads the database, with arguments that would otherwise work.
SUBCOMMANDS = [
    ["run"], ["console", "--as", "rep@demo.example.com"], ["ask", "--as", "rep@demo.example.com", "pipeline"],
    ["demo"], ["import", str(ROOT / "examples" / "hubspot" / "mapping.yml")], ["metrics", "pipeline"],
    ["check"], ["digest", "--dry-run", "--all"], ["jobs"], ["bench", "--deals", "100", "--reps", "12"],
    ["db", "upgrade"], ["db", "current"], ["db", "snapshot"],
]


@pytest.mark.parametrize("argv", SUBCOMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("url", ["mysql://someone@db.example.com/sales", "not a url at all"])
def test_every_subcommand_reads_database_url_and_fails_with_one_clear_line(argv, url, monkeypatch, capsys,
                                                                           tmp_path):
    """"Each subcommand reads `DATABASE_URL` …, exits 0 on success and non-zero with one clear line on error"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    monkeypatch.setattr("sys.stdin", Tty("quit\n"))
    code = bot.main(argv)
    out, err = capsys.readouterr()
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: ") and "DATABASE_URL" in err, err
    assert "Traceback" not in err and not list(tmp_path.iterdir())  # no database file, no error log


# --- How the numbers are defined: the cache -------------------------------------------------------------------


def test_cache_ttl_zero_is_off_and_a_result_is_reused_no_longer_than_its_ttl(db, small_org_clock):
    """"Results are cached for `CACHE_TTL_SECONDS`" and the settings table's "(0 = off)"."""
    build_small_org(db.engine)
    today = date(2026, 11, 25)
    off = ResultCache(load_settings({"CACHE_TTL_SECONDS": "0"}).cache_ttl_seconds)
    with db.engine.connect() as conn:
        for _ in range(3):
            assert evaluate(conn, "closed_won", Q4, ORG, today=today, cache=off).value == Decimal("11000.00")
    assert off.hits == 0
    short = ResultCache(0.3)
    with db.engine.connect() as conn:
        evaluate(conn, "closed_won", Q4, ORG, today=today, cache=short)
        misses = short.misses
        time.sleep(0.4)
        assert evaluate(conn, "closed_won", Q4, ORG, today=today, cache=short).value == Decimal("11000.00")
    assert short.misses == 2 * misses  # every query ran again once the ttl had passed


# --- Settings -------------------------------------------------------------------------------------------------


def settings_table() -> dict[str, str]:
    """The README's settings table: name → default as written (— for none)."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.*?) \|", readme_section("Settings"), re.MULTILINE)
    return {name: default.strip("`") for name, default in rows}


# README default → the Settings attribute and the value it must hold when nothing is set.
EXPECTED_DEFAULTS = {
    "DATABASE_URL": ("database_url", "sqlite:///salesops.db"),
    "FISCAL_YEAR_START_MONTH": ("fiscal_year_start_month", 1),
    "DEFAULT_TIMEZONE": ("default_timezone", "UTC"),
    "ORG_CURRENCY": ("org_currency", "USD"),
    "DEFAULT_LOCALE": ("default_locale", "en"),
    "SLACK_BOT_TOKEN": ("slack_bot_token", ""),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", ""),
    "SLACK_APP_TOKEN": ("slack_app_token", ""),
    "SLACK_API_URL": ("slack_api_url", ""),
    "PORT": ("port", 3000),
    "CRM_URL_TEMPLATE": ("crm_url_template", ""),
    "OPS_CHANNEL": ("ops_channel", ""),
    "STALLED_NO_ACTIVITY_DAYS": ("stalled_no_activity_days", 14),
    "STALLED_DAYS_BY_SEGMENT": ("stalled_days_by_segment", {}),
    "ESCALATE_AFTER_DAYS": ("escalate_after_days", 3),
    "INTEGRITY_CRON": ("integrity_cron", "0 7 * * 1-5"),
    "DIGEST_TIME": ("digest_time", "08:00"),
    "QUIET_HOURS": ("quiet_hours", "20:00-07:00"),
    "CACHE_TTL_SECONDS": ("cache_ttl_seconds", 60),
    "LOG_LEVEL": ("log_level", "INFO"),
}


def test_the_settings_table_lists_every_setting_with_the_default_the_bot_uses():
    """"All optional": with nothing set, each setting holds the default the README's table gives."""
    table = settings_table()
    assert set(table) == read_by_config(), "the table lists exactly the settings config.py reads"
    settings = load_settings({})
    for name, shown in table.items():  # each default as written is the default: setting it changes nothing
        if shown not in ("—", "Slack's", "pool size"):
            assert load_settings({name: shown}) == settings, name
    for name, (attribute, value) in EXPECTED_DEFAULTS.items():
        assert getattr(settings, attribute) == value, name
        shown = table[name]
        if shown in ("—", "Slack's"):
            assert value in ("", {}), name
        else:
            assert shown == str(value), name


def read_by_config() -> set[str]:
    """Every environment variable config.py reads."""
    source = (ROOT / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r'(?:env, |get\()"([A-Z][A-Z0-9_]+)"', source))


def test_env_example_documents_each_setting_with_its_default():
    """"put them in the environment or a `.env` file (`.env.example` documents each one)"."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    lines = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, re.MULTILINE))
    comments = re.findall(r"^# .*$", example, re.MULTILINE)
    assert comments
    for name, (_, value) in EXPECTED_DEFAULTS.items():
        assert name in lines, name
        written = lines[name].strip()
        assert written == ("" if value in ("", {}) else str(value)), name
        assert load_settings({name: written}) == load_settings({}), name  # as written, it is the default
    assert read_by_config() <= set(lines), "every setting config.py reads is in .env.example"
    with_values = dict(lines)
    assert replace(load_settings(with_values), crm=load_settings({}).crm) == load_settings({})


# --- What you can ask: who ------------------------------------------------------------------------------------


def test_two_people_with_the_name_typed_get_a_question_back_and_a_unique_first_name_is_enough(db):
    """"a name (first name when it is unique) … Two people with the name you typed get a question back, not a
    guess": with two Sam Ortiz, "pipeline sam ortiz" names both and shows no figure; "dana" is Dana Cole's."""
    f = Factory(db.engine)
    erin = f.rep("Erin Exec", role="exec")
    sam_one = f.rep("Sam Ortiz", manager=erin, email="sam.ortiz@example.com", external_id="rep-sam-1")
    sam_two = f.rep("Sam Ortiz", manager=erin, email="s.ortiz@example.com", external_id="rep-sam-2")
    dana = f.rep("Dana Cole", manager=erin)
    for owner, amount in ((sam_one, 1000), (sam_two, 2000), (dana, 4000)):
        f.deal(owner, "Proposal", amount, date(2026, 12, 15), created=date(2026, 10, 5))
    now = datetime(2026, 11, 25, 15, tzinfo=UTC)
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, "erin.exec@example.com")
    both = answer_text(db.engine, viewer, "/sales pipeline sam ortiz", settings=load_settings({}), now=now)
    shown = " ".join([both.title or "", *both.lines, *(a.label for a in both.actions)])
    assert (both.kind, both.title) == ("info", "Which sam ortiz?") and not both.figures and not both.table
    assert sorted(a.label for a in both.actions) == ["Sam Ortiz (s.ortiz@example.com)",
                                                     "Sam Ortiz (sam.ortiz@example.com)"]
    assert "1000" not in shown and "2000" not in shown and "3000" not in shown and "$" not in shown
    one = answer_text(db.engine, viewer, "/sales pipeline dana", settings=load_settings({}), now=now)
    assert {f.label: f.value for f in one.figures}["Pipeline"] == Decimal("4000.00")
    assert "Dana Cole" in " ".join(one.context)


# --- Scheduled work: the integrity run's schedule -------------------------------------------------------------


def test_integrity_cron_sets_when_the_integrity_run_fires_in_default_timezone():
    """"Integrity run on `INTEGRITY_CRON`" (default `0 7 * * 1-5`): after Friday 2026-12-04 08:00 in Berlin the
    default fires next on Monday 07:00 Berlin (06:00 UTC); `30 18 * * 6` fires on Saturday 18:30 Berlin."""
    from scheduler.jobs import JOBS

    [integrity] = [job for job in JOBS if job.id == "integrity"]
    after = datetime(2026, 12, 4, 7, tzinfo=UTC)  # Friday 08:00 in Berlin (CET, UTC+1)
    default = integrity.make_trigger(load_settings({"DEFAULT_TIMEZONE": "Europe/Berlin"}))
    assert default.get_next_fire_time(None, after) == datetime(2026, 12, 7, 6, tzinfo=UTC)
    saturday = integrity.make_trigger(load_settings({"DEFAULT_TIMEZONE": "Europe/Berlin",
                                                     "INTEGRITY_CRON": "30 18 * * 6"}))
    assert saturday.get_next_fire_time(None, after) == datetime(2026, 12, 5, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize("field, days", [
    ("1-5", "mon,tue,wed,thu,fri"), ("0", "sun"), ("7", "sun"), ("6,0", "sun,sat"), ("*/2", "sun,tue,thu,sat"),
    ("mon-fri", "mon,tue,wed,thu,fri"), ("5-7", "sun,fri,sat"), ("1/3", "mon,thu"), ("*", "*"),
])
def test_crontab_weekday_numbers_count_from_sunday(field, days):
    """Crontab's weekdays (the README's `0 7 * * 1-5` is Monday to Friday), worked out by hand."""
    from scheduler.jobs import crontab_weekdays

    assert crontab_weekdays(field) == days
