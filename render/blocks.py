"""Answer → Block Kit message. Pure: data in, payload out, always inside Slack's limits.

Every string that comes from data goes through `escape_mrkdwn` (mrkdwn) or stays in plain_text; long lists are cut
with an "and N more" line instead of being rejected by Slack. The limits enforced here are the ones in LIMITS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from i18n import N_, _
from render.answers import Action, Answer, DealCard, Table
from render.format import (
    DASH,
    clean_text,
    count,
    date_text,
    escape_mrkdwn,
    fit_width,
    fmt,
    format_table,
    money_exact,
    one_line,
    truncate,
    truncate_escaped,
)

# Slack's Block Kit limits (https://api.slack.com/reference/block-kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_ACTION_ID = 255
MAX_MESSAGE_TEXT = 40000
FALLBACK_TEXT = 300  # the top-level `text` is a notification fallback: short on purpose

TABLE_MAX_ROWS = 40  # rows shown in a message table (before the 3,000-character cut)
TABLE_MAX_WIDTH = 100  # display columns a table line aims for
TABLE_HARD_WIDTH = 120  # and never exceeds

ACTION_PREFIX = "sales_"
DEFAULT_LABELS = {
    "share": N_("Share in channel"),
    "chart": N_("Show chart"),
    "csv": "CSV",
    "snooze_7": N_("Snooze 7 days"),
    "snooze_30": N_("Snooze 30 days"),
    "snooze_custom": N_("Snooze until…"),
    "still_active": N_("Still active"),
    "open_crm": N_("Open in CRM"),
    "forecast_call": N_("Submit my call"),
}
# actions that only make sense for the person who asked; dropped when an answer is shared in a channel
PERSONAL_ACTIONS = frozenset({"share", "snooze_7", "snooze_30", "snooze_custom", "still_active", "forecast_call"})


# ---------------------------------------------------------------------------------------------------------------
# block constructors


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str) -> dict:
    """A section with mrkdwn text (already escaped), cut to 3,000 characters."""
    return {"type": "section", "text": _mrkdwn(truncate_escaped(text, MAX_SECTION_TEXT) or " ")}


def header(text: str) -> dict:
    """A header block: plain text (no escaping), one line, ≤150 characters."""
    return {"type": "header", "text": _plain(truncate(one_line(text).strip(), MAX_HEADER_TEXT) or _("Sales"))}


def context(texts: list[str]) -> dict:
    """A context block of mrkdwn elements (already escaped): ≤10 elements, the rest joined into the last.
    Blank texts are dropped: check that "elements" is not empty before using the block."""
    texts = [t for t in texts if t and t.strip()]
    if len(texts) > MAX_CONTEXT_ELEMENTS:
        texts = texts[: MAX_CONTEXT_ELEMENTS - 1] + [" · ".join(texts[MAX_CONTEXT_ELEMENTS - 1 :])]
    return {"type": "context", "elements": [_mrkdwn(truncate_escaped(t, MAX_CONTEXT_TEXT)) for t in texts]}


def fields_sections(fields: list[str]) -> list[dict]:
    """Sections of mrkdwn fields (already escaped), ≤10 fields a section, each ≤2,000 characters."""
    out = []
    for i in range(0, len(fields), MAX_FIELDS):
        chunk = [_mrkdwn(truncate_escaped(f, MAX_FIELD_TEXT) or DASH) for f in fields[i : i + MAX_FIELDS]]
        out.append({"type": "section", "fields": chunk})
    return out


def _more_text(n: int) -> str:
    return "_" + _("…and {count} more").format(count=count(n)) + "_"


# ---------------------------------------------------------------------------------------------------------------
# pieces: body blocks that can be dropped from the end when a payload would pass the block limit


@dataclass
class _Piece:
    block: dict
    items: int = 1  # data items (figures, lines, rows) this block shows, for the "and N more" count


def _esc_line(text: Any, limit: int = MAX_SECTION_TEXT) -> str:
    return truncate_escaped(escape_mrkdwn(one_line(text)), limit)


def pack_lines(lines: list[str], limit: int = MAX_SECTION_TEXT) -> list[tuple[str, int]]:
    """Pack already-escaped lines into texts of ≤limit characters: [(text, number of lines)]."""
    out: list[tuple[str, int]] = []
    buf: list[str] = []
    size = 0
    for line in lines:
        line = truncate_escaped(line, limit)
        extra = len(line) + (1 if buf else 0)
        if buf and size + extra > limit:
            out.append(("\n".join(buf), len(buf)))
            buf, size = [], 0
            extra = len(line)
        buf.append(line)
        size += extra
    if buf:
        out.append(("\n".join(buf), len(buf)))
    return out


def _figure_fields(answer: Answer) -> list[str]:
    fields = []
    for f in answer.figures:
        label = escape_mrkdwn(truncate(one_line(f.label).strip(), 200))
        value = escape_mrkdwn(one_line(fmt(f.value, f.fmt, answer.currency))) or DASH
        fields.append(f"*{label}*\n{value}" if label else value)
    return fields


def table_text(table: Table, *, limit: int = MAX_SECTION_TEXT, max_rows: int = TABLE_MAX_ROWS,
               currency: str = "USD") -> tuple[str, int]:
    """A Table as one mrkdwn text: a ``` fenced, aligned monospace table, cut to fit `limit` characters and ended
    with "and N more" (rows cut here plus Table.more). Returns (text, rows shown); text is "" for an empty table."""
    if not table.columns:
        return "", 0
    rows = table.rows[:max_rows]
    lines = format_table([(c.name, c.fmt) for c in table.columns], rows, max_total=TABLE_MAX_WIDTH,
                         currency=currency)
    lines = [escape_mrkdwn(fit_width(line, TABLE_HARD_WIDTH).replace("`", "'")) for line in lines]
    head, body = lines[:2], lines[2:]
    hidden_before = table.more + (len(table.rows) - len(rows))
    shown = len(body)
    while True:
        more = hidden_before + (len(body) - shown)
        text = "```\n" + "\n".join(head + body[:shown]) + "\n```"
        if more:
            text += "\n" + _more_text(more)
        if len(text) <= limit or shown == 0:
            break
        shown -= 1
    if not body and not hidden_before:
        return "", 0
    return truncate_escaped(text, limit), shown


