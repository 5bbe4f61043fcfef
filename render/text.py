"""Answer → plain text for the console (`bot.py console`, `bot.py ask`). Pure: no markup, no escaping.

Control characters from data (including terminal escape sequences) are dropped, so a deal name cannot repaint the
terminal. The caller adds "chart written to PATH" when it renders the chart.
"""

from __future__ import annotations

from i18n import _
from render.answers import Answer, DealCard
from render.blocks import DEFAULT_LABELS, crm_url, deal_facts, deal_name, shows_deal_name
from render.format import clean_text, count, date_text, fmt, format_table, one_line

CONSOLE_MAX_ROWS = 200  # table rows printed before "… and N more"


def _deal_lines(deal: DealCard, url: str | None, show_name: bool, currency: str = "USD") -> list[str]:
    out = [deal_name(deal)] if show_name else []
    sub = " · ".join(one_line(x) for x in (deal.account, deal.owner) if x)
    if sub:
        out.append(sub)
    out += [f"{label}: {value}" for label, value in deal_facts(deal, currency)]
    if deal.stage_path:
        path = " → ".join(f"{one_line(stage)} ({date_text(at)})" for stage, at in deal.stage_path)
        out.append(_("Stage path") + f": {path}")
    if deal.changes:
        out.append(_("Changes") + ":")
        out.extend(f"  • {one_line(c)}" for c in deal.changes)
    if url:
        out.append(f"CRM: {url}")
    return out


def answer_to_text(answer: Answer, *, crm_url_template: str | None = None, max_rows: int = CONSOLE_MAX_ROWS) -> str:
    """The answer as console text: title, understood/suggestion, figures as "label: value" lines, the deal card,
    the table aligned (cut after `max_rows` rows with "… and N more"), lines, context, error id and the buttons
    listed as "[Share in channel] [Show chart]"."""
    blocks: list[list[str]] = []
    title = one_line(answer.title).strip() or "Sales"
    blocks.append([title, "=" * min(len(title), 80)])

    notes = [one_line(x) for x in (answer.understood, answer.suggestion) if x]
    if notes:
        blocks.append(notes)

    if answer.figures:
        figures = []
        for f in answer.figures:
            label = one_line(f.label).strip()
            value = one_line(fmt(f.value, f.fmt, answer.currency))
            figures.append(f"{label}: {value}" if label else value)
        blocks.append(figures)

    if answer.deal is not None:
        blocks.append(_deal_lines(answer.deal, crm_url(answer.deal, crm_url_template), shows_deal_name(answer),
                                  answer.currency))

    table = answer.table
    if table is not None and table.columns and (table.rows or table.more):
        rows = table.rows[: max(0, max_rows)]
        lines = format_table([(c.name, c.fmt) for c in table.columns], rows, max_col=40, max_total=120,
                             currency=answer.currency)
        more = table.more + len(table.rows) - len(rows)
        if more:
            lines.append(_("…and {count} more").format(count=count(more)))
        blocks.append(lines)

    if answer.lines:
        blocks.append([clean_text(line) for line in answer.lines])

    tail = []
    if answer.context:
        tail.append(" · ".join(one_line(c) for c in answer.context if c))
    if answer.error_id:
        tail.append(_("Error id: `{error_id}`").format(error_id=one_line(answer.error_id)).replace("`", ""))
    if tail:
        blocks.append(tail)

    if answer.actions:
        labels = []
        for a in answer.actions:
            label = one_line(a.label).strip() or (_(DEFAULT_LABELS[a.kind]) if a.kind in DEFAULT_LABELS else a.kind)
            labels.append(f"[{label}]")
        blocks.append([" ".join(labels)])

    return "\n\n".join("\n".join(b) for b in blocks if b)
