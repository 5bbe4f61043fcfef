"""Forecast calls as Block Kit: the weekly reminder DM and the call modal. Pure: data in, payload out.

The reminder's button and the modal's private_metadata name only whose call it is (`{"r": rep id}`, plus the
quarter in the modal); the handlers check that against whoever clicked or submitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from i18n import _
from render.blocks import DEFAULT_LABELS, FALLBACK_TEXT, context, fields_sections, header, section
from render.format import escape_mrkdwn, money_exact, one_line, truncate, truncate_escaped

CALL_ACTION_ID = "sales_forecast_call"
CALL_CALLBACK_ID = "sales_forecast_call_modal"
COMMIT_BLOCK, BEST_CASE_BLOCK, NOTE_BLOCK = "call_commit", "call_best_case", "call_note"
AMOUNT_ACTION, NOTE_ACTION = "amount", "text"
NOTE_MAX = 1000
REPS_LISTED = 20


@dataclass(frozen=True)
class RepCall:
    name: str
    commit: Decimal | None  # their effective call (None: nothing submitted this week)
    best_case: Decimal | None


@dataclass(frozen=True)
class CallForm:
    """What the reminder and the modal show one caller."""

    rep_id: int
    name: str
    team: bool  # a manager's call, for their team
    quarter_label: str
    quarter_start: date
    deadline_text: str
    late: bool  # the deadline of this week has passed
    system: dict  # closed, commit, best_case, quota
    current: tuple[Decimal, Decimal] | None = None  # their own call this week, if any
    reps_rollup: tuple[Decimal, Decimal] | None = None
    reps_submitted: int = 0
    reps: tuple[RepCall, ...] = ()
    currency: str = "USD"


def call_button_value(rep_id: int) -> str:
    return json.dumps({"r": int(rep_id)}, separators=(",", ":"))


def call_metadata(rep_id: int, quarter_start: date) -> str:
    return json.dumps({"r": int(rep_id), "q": quarter_start.isoformat()}, separators=(",", ":"))


def parse_call_reference(raw: str | None) -> tuple[int | None, date | None]:
    """(rep id, quarter start) from a button value or private_metadata; (None, None) when unreadable."""
    try:
        data = json.loads(raw or "")
        rep = data.get("r")
        rep_id = rep if isinstance(rep, int) and not isinstance(rep, bool) else None
        quarter = date.fromisoformat(data["q"]) if isinstance(data.get("q"), str) else None
        return rep_id, quarter
    except (ValueError, TypeError, AttributeError):
        return None, None


def _m(value, currency: str) -> str:
    return escape_mrkdwn(money_exact(value, currency))


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _system_fields(form: CallForm) -> list[str]:
    s, c = form.system, form.currency
    commit = _("*System commit* (team)") if form.team else _("*System commit* (your deals)")
    return [f"{commit}\n{_m(s.get('commit'), c)}", f"*{_('System best case')}*\n{_m(s.get('best_case'), c)}",
            f"*{_('Closed won')}*\n{_m(s.get('closed'), c)}", f"*{_('Quota')}*\n{_m(s.get('quota'), c)}"]


def _reps_lines(form: CallForm) -> list[str]:
    if not form.team:
        return []
    c = form.currency
    expected = len(form.reps)
    if form.reps_rollup is None:
        head = _("*Your reps' calls*: none submitted yet this week (0 of {expected}).").format(expected=expected)
    else:
        head = _("*Your reps' calls rolled up*: commit {commit} · best case {best_case} ({submitted} of {expected} "
                 "submitted).").format(commit=_m(form.reps_rollup[0], c), best_case=_m(form.reps_rollup[1], c),
                                       submitted=form.reps_submitted, expected=expected)
    lines = [head]
    for rep in form.reps[:REPS_LISTED]:
        name = escape_mrkdwn(truncate(one_line(rep.name), 80))
        if rep.commit is None:
            lines.append("• " + _("{name}: not submitted").format(name=name))
        else:
            lines.append("• " + _("{name}: commit {commit} · best case {best_case}").format(
                name=name, commit=_m(rep.commit, c), best_case=_m(rep.best_case, c)))
    if len(form.reps) > REPS_LISTED:
        lines.append("_" + _("…and {count} more").format(count=f"{len(form.reps) - REPS_LISTED:,}") + "_")
    return lines


def _due_line(form: CallForm) -> str:
    if form.late:
        return _("The deadline was *{deadline}*: a call now is kept and marked late.").format(
            deadline=escape_mrkdwn(form.deadline_text))
    return _("Due *{deadline}*; calls after that are marked late.").format(deadline=escape_mrkdwn(form.deadline_text))


def reminder_message(form: CallForm) -> dict:
    """The weekly DM: what is asked, the deadline, the system's figures, (managers) the reps' calls, a button."""
    first = escape_mrkdwn(one_line(form.name).split(" ")[0]) if form.name else ""
    what = "your team's" if form.team else "your"
    intro = (f"Hi {first}. Time for {what} forecast call for *{escape_mrkdwn(form.quarter_label)}*: commit and best "
             f"case. {_due_line(form)}")
    blocks: list[dict] = [header(f"Forecast call · {form.quarter_label}"), section(intro),
                          *fields_sections(_system_fields(form))]
    reps = _reps_lines(form)
    if reps:
        blocks.append(section("\n".join(reps)))
    blocks.append({"type": "actions", "block_id": "forecast_call",
                   "elements": [{"type": "button", "text": _plain(_(DEFAULT_LABELS["forecast_call"])),
                                 "action_id": CALL_ACTION_ID, "value": call_button_value(form.rep_id),
                                 "style": "primary"}]})
    blocks.append(context(["`/sales call` opens the form any time · `/sales calls` shows the roll-up"]))
    text = truncate_escaped(escape_mrkdwn(f"Your forecast call for {form.quarter_label} is due {form.deadline_text}"),
                            FALLBACK_TEXT)
    return {"text": text, "blocks": blocks}


def _amount_input(block_id: str, label: str, initial: Decimal | None, hint: str) -> dict:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": AMOUNT_ACTION, "max_length": 30,
                               "placeholder": _plain(_("e.g. 125000 or 125k"))}
    if initial is not None:
        element["initial_value"] = f"{initial:.2f}"
    return {"type": "input", "block_id": block_id, "label": _plain(label), "element": element, "hint": _plain(hint)}


def call_modal(form: CallForm) -> dict:
    """views.open payload: the system's figures, (managers) the reps' calls, and the call, prefilled with the
    system's roll-up."""
    intro = (_("Your call for *{quarter}*, for your team.") if form.team
             else _("Your call for *{quarter}*, for your deals.")).format(quarter=escape_mrkdwn(form.quarter_label))
    intro += " " + _due_line(form)
    if form.current is not None:
        intro += "\n" + _("Your call this week so far: commit {commit} · best case {best_case}. A new one is added; "
                          "earlier ones are kept.").format(commit=_m(form.current[0], form.currency),
                                                           best_case=_m(form.current[1], form.currency))
    blocks: list[dict] = [section(intro), *fields_sections(_system_fields(form))]
    reps = _reps_lines(form)
    if reps:
        blocks.append(section("\n".join(reps)))
    title = _("Team commit") if form.team else _("Commit")
    blocks += [
        _amount_input(COMMIT_BLOCK, title, form.system.get("commit"), _("Prefilled with the system's commit roll-up.")),
        _amount_input(BEST_CASE_BLOCK, _("Best case"), form.system.get("best_case"),
                      _("Prefilled with the system's best-case roll-up.")),
        {"type": "input", "block_id": NOTE_BLOCK, "label": _plain(_("Note")), "optional": True,
         "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True, "max_length": NOTE_MAX,
                     "placeholder": _plain(_("What's behind the call: risks, upside"))}},
    ]
    return {
        "type": "modal",
        "callback_id": CALL_CALLBACK_ID,
        "title": _plain(_("Forecast call")),
        "submit": _plain(_("Submit call")),
        "close": _plain(_("Cancel")),
        "private_metadata": call_metadata(form.rep_id, form.quarter_start),
        "blocks": blocks,
    }