def _url_ok(url: str | None) -> bool:
    if not url or len(url) > MAX_BUTTON_URL:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"[\s<>|]", url)


def crm_url(deal: DealCard | None, crm_url_template: str | None = None) -> str | None:
    """The CRM link for a deal: its own crm_url, else the template with {id} (or {record}) → the record id."""
    if deal is None:
        return None
    if _url_ok(deal.crm_url):
        return deal.crm_url
    if crm_url_template:
        record = quote(str(deal.record), safe="")
        url = crm_url_template.replace("{id}", record).replace("{record}", record)
        if _url_ok(url):
            return url
    return None


def deal_name(deal: DealCard) -> str:
    return one_line(deal.name).strip() or one_line(deal.record)


def shows_deal_name(answer: Answer) -> bool:
    """Whether the deal card states the deal's name: not when the answer's title already is that name."""
    return answer.deal is not None and one_line(answer.title).strip() != deal_name(answer.deal)


def deal_facts(deal: DealCard, currency: str = "USD") -> list[tuple[str, str]]:
    """The deal card's fields as (label, plain text), in the order every renderer shows them. The amount is to
    the cent: this is one deal, and its changes are listed to the cent too. A deal in another currency than
    the one shown also gives its own amount."""
    facts = [(_("Stage"), one_line(deal.stage) or DASH), (_("Amount"), money_exact(deal.amount, currency))]
    if deal.currency and deal.currency != currency and deal.own_amount is not None:
        facts.append((_("Amount in {currency}").format(currency=one_line(deal.currency)),
                      money_exact(deal.own_amount, deal.currency)))
    facts.append((_("Close date"), date_text(deal.close_date)))
    if deal.probability is not None:
        facts.append((_("Probability"), f"{deal.probability}%"))
    facts.append((_("Last activity"), date_text(deal.last_activity)))
    if deal.next_step:
        facts.append((_("Next step"), one_line(deal.next_step)))
    return facts


def _deal_pieces(deal: DealCard, url: str | None, show_name: bool = True, currency: str = "USD") -> list[_Piece]:
    name = escape_mrkdwn(truncate(deal_name(deal), 500))
    lines = [f"*<{url}|{name}>*" if url else f"*{name}*"] if show_name else []
    sub = " · ".join(escape_mrkdwn(truncate(one_line(x), 300)) for x in (deal.account, deal.owner) if x)
    lines += [sub] if sub else []
    pieces = [_Piece(section("\n".join(lines)))] if lines else []

    fields = [f"*{label}*\n{_esc_line(value, MAX_FIELD_TEXT - 20)}" for label, value in deal_facts(deal, currency)]
    pieces += [_Piece(b) for b in fields_sections(fields)]

    if deal.stage_path:
        steps = [f"{_esc_line(stage, 200)} ({escape_mrkdwn(date_text(at))})" for stage, at in deal.stage_path]
        label = "*" + _("Stage path") + "*\n"
        # keep the latest steps: the path's end is what matters; the start collapses into "N earlier"
        kept: list[str] = []
        size = len(label)
        for step in reversed(steps):
            extra = len(step) + 3
            if size + extra > MAX_SECTION_TEXT - 40:
                break
            kept.append(step)
            size += extra
        kept.reverse()
        earlier = len(steps) - len(kept)
        before = "_" + _("…{count} earlier").format(count=count(earlier)) + "_ → " if earlier else ""
        text = label + before + " → ".join(kept)
        pieces.append(_Piece(section(text), items=len(kept)))

    if deal.changes:
        lines = [f"• {_esc_line(c, 500)}" for c in deal.changes]
        label = "*" + _("Changes") + "*\n"
        kept = []
        size = len(label)
        for line in lines:
            if size + len(line) + 1 > MAX_SECTION_TEXT - 40:
                break
            kept.append(line)
            size += len(line) + 1
        more = len(lines) - len(kept)
        text = label + "\n".join(kept) + (("\n" + _more_text(more)) if more else "")
        pieces.append(_Piece(section(text), items=len(kept)))
    return pieces


