"""Stalled-deal nudges, the snooze modal and the ops report as Block Kit payloads. Pure: data in, payload out.

Every payload stays inside Slack's limits (render.blocks.LIMITS): at most 10 deals a nudge (the rest are an
"and N more" line), every text from data escaped and cut, at most 50 blocks a message.

Buttons on a nudge carry a short JSON value, ``{"o": opportunity id, "p": nudge period}``, so a click names the
deal and the nudge message to update; their action ids are ``sales_<kind>`` (render.blocks' convention).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from i18n import _, ngettext
from render.blocks import (
    DEFAULT_LABELS,
    FALLBACK_TEXT,
    MAX_BUTTON_URL,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    context,
    header,
    pack_lines,
    section,
)
from render.format import date_text, escape_mrkdwn, money, one_line, truncate, truncate_escaped
from render.reasons import reason_text

NUDGE_MAX_DEALS = 10
SNOOZE_CALLBACK_ID = "sales_snooze_modal"
SNOOZE_DATE_BLOCK, SNOOZE_DATE_ACTION = "snooze_until", "date"
SNOOZE_REASON_BLOCK, SNOOZE_REASON_ACTION = "snooze_reason", "text"
SNOOZE_REASON_MAX = 500
DEAL_ACTIONS = ("snooze_7", "snooze_30", "snooze_custom", "still_active")


# ---------------------------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class NudgeReason:
    rule: str
    title: str  # "No recent activity"
    detail: str  # the finding's English sentence (shown when there is no reason)
    reason: dict | None = None  # the detail as data (metrics.reasons): shown in the reader's language


@dataclass(frozen=True)
class NudgeDeal:
    """One deal in a nudge. status: open | snoozed | acknowledged | resolved (how the DM shows it now)."""

    opportunity_id: int
    record: str
    name: str
    account: str | None
    stage: str | None
    amount: Decimal | None
    close_date: date | None
    reasons: tuple[NudgeReason, ...] = ()
    status: str = "open"
    snoozed_until: date | None = None
    snooze_reason: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Nudge:
    rep_name: str
    period: str  # the rep's local date, ISO
    deals: tuple[NudgeDeal, ...]  # the ones shown (≤ NUDGE_MAX_DEALS)
    more: int = 0  # further stalled deals not shown
    crm_url_template: str | None = None
    currency: str = "USD"


def button_value(opportunity_id: int, period: str | None) -> str:
    return json.dumps({"o": int(opportunity_id), "p": period}, separators=(",", ":"))


def parse_button_value(value: str | None) -> tuple[int | None, str | None, str | None]:
    """(opportunity id, nudge period, record external id) from a button value: a nudge's JSON, or a deal card's
    plain record id."""
    raw = (value or "").strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
            opp = data.get("o")
            period = data.get("p")
            return (int(opp) if isinstance(opp, int | str) and str(opp).isdigit() else None,
                    period if isinstance(period, str) and len(period) <= 64 else None, None)
        except (ValueError, AttributeError):
            return None, None, None
    return None, None, (raw[:200] or None)


def crm_link(record: str, template: str | None) -> str | None:
    if not template or not record:
        return None
    ref = quote(str(record), safe="")
    url = template.replace("{id}", ref).replace("{record}", ref)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if len(url) > MAX_BUTTON_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if re.search(r"[\s<>|]", url):
        return None
    return url


# ---------------------------------------------------------------------------------------------------------------
# the nudge


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _button(kind: str, value: str, *, url: str | None = None, style: str | None = None) -> dict:
    el: dict[str, Any] = {"type": "button", "text": _plain(_(DEFAULT_LABELS[kind])), "action_id": f"sales_{kind}"}
    if value:
        el["value"] = value
    if url:
        el["url"] = url
    if style:
        el["style"] = style
    return el


def _deal_title(deal: NudgeDeal, url: str | None, strike: bool = False) -> str:
    name = escape_mrkdwn(truncate(one_line(deal.name).strip() or deal.record, 300))
    title = f"<{url}|{name}>" if url else name
    title = f"*{title}*"
    return f"~{title}~" if strike else title


def _deal_facts(deal: NudgeDeal, currency: str) -> str:
    facts = []
    if deal.account:
        facts.append(escape_mrkdwn(truncate(one_line(deal.account), 200)))
    if deal.stage:
        facts.append(escape_mrkdwn(truncate(one_line(deal.stage), 100)))
    if deal.amount is not None:
        facts.append(escape_mrkdwn(money(deal.amount, deal.currency or currency)))
    if deal.close_date is not None:
        facts.append(_("closes {date}").format(date=escape_mrkdwn(date_text(deal.close_date))))
    return " · ".join(facts)


def _deal_text(deal: NudgeDeal, url: str | None, currency: str) -> str:
    facts = _deal_facts(deal, currency)
    if deal.status == "resolved":
        head = f"{_deal_title(deal, url, strike=True)} ✅ " + _("No longer stalled, thanks!")
        return truncate_escaped(head + (f"\n{facts}" if facts else ""), MAX_SECTION_TEXT)
    lines = [_deal_title(deal, url) + (f" · {facts}" if facts else "")]
    if deal.status == "snoozed":
        snoozed = (_("Snoozed until {date}").format(date=escape_mrkdwn(date_text(deal.snoozed_until)))
                   if deal.snoozed_until else _("Snoozed for later"))
        why = f": {escape_mrkdwn(truncate(one_line(deal.snooze_reason), 300))}" if deal.snooze_reason else ""
        lines.append(f"💤 {snoozed}{why}")
    elif deal.status == "acknowledged":
        lines.append("👍 " + _("Marked still active. I'll ask again only if something changes on the deal."))
    else:
        budget = MAX_SECTION_TEXT - len(lines[0]) - 40
        for reason in deal.reasons:
            why = reason_text(reason.reason, reason.detail)
            line = f"• *{escape_mrkdwn(one_line(_(reason.title)))}*: {escape_mrkdwn(one_line(why))}"
            line = truncate_escaped(line, 600)
            if len(line) + 1 > budget:
                lines.append("• …")
                break
            lines.append(line)
            budget -= len(line) + 1
    return truncate_escaped("\n".join(lines), MAX_SECTION_TEXT)


def deal_actions(deal: NudgeDeal, period: str | None, url: str | None) -> dict:
    value = button_value(deal.opportunity_id, period)
    elements = [
        _button("snooze_7", value),
        _button("snooze_30", value),
        _button("snooze_custom", value),
        _button("still_active", value, style="primary"),
    ]
    if url:
        elements.append(_button("open_crm", deal.record[:200], url=url))
    return {"type": "actions", "block_id": f"nudge-{deal.opportunity_id}", "elements": elements}


def nudge_fallback(nudge: Nudge) -> str:
    waiting = [d for d in nudge.deals if d.status == "open"]
    n = len(waiting) + nudge.more
    if not n:
        return _("All caught up: no stalled deals left in today's list.")
    names = ", ".join(one_line(d.name) for d in waiting[:3])
    if n > 3:
        names = _("{names} and {n} more").format(names=names, n=f"{n - 3:,}")
    text = ngettext("{n} stalled deal needs a look: {names}", "{n} stalled deals need a look: {names}", n).format(
        n=f"{n:,}", names=names)
    return truncate_escaped(escape_mrkdwn(text), FALLBACK_TEXT)


def nudge_message(nudge: Nudge) -> dict:
    """The daily DM: header, a line of intro, each deal (its reasons and buttons, or how it was settled), the
    "and N more" line, and a context line. ≤ 1 + 1 + 10 × 3 + 1 + 1 blocks."""
    deals = list(nudge.deals)[:NUDGE_MAX_DEALS]
    more = nudge.more + max(0, len(nudge.deals) - NUDGE_MAX_DEALS)
    waiting = sum(1 for d in deals if d.status == "open") + more
    if waiting:
        title = ngettext("{n} stalled deal needs a look", "{n} stalled deals need a look", waiting).format(
            n=f"{waiting:,}")
        intro = _("These open deals have stopped moving. Update them in the CRM, snooze them, or tell me they're "
                  "still active.")
    else:
        title = _("All caught up on stalled deals")
        intro = _("Nothing left to look at in today's list. Thanks!")
    first = escape_mrkdwn(one_line(nudge.rep_name).split(" ")[0]) if nudge.rep_name else ""
    blocks: list[dict] = [header(title), section((_("Hi {name}.").format(name=first) + " " if first else "") + intro)]
    for i, deal in enumerate(deals):
        if i:
            blocks.append({"type": "divider"})
        url = crm_link(deal.record, nudge.crm_url_template)
        blocks.append({**section(_deal_text(deal, url, nudge.currency)), "block_id": f"deal-{deal.opportunity_id}"})
        if deal.status == "open":
            blocks.append(deal_actions(deal, nudge.period, url))
    if more:
        blocks.append(section(ngettext("_…and {n} more stalled deal: `/sales stalled` lists them all._",
                                       "_…and {n} more stalled deals: `/sales stalled` lists them all._",
                                       more).format(n=f"{more:,}")))
    day = date_text(date.fromisoformat(nudge.period)) if _is_iso_date(nudge.period) else nudge.period
    blocks.append(context([_("Your stalled-deal nudge for {day}: one a day on weekdays. Snoozed deals come back "
                             "when the snooze ends.").format(day=escape_mrkdwn(day))]))
    return {"text": nudge_fallback(nudge), "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------------------------
# the snooze modal


def snooze_modal(deal_name: str, private_metadata: str, *, initial_date: date, min_date: date | None = None) -> dict:
    """views.open payload: a datepicker and a reason."""
    name = escape_mrkdwn(truncate(one_line(deal_name), 500))
    picker: dict[str, Any] = {"type": "datepicker", "action_id": SNOOZE_DATE_ACTION,
                              "initial_date": initial_date.isoformat(),
                              "placeholder": _plain(_("Pick a date"))}
    return {
        "type": "modal",
        "callback_id": SNOOZE_CALLBACK_ID,
        "title": _plain(_("Snooze deal")),
        "submit": _plain(_("Snooze")),
        "close": _plain(_("Cancel")),
        "private_metadata": private_metadata[:3000],
        "blocks": [
            section(_("Snooze *{deal}*: I won't nudge you about it until the date you pick (after {date}).").format(
                deal=name, date=escape_mrkdwn(date_text(min_date))) if min_date else
                _("Snooze *{deal}*: I won't nudge you about it until the date you pick.").format(deal=name)),
            {"type": "input", "block_id": SNOOZE_DATE_BLOCK, "label": _plain(_("Until")), "element": picker},
            {"type": "input", "block_id": SNOOZE_REASON_BLOCK, "label": _plain(_("Why?")),
             "element": {"type": "plain_text_input", "action_id": SNOOZE_REASON_ACTION, "multiline": True,
                         "max_length": SNOOZE_REASON_MAX,
                         "placeholder": _plain(_("e.g. customer's budget freezes until January"))}},
        ],
    }


# ---------------------------------------------------------------------------------------------------------------
# the ops report (integrity run)


@dataclass(frozen=True)
class ReportFinding:
    rule: str
    rule_title: str
    record_type: str
    record: str
    record_name: str
    owner: str | None
    detail: str
    amount: Decimal | None
    status: str  # new | open | resolved
    first_seen: datetime | None = None
    reason: dict | None = None  # the detail as data (metrics.reasons): shown in the reader's language


@dataclass(frozen=True)
class DeliveryFailure:
    kind: str
    recipient: str  # a person's name where known
    period: str
    attempts: int
    status: str  # failed | sending (abandoned)
    error: str | None


@dataclass
class OpsReport:
    run_at: datetime
    findings: list[ReportFinding]  # every finding firing now (status new or open)
    resolved: list[ReportFinding]  # stopped firing since the last run
    totals: dict[str, tuple[str, int, int, int]]  # rule → (title, open now, new, resolved)
    failures: list[DeliveryFailure] = field(default_factory=list)
    last_run: datetime | None = None
    timezone: str = "UTC"

    @property
    def new(self) -> list[ReportFinding]:
        return [f for f in self.findings if f.status == "new"]


REPORT_LIST_LINES = 60  # new findings listed in the message; the CSV has them all


def _finding_line(f: ReportFinding) -> str:
    name = escape_mrkdwn(truncate(one_line(f.record_name or f.record), 120))
    record = escape_mrkdwn(truncate(one_line(f.record).replace("`", "'"), 60))
    detail = escape_mrkdwn(truncate(one_line(reason_text(f.reason, f.detail)), 300))
    what = f"*{name}* (`{record}`)" if f.record_name and f.record_name != f.record else f"`{record}`"
    return f"• {escape_mrkdwn(_(f.rule_title))}: {what}: {detail}"


def _grouped_by_owner(findings: list[ReportFinding], limit: int) -> tuple[list[str], int]:
    """Lines grouped under each owner (most findings first), at most `limit` finding lines; (lines, not shown)."""
    groups: dict[str, list[ReportFinding]] = {}
    for f in findings:
        groups.setdefault(f.owner or _("(no owner)"), []).append(f)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    lines: list[str] = []
    shown = 0
    for owner, items in ordered:
        if shown >= limit:
            break
        lines.append(f"*{escape_mrkdwn(truncate(one_line(owner), 150))}* ({len(items)})")
        for f in items:
            if shown >= limit:
                break
            lines.append(_finding_line(f))
            shown += 1
    return lines, len(findings) - shown


def ops_report_message(report: OpsReport) -> dict:
    """The integrity run's post: header; new / resolved / open counts; totals per rule; new findings grouped by
    owner; what was resolved; delivery failures; a context line pointing at the CSV."""
    new, resolved = report.new, report.resolved
    title = _("Data integrity: {new} new, {resolved} resolved, {open} open").format(
        new=f"{len(new):,}", resolved=f"{len(resolved):,}", open=f"{len(report.findings):,}")
    blocks: list[dict] = [header(title)]
    new_head = (_("*New since the last run ({when})*").format(when=escape_mrkdwn(_when(report.last_run,
                                                                                         report.timezone)))
                if report.last_run else _("*New (first run: everything is new)*"))
    blocks.append({"type": "section", "fields": [
        {"type": "mrkdwn", "text": f"{new_head}\n{len(new):,}"},
        {"type": "mrkdwn", "text": _("*Resolved*") + f"\n{len(resolved):,}"},
        {"type": "mrkdwn", "text": _("*Open findings*") + f"\n{len(report.findings):,}"},
        {"type": "mrkdwn", "text": _("*Delivery failures*") + f"\n{len(report.failures):,}"},
    ]})

    body: list[dict] = []
    rule_lines = []
    for _rule, (rule_title, open_now, n_new, n_resolved) in report.totals.items():
        if not (open_now or n_new or n_resolved):
            continue
        extra = []
        if n_new:
            extra.append(_("+{n} new").format(n=f"{n_new:,}"))
        if n_resolved:
            extra.append(_("{n} resolved").format(n=f"{n_resolved:,}"))
        rule_lines.append(f"• {escape_mrkdwn(_(rule_title))}: *{open_now:,}*" + (f" ({', '.join(extra)})" if extra
                                                                                  else ""))
    if rule_lines:
        body += [section(t) for t, _n in pack_lines([_("*Totals per rule*"), *rule_lines])]
    else:
        body.append(section(_("*Totals per rule*") + "\n" + _("No findings: the data is clean.") + " :tada:"))

    if new:
        lines, hidden = _grouped_by_owner(new, REPORT_LIST_LINES)
        if hidden:
            lines.append(ngettext("_…and {n} more new finding: see the CSV._",
                                  "_…and {n} more new findings: see the CSV._", hidden).format(n=f"{hidden:,}"))
        body += [section(t) for t, _n in pack_lines([_("*New findings by owner*"), *lines])]
    if resolved:
        lines = [_finding_line(f) for f in resolved[:20]]
        if len(resolved) > 20:
            lines.append(_("_…and {n} more._").format(n=f"{len(resolved) - 20:,}"))
        body += [section(t) for t, _n in pack_lines([_("*Resolved since the last run*"), *lines])]
    if report.failures:
        lines = []
        for fail in report.failures[:20]:
            why = escape_mrkdwn(truncate(one_line(fail.error or _("abandoned while sending")), 200))
            lines.append(ngettext(
                "• {kind} to *{recipient}* for {period}: not delivered after {n} attempt ({why})",
                "• {kind} to *{recipient}* for {period}: not delivered after {n} attempts ({why})",
                fail.attempts).format(kind=escape_mrkdwn(fail.kind),
                                      recipient=escape_mrkdwn(truncate(one_line(fail.recipient), 100)),
                                      period=escape_mrkdwn(fail.period), n=fail.attempts, why=why))
        if len(report.failures) > 20:
            lines.append(_("_…and {n} more._").format(n=f"{len(report.failures) - 20:,}"))
        body += [section(t) for t, _n in pack_lines([_("*Deliveries that failed*"), *lines])]

    tail = context([ngettext("The full list ({n} finding) is in the CSV in the thread. Run at {when}.",
                             "The full list ({n} findings) is in the CSV in the thread. Run at {when}.",
                             len(report.findings)).format(n=f"{len(report.findings):,}",
                                                          when=escape_mrkdwn(_when(report.run_at, report.timezone)))])
    room = MAX_MESSAGE_BLOCKS - len(blocks) - 1
    if len(body) > room:
        body = body[: room - 1] + [section(_("_…cut to fit Slack's limits: the CSV has everything._"))]
    return {"text": truncate_escaped(escape_mrkdwn(title), FALLBACK_TEXT), "blocks": blocks + body + [tail]}


def _when(at: datetime | None, tz: str) -> str:
    if at is None:
        return _("never")
    try:
        from zoneinfo import ZoneInfo

        local = at.astimezone(ZoneInfo(tz))
    except Exception:  # noqa: BLE001 - a bad zone name only changes the display
        local = at
    return f"{date_text(local)} {local:%H:%M} {local.tzname() or ''}".strip()


CSV_FIELDS = ("rule", "rule_title", "status", "record_type", "record", "record_name", "owner", "detail", "amount",
              "first_seen")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def findings_csv(findings: Iterable[ReportFinding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for f in findings:
        writer.writerow([f.rule, f.rule_title, f.status, f.record_type, _cell(f.record), _cell(f.record_name),
                         _cell(f.owner), _cell(reason_text(f.reason, f.detail)),
                         "" if f.amount is None else str(f.amount),
                         f.first_seen.isoformat() if f.first_seen else ""])
    return out.getvalue()
