"""`python bot.py sync [salesforce|hubspot] [--full]` and `python bot.py sync --status`."""

from __future__ import annotations

from datetime import UTC, datetime

from config import CrmSettings, Settings
from crm.engine import Connector, SyncFailed, sync
from crm.http import CrmUnavailable
from crm.mapping import crm_mapping
from crm.state import read_states, recent_rejects, reject_counts
from db.engine import create_raw_engine, upgrade
from errors import UserError

CONNECTORS = ("salesforce", "hubspot")


def make_connector(crm: CrmSettings, asked: str | None = None) -> Connector:
    """The connector the credentials set up; a sentence when none (or another than asked) is configured."""
    configured = crm.connector
    if configured is None:
        raise UserError("No CRM is configured: set SALESFORCE_INSTANCE_URL with SALESFORCE_CLIENT_ID and "
                        "SALESFORCE_CLIENT_SECRET (or SALESFORCE_ACCESS_TOKEN), or HUBSPOT_ACCESS_TOKEN. See the "
                        "README, \"Connecting your CRM\".")
    if asked and asked != configured:
        raise UserError(f"You asked for a {asked} sync, but the credentials set are {configured}'s.")
    from crm.http import CrmHttp
    from crm.hubspot import HubSpotConnector
    from crm.salesforce import SalesforceConnector

    make = HubSpotConnector if configured == "hubspot" else SalesforceConnector
    try:
        return make(crm, CrmHttp(retries=crm.max_retries))
    except CrmUnavailable as exc:
        raise UserError(str(exc)) from None


def run_sync_command(args, settings: Settings) -> int:
    engine = create_raw_engine(settings.database_url)
    upgrade(engine)
    if args.status:
        print("\n".join(status_lines(engine, settings.crm.connector or args.connector or "salesforce")))
        return 0
    connector = make_connector(settings.crm, args.connector)
    specs = crm_mapping(connector.name, settings.crm.mapping_file)
    try:
        report = sync(engine, connector, specs, full=args.full)
    except SyncFailed as exc:
        raise UserError(str(exc)) from None
    print("\n".join(report.lines()))
    return 0


def status_lines(engine, connector: str, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        states = read_states(conn, connector)
        rejects = reject_counts(conn, connector)
        recent = recent_rejects(conn, connector)
    if not states:
        return [f"No {connector} sync has run yet: `python bot.py sync`."]
    lines = [f"{'object':<28} {'last success':<22} {'watermark':<22} {'rows':>9} {'rejects':>8}  last error"]
    for s in states:
        error = s.last_error or ""
        if s.consecutive_failures:
            error += f" ({s.consecutive_failures} failed run{'s' if s.consecutive_failures > 1 else ''} in a row)"
        lines.append(f"{s.object:<28} {_when(s.last_success_at, now):<22} {_stamp(s.watermark):<22} "
                     f"{s.rows_seen:>9,} {rejects.get(s.object, 0):>8}  {error}")
    if recent:
        lines.append("recent rejects:")
        lines += [f"  {r['object']} {r['record_id']} {r['field']} {r['value']!r}: {r['reason']}" for r in recent]
    return lines


def _stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return _stamp(moment)
