"""The CRM sync job (DESIGN §6): one sync every CRM_SYNC_MINUTES, on the leader, when a CRM is configured.

The job keeps its own row in bot_sync_state (object RUN): the last run that succeeded and how many have failed
in a row since, whichever object each stopped at. The third failure in a row tells OPS_CHANNEL, once per
failure streak: the ledger key's period is the streak's start (the last success before it, or "never"). A later
successful run tells the channel once more for every streak that was reported and not yet called recovered, so a
recovery message that failed to send goes out on the next good run.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import and_, select

from crm.engine import SyncFailed, sync
from crm.mapping import crm_mapping
from crm.state import RUN, read_state, reject_counts, save_state
from db.schema import bot_delivery_ledger
from errors import UserError
from i18n import _, ngettext, use_locale
from render.answers import Answer
from render.blocks import answer_to_message
from render.format import moment_text
from scheduler.ledger import Delivery
from scheduler.ops_channel import deliver_to_ops

log = logging.getLogger(__name__)

FAILING = "crm_sync_failing"
RECOVERED = "crm_sync_recovered"
ALERT_AFTER = 3


def run_crm_sync(ctx, now: datetime) -> dict:
    crm = ctx.settings.crm
    if crm.connector is None:
        return {"skipped": "no CRM is configured"}
    name = crm.connector
    with ctx.engine.connect() as conn:
        before = read_state(conn, name, RUN)
    error, summary = None, {}
    try:
        if ctx.crm_connector is None:
            from crm.cli import make_connector

            connector = make_connector(crm)
        else:
            connector = ctx.crm_connector(crm)
        report = sync(ctx.engine, connector, crm_mapping(name, crm.mapping_file), now=now)
        summary = {"wrote": report.wrote, "history_added": report.history_added, "seconds": round(report.seconds, 1)}
    except (SyncFailed, UserError) as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure counts toward the streak; the trace goes to the log
        log.exception("CRM sync failed")
        error = f"the sync failed unexpectedly ({type(exc).__name__}); the details are in the bot's log."
    if error:
        state = replace(before, last_attempt_at=now, last_error=error,
                        consecutive_failures=before.consecutive_failures + 1)
    else:
        state = replace(before, last_attempt_at=now, last_success_at=now, last_error=None, consecutive_failures=0)
    with ctx.engine.begin() as conn:
        save_state(conn, state)
    summary |= {"ok": error is None, "failures_in_a_row": state.consecutive_failures}
    channel = (ctx.settings.ops_channel or "").strip()
    if not channel:
        return summary
    if error and state.consecutive_failures >= ALERT_AFTER:
        key = Delivery(FAILING, channel, streak_key(before.last_success_at))
        summary["alert"] = deliver_to_ops(ctx, key, failing_message(ctx, name, state, before.last_success_at),
                                          now)
    elif not error:
        sent = [deliver_to_ops(ctx, Delivery(RECOVERED, channel, period),
                               recovered_message(name, now, before.consecutive_failures,
                                                 ctx.settings.default_locale), now)
                for period in unrecovered_streaks(ctx, channel)]
        if sent:
            summary["recovery"] = sent
    return summary


def streak_key(last_success: datetime | None) -> str:
    return last_success.astimezone(UTC).isoformat() if last_success else "never"


def unrecovered_streaks(ctx, channel: str) -> list[str]:
    """Streaks whose failure message went out and whose recovery message has not."""
    failing, recovered = bot_delivery_ledger.alias("failing"), bot_delivery_ledger.alias("recovered")
    stmt = (select(failing.c.period)
            .outerjoin(recovered, and_(recovered.c.kind == RECOVERED, recovered.c.recipient == failing.c.recipient,
                                       recovered.c.period == failing.c.period, recovered.c.status == "sent"))
            .where(failing.c.kind == FAILING, failing.c.recipient == channel, failing.c.status == "sent",
                   recovered.c.id.is_(None))
            .order_by(failing.c.period))
    with ctx.engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def failing_message(ctx, connector: str, state, last_success: datetime | None) -> dict:
    with ctx.engine.connect() as conn:
        rejects = sum(reject_counts(conn, connector).values())
    with use_locale(ctx.settings.default_locale):  # the ops channel reads DEFAULT_LOCALE
        n = state.consecutive_failures
        first = (ngettext("The last {n} {crm} sync failed; the last one that succeeded ran at {when}.",
                          "The last {n} {crm} syncs failed in a row; the last one that succeeded ran at {when}.", n)
                 .format(n=n, crm=connector, when=_stamp(last_success)) if last_success else
                 ngettext("The last {n} {crm} sync failed, and no scheduled sync has succeeded yet.",
                          "The last {n} {crm} syncs failed in a row, and no scheduled sync has succeeded yet.", n)
                 .format(n=n, crm=connector))
        lines = [first,
                 _("Last error: {error}").format(error=state.last_error),
                 _("Rejected records: {n} (see `python bot.py sync --status`).").format(n=f"{rejects:,}"),
                 _("Answers and digests keep the last good data and say how old it is. One more message follows "
                   "when a sync succeeds again.")]
        return answer_to_message(Answer(kind="info", title=_("CRM sync failing ({crm})").format(crm=connector),
                                        lines=lines))


def recovered_message(connector: str, now: datetime, failures: int, language: str = "en") -> dict:
    with use_locale(language):
        line = (ngettext("The {crm} sync at {when} succeeded after {n} failed run; the data is current again.",
                         "The {crm} sync at {when} succeeded after {n} failed runs in a row; the data is current "
                         "again.", failures) if failures
                else _("The {crm} sync at {when} succeeded; the data is current again.")
                ).format(crm=connector, when=_stamp(now), n=failures)
        return answer_to_message(Answer(kind="info", title=_("CRM sync recovered ({crm})").format(crm=connector),
                                        lines=[line]))


def _stamp(moment: datetime) -> str:
    return moment_text(moment.astimezone(UTC))