def _action_id(kind: str) -> str:
    clean = re.sub(r"[^a-z0-9_]+", "_", str(kind).lower()).strip("_") or "action"
    return (ACTION_PREFIX + clean)[:MAX_ACTION_ID]


def button(action: Action, *, default_value: str = "", url: str | None = None) -> dict:
    """One Action as a button element inside Slack's limits (text ≤75, value ≤2,000, url ≤3,000)."""
    label = one_line(action.label).strip() or (_(DEFAULT_LABELS[action.kind]) if action.kind in DEFAULT_LABELS
                                               else action.kind.replace("_", " ").title())
    el: dict[str, Any] = {
        "type": "button",
        "text": _plain(truncate(label, MAX_BUTTON_TEXT) or _("Open")),
        "action_id": _action_id(action.kind),
    }
    value = action.value or default_value
    if value:
        el["value"] = value[:MAX_BUTTON_VALUE]
    link = action.url if _url_ok(action.url) else url
    if link:
        el["url"] = link
    if action.style in ("primary", "danger"):
        el["style"] = action.style
    return el


def buttons(answer: Answer, *, crm_url_template: str | None = None, drop: frozenset[str] = frozenset()) -> list[dict]:
    """The answer's actions as button elements: ≤25, unique action_ids (a repeated kind gets ".2", ".3" …),
    open_crm as a url button (skipped when there is no url), and an "Open in CRM" button added for a deal card.
    An empty value defaults to the request text for share, and to the deal's record id on a deal card."""
    link = crm_url(answer.deal, crm_url_template)
    out: list[dict] = []
    seen: dict[str, int] = {}
    have_crm = False
    for action in answer.actions:
        if action.kind in drop:
            continue
        if action.kind == "open_crm":
            if not (_url_ok(action.url) or link):
                continue
            have_crm = True
        default_value = ""
        if action.kind == "share":
            default_value = answer.request_text
        elif answer.deal is not None:  # snooze / still active / open in CRM on a deal card act on that deal
            default_value = str(answer.deal.record)
        el = button(action, default_value=default_value, url=link if action.kind == "open_crm" else None)
        base = el["action_id"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            el["action_id"] = f"{base[: MAX_ACTION_ID - 8]}.{seen[base]}"
        out.append(el)
    if link and not have_crm and "open_crm" not in drop:
        out.append(
            button(Action("open_crm", DEFAULT_LABELS["open_crm"], value=str(answer.deal.record)[:200]), url=link)
        )
    return out[:MAX_ACTIONS_ELEMENTS]


def fallback_text(answer: Answer) -> str:
    """The short top-level `text` (notifications, screen readers): "Open pipeline: $1.2M"."""
    title = one_line(answer.title).strip() or _("Sales")
    text = title
    if answer.figures:
        f = answer.figures[0]
        label = one_line(f.label).strip()
        value = one_line(fmt(f.value, f.fmt, answer.currency))
        if not label or label.casefold() == title.casefold():
            text = f"{title}: {value}"
        else:
            text = f"{title} — {label}: {value}"
    elif answer.deal is not None:
        about = [deal_name(answer.deal)] if shows_deal_name(answer) else []
        text = f"{title}: " + " · ".join([*about, one_line(answer.deal.stage),
                                              money_exact(answer.deal.amount, answer.currency)])
    elif answer.kind in ("error", "refusal") and answer.lines:
        text = f"{title}: {one_line(answer.lines[0])}"  # the notification says what went wrong
    if answer.error_id:
        text += " " + _("(error id {error_id})").format(error_id=one_line(answer.error_id))
    return truncate_escaped(escape_mrkdwn(text), FALLBACK_TEXT)


def _notes(answer: Answer) -> list[str]:
    notes = []
    if answer.understood:
        notes.append(_esc_line(answer.understood, MAX_CONTEXT_TEXT))
    if answer.suggestion:
        notes.append(_esc_line(answer.suggestion, MAX_CONTEXT_TEXT))
    return notes


def _context_items(answer: Answer, extra: list[str] | None = None) -> list[str]:
    items = []
    if answer.error_id:
        error_id = escape_mrkdwn(truncate(one_line(answer.error_id).replace("`", ""), 100))
        items.append(_("Error id: `{error_id}`").format(error_id=error_id))
    items += [_esc_line(c, MAX_CONTEXT_TEXT) for c in answer.context if c and one_line(c).strip()]
    items += extra or []
    return items


def answer_blocks(
    answer: Answer,
    *,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    crm_url_template: str | None = None,
    drop_actions: frozenset[str] = frozenset(),
    extra_context: list[str] | None = None,
    with_header: bool = True,
) -> list[dict]:
    """The blocks for one answer, at most `max_blocks`. Layout: header; understood/suggestion; figures; deal card;
    table; lines; context (error id, period, scope, freshness); buttons. When the body does not fit, it is cut from
    the end and an "and N more" section closes it; header, context and buttons are kept."""
    head: list[dict] = []
    if with_header:
        head.append(header(answer.title))
    notes = context(_notes(answer))
    if notes["elements"]:
        head.append(notes)

    body: list[_Piece] = []
    if answer.kind == "error" and not answer.lines and not answer.figures:
        body.append(_Piece(section(_("Something went wrong on my side. I've logged it; please try again shortly."))))
    body += [_Piece(b, items=len(b["fields"])) for b in fields_sections(_figure_fields(answer))]
    if answer.deal is not None:
        body += _deal_pieces(answer.deal, crm_url(answer.deal, crm_url_template), currency=answer.currency,
                             show_name=not with_header or shows_deal_name(answer))
    if answer.table is not None:
        text, shown = table_text(answer.table, currency=answer.currency)
        if text:
            body.append(_Piece(section(text), items=shown))
    lines = [truncate_escaped(escape_mrkdwn(clean_text(line)), MAX_SECTION_TEXT) for line in answer.lines]
    body += [_Piece(section(t), items=n) for t, n in pack_lines(lines) if t.strip()]

    tail: list[dict] = []
    items = context(_context_items(answer, extra_context))
    if items["elements"]:
        tail.append(items)
    elements = buttons(answer, crm_url_template=crm_url_template, drop=drop_actions)
    if elements:
        tail.append({"type": "actions", "elements": elements})

    # a tiny budget (App Home sections) gives up buttons first, then context, then notes
    while len(head) + len(tail) + (1 if body else 0) > max_blocks and (tail or len(head) > 1):
        if tail:
            tail.pop()
        else:
            head.pop()
    room = max_blocks - len(head) - len(tail)
    if len(body) > room:
        keep = max(0, room - 1)
        cut = sum(p.items for p in body[keep:])
        body = body[:keep] + [_Piece(section(_more_text(cut)))] if room >= 1 else []
    return (head + [p.block for p in body] + tail)[:max_blocks]


def answer_to_message(answer: Answer, *, crm_url_template: str | None = None) -> dict:
    """An Answer as a Slack message: {"text": short fallback, "blocks": [...]}, within Block Kit's limits."""
    return {
        "text": fallback_text(answer),
        "blocks": answer_blocks(answer, crm_url_template=crm_url_template),
    }


def ephemeral_with_share(answer: Answer, *, crm_url_template: str | None = None) -> dict:
    """The ephemeral reply to a request (for `respond`/`chat.postEphemeral`): the message plus a "Share in
    channel" button (value: the request text) unless the answer has one or is an error/refusal/help."""
    if answer.kind not in ("error", "refusal", "help") and not any(a.kind == "share" for a in answer.actions):
        share = Action("share", _(DEFAULT_LABELS["share"]), value=answer.request_text[:MAX_BUTTON_VALUE])
        answer = replace(answer, actions=[share, *answer.actions])
    msg = answer_to_message(answer, crm_url_template=crm_url_template)
    return {"response_type": "ephemeral", **msg}


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def shared_message(answer: Answer, *, shared_by: str | None = None, crm_url_template: str | None = None) -> dict:
    """The answer posted in a channel by "Share in channel": personal buttons (share, snooze, still active) are
    dropped, and a context line says who shared it (`shared_by` is a Slack user id, e.g. "U123ABC")."""
    extra = [_("Shared by {user}").format(user=f"<@{shared_by}>")] if shared_by and _USER_ID.match(shared_by) else []
    return {
        "response_type": "in_channel",
        "text": fallback_text(answer),
        "blocks": answer_blocks(
            answer, crm_url_template=crm_url_template, drop_actions=PERSONAL_ACTIONS, extra_context=extra
        ),
    }
