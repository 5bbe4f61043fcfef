"""App Home tab: a person's quota, pipeline and stalled deals, one Answer per section, as a `views.publish` view."""

from __future__ import annotations

from i18n import _, ngettext
from render.answers import Answer
from render.blocks import MAX_VIEW_BLOCKS, answer_blocks, context, header, section
from render.format import count, escape_mrkdwn, one_line, truncate

MIN_SECTION_BLOCKS = 3  # a section squeezed below this is not shown (and counted in "N more sections")


def home_view(
    sections: list[Answer],
    *,
    title: str | None = None,
    updated: str | None = None,
    crm_url_template: str | None = None,
) -> dict:
    """The Home tab: {"type": "home", "blocks": [...]}, ≤100 blocks.

    Each Answer (e.g. quota attainment, open pipeline, stalled deals) is one section: its own header, figures,
    table, lines, context and buttons, separated by dividers. Space is shared fairly: a section gets at most its
    share of the blocks left, so a long list in the first section cannot push the others out. `title` (default
    "Your sales") and `updated` ("Updated 09:14", shown as context) head the tab.
    """
    blocks: list[dict] = [header(title or _("Your sales"))]
    if updated:
        blocks.append(context([escape_mrkdwn(truncate(one_line(updated), 300))]))
    if not sections:
        blocks.append(
            section(_("Nothing to show yet. Try `/sales quota`, `/sales pipeline` or `/sales stalled` in any channel."))
        )
        return {"type": "home", "blocks": blocks}

    shown = 0
    for i, answer in enumerate(sections):
        left = len(sections) - i
        # room for this section: its fair share of what is left, keeping one block for a possible "more" line
        remaining = MAX_VIEW_BLOCKS - len(blocks) - 1
        budget = remaining // left - 1  # minus the divider before it
        if budget < MIN_SECTION_BLOCKS:
            budget = remaining - 1 if remaining - 1 >= MIN_SECTION_BLOCKS else 0
        if budget < MIN_SECTION_BLOCKS:
            break
        blocks.append({"type": "divider"})
        blocks.extend(answer_blocks(answer, max_blocks=budget, crm_url_template=crm_url_template))
        shown += 1
    if shown < len(sections):
        more = len(sections) - shown
        blocks.append(context(["_" + ngettext("…and {count} more section", "…and {count} more sections", more)
                               .format(count=count(more)) + "_"]))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
