"""`python bot.py doctor`: is the configuration right? One line per check, ✓ or ✗ with the fix.

`run` performs the same checks before it serves: a fatal ✗ (no database, a token Slack refuses, a missing
signing secret or app token) stops it with the same sentence; the others are logged as warnings.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select

from config import Settings
from errors import UserError

log = logging.getLogger("salesbot.doctor")
MANIFEST = Path(__file__).resolve().parent / "manifest.yml"
SHOW_FIRST = 5
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str  # what was found, and on ✗ the fix
    fatal: bool = False  # `run` refuses to start

    @property
    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    return list(yaml.safe_load(path.read_text())["oauth_config"]["scopes"]["bot"])


def _first(names: list[str]) -> str:
    more = f" and {len(names) - SHOW_FIRST} more" if len(names) > SHOW_FIRST else ""
    return ", ".join(names[:SHOW_FIRST]) + more


def check_database(engine: Engine) -> Iterator[Check]:
    from db.engine import current_revision, head_revision

    try:
        current = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - the point is to say so
        yield Check(False, f"database: cannot reach it ({type(exc).__name__}); check DATABASE_URL and that the "
                           "server is up.", fatal=True)
        return
    head = head_revision()
    if current == head:
        yield Check(True, f"database: reachable, at the newest migration ({head}).")
    else:
        yield Check(False, f"database: at migration {current or 'none'}, the newest is {head}; run "
                           "`python bot.py db upgrade` (`run` also upgrades at start).")


def check_mode(settings: Settings) -> Iterator[Check]:
    if not settings.slack_bot_token:
        yield Check(False, "Slack: SLACK_BOT_TOKEN is not set, so `run` opens the local console; set it (the Bot "
                           "User OAuth Token, xoxb-…) to serve Slack.", fatal=True)
    elif settings.slack_app_token:
        if settings.slack_app_token.startswith("xapp-"):
            yield Check(True, "mode: Socket Mode (SLACK_APP_TOKEN is set).")
        else:
            yield Check(False, "mode: SLACK_APP_TOKEN does not look like an app-level token (xapp-…); create one "
                               "with connections:write under Basic Information → App-Level Tokens.", fatal=True)
    elif settings.slack_signing_secret:
        yield Check(True, f"mode: HTTP on port {settings.port} (SLACK_SIGNING_SECRET is set).")
    else:
        yield Check(False, "mode: HTTP mode needs SLACK_SIGNING_SECRET to verify that requests come from Slack "
                           "(or set SLACK_APP_TOKEN for Socket Mode).", fatal=True)


def check_slack(settings: Settings, client) -> Iterator[Check]:
    if not settings.slack_bot_token:
        return
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        yield Check(False, f"Slack token: refused by auth.test ({exc.response.get('error')}); copy the Bot User "
                           "OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN.", fatal=True)
        return
    except Exception as exc:  # noqa: BLE001 - network
        yield Check(False, f"Slack token: cannot reach Slack ({type(exc).__name__}); check the network and "
                           "SLACK_API_URL.", fatal=True)
        return
    yield Check(True, f"Slack token: valid, the bot is @{auth.get('user')} in {auth.get('team')}.")
    granted = {s.strip() for s in str(auth.headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = [s for s in manifest_scopes() if s not in granted]
    if missing:
        yield Check(False, f"Slack scopes: missing {', '.join(missing)}; add them under OAuth & Permissions → Bot "
                           "Token Scopes (manifest.yml lists them all) and reinstall the app.")
    else:
        yield Check(True, "Slack scopes: every scope manifest.yml asks for is granted.")
    yield from _check_ops_channel(settings, client)


def _check_ops_channel(settings: Settings, client) -> Iterator[Check]:
    channel = settings.ops_channel
    if not channel:
        yield Check(True, "OPS_CHANNEL: not set, so the integrity report is not posted to a channel.")
        return
    if not _CHANNEL_ID.fullmatch(channel):
        yield Check(False, f"OPS_CHANNEL: {channel!r} is a name; set the channel's ID (C…, from the channel's "
                           "details) so it can be checked, and survives a rename.")
        return
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        fix = ("grant channels:read and groups:read, then reinstall" if error == "missing_scope"
               else "check the ID in the channel's details")
        yield Check(False, f"OPS_CHANNEL: Slack cannot find {channel} ({error}); {fix}.")
        return
    name = info.get("name") or channel
    if info.get("is_member"):
        yield Check(True, f"OPS_CHANNEL: #{name} exists and the bot is in it.")
    else:
        yield Check(False, f"OPS_CHANNEL: the bot is not in #{name}; invite it there with `/invite @salesbot`.")


def check_reps(engine: Engine, settings: Settings, client) -> Iterator[Check]:
    from db.schema import reps

    try:
        with engine.connect() as conn:
            rows = conn.execute(select(reps.c.name, reps.c.email, reps.c.timezone)
                                .where(reps.c.active.is_(True)).order_by(reps.c.name)).all()
    except Exception:  # noqa: BLE001 - the database check has said why
        return
    bad = []
    for name, _email, zone in rows:
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                bad.append(f"{name} ({zone!r})")
    if bad:
        yield Check(False, f"rep time zones: {len(bad)} not valid: {_first(bad)}; use IANA names such as "
                           "America/New_York in the reps' import (or CRM) and import again.")
    else:
        yield Check(True, f"rep time zones: all {len(rows)} active reps have a valid zone (or use "
                          f"DEFAULT_TIMEZONE {settings.default_timezone}).")
    if settings.slack_bot_token and client is not None:
        yield from _check_slack_matches(rows, client)


def _slack_emails(client) -> set[str]:
    emails: set[str] = set()
    cursor = None
    while True:
        page = client.users_list(limit=1000, **({"cursor": cursor} if cursor else {}))
        for member in page.get("members", []):
            if not member.get("deleted") and not member.get("is_bot"):
                email = (member.get("profile") or {}).get("email")
                if email:
                    emails.add(email.lower())
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return emails


def _check_slack_matches(rows, client) -> Iterator[Check]:
    try:
        emails = _slack_emails(client)
    except SlackApiError as exc:
        yield Check(False, f"reps in Slack: cannot list the workspace's people ({exc.response.get('error')}); "
                           "grant users:read and users:read.email.")
        return
    unmatched = [name for name, email, _ in rows if not email or email.lower() not in emails]
    if unmatched:
        yield Check(False, f"reps in Slack: {len(unmatched)} of {len(rows)} active reps have no Slack account with "
                           f"their email: {_first(unmatched)}; they get no digests or nudges until their CRM email "
                           "matches their Slack profile.")
    else:
        yield Check(True, f"reps in Slack: all {len(rows)} active reps match a Slack account by email.")


def check_fiscal(settings: Settings) -> Iterator[Check]:
    from scheduler.digest_schedule import parse_hhmm

    month = calendar.month_name[settings.fiscal_year_start_month]
    problems = []
    for name, value in (("DIGEST_TIME", settings.digest_time),
                        *(("QUIET_HOURS", part) for part in settings.quiet_hours.split("-") if settings.quiet_hours)):
        try:
            parse_hhmm(value)
        except UserError:
            problems.append(f"{name} {value!r}")
    if not re.fullmatch(r"[A-Z]{3}", settings.org_currency):
        problems.append(f"ORG_CURRENCY {settings.org_currency!r}")
    if problems:
        yield Check(False, f"settings: cannot read {', '.join(problems)}; times look like 07:30, quiet hours like "
                           "20:00-07:00, currencies like USD.")
    else:
        yield Check(True, f"settings: fiscal year starts in {month}, default zone {settings.default_timezone}, "
                          f"amounts in {settings.org_currency}, digests at {settings.digest_time}.")


def check_crm(settings: Settings) -> Iterator[Check]:
    """With CRM credentials set: the CRM signs the bot in (a token is issued, or the given one is taken), and every
    object the mapping reads can be read (Salesforce: described; HubSpot: the pipelines and each object's
    properties, which a private app without the object's scope may not read)."""
    connector = settings.crm.connector
    if connector is None:
        return
    from crm.http import CrmHttp, CrmUnavailable
    from crm.hubspot import HubSpotConnector
    from crm.mapping import crm_mapping
    from crm.salesforce import SalesforceConnector

    label = "HubSpot" if connector == "hubspot" else "Salesforce"
    try:
        make = HubSpotConnector if connector == "hubspot" else SalesforceConnector
        crm = make(settings.crm, CrmHttp(timeout=15, retries=1))
        crm.check_sign_in()
    except CrmUnavailable as exc:
        yield Check(False, f"CRM: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - network
        yield Check(False, f"CRM: cannot reach {label} ({type(exc).__name__}); check the network and its URL.")
        return
    yield Check(True, f"CRM: {label} accepts the credentials.")
    try:
        objects = list(dict.fromkeys(spec.crm_object for spec in crm_mapping(connector, settings.crm.mapping_file)))
    except UserError as exc:
        yield Check(False, f"CRM mapping: {exc}")
        return
    yield _crm_objects(crm, label, objects)


def _crm_objects(crm, label: str, objects: list[str]) -> Check:
    from crm.http import CrmUnavailable

    refused, unseen, readable, absent = [], [], [], []
    for obj in objects:
        try:
            if crm.fields(obj) is not None:
                readable.append(obj)
            else:
                (absent if obj in crm.optional else unseen).append(obj)
        except CrmUnavailable as exc:
            refused.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - network
            refused.append(f"cannot reach {label} ({type(exc).__name__}) for {obj}.")
    if unseen:
        refused.append(f"the integration user cannot see {', '.join(unseen)}; give its profile (or a permission "
                       "set) Read and View All on them.")
    if refused:
        return Check(False, f"CRM objects: {' '.join(refused)}")
    skipped = f"; not in this org, so skipped: {', '.join(absent)}" if absent else ""
    return Check(True, f"CRM objects: {label} lets the bot read {', '.join(readable)}{skipped}.")


def run_checks(settings: Settings, engine: Engine, client=None) -> list[Check]:
    """Every check, in order."""
    if client is None and settings.slack_bot_token:
        from handlers.app import web_client

        client = web_client(settings)
    checks = [*check_database(engine), *check_mode(settings)]
    slack = list(check_slack(settings, client))
    if any(c.fatal and not c.ok for c in slack):
        client = None  # Slack refused the token: nothing more to ask it
    checks += [*slack, *check_reps(engine, settings, client), *check_fiscal(settings), *check_crm(settings)]
    return checks


def run_doctor_command(settings: Settings) -> int:
    from db.engine import create_raw_engine

    checks = run_checks(settings, create_raw_engine(settings.database_url))
    for check in checks:
        print(check.line)
    failed = sum(not c.ok for c in checks)
    print(f"{failed} problem{'s' if failed != 1 else ''} found." if failed else "All good.")
    return 1 if failed else 0


def refuse_to_start_on_fatal(settings: Settings, engine: Engine, client=None) -> list[Check]:
    """`run`'s start: a fatal problem stops it with the doctor's sentence; the others are warnings."""
    checks = run_checks(settings, engine, client)
    for check in checks:
        if not check.ok and check.fatal:
            raise UserError(check.text)
    for check in checks:
        if not check.ok:
            log.warning("doctor: %s", check.line)
    return checks
