"""`python bot.py check`'s table, for people: in DEFAULT_LOCALE (the CLI's language), with the org currency's money,
the locale's dates and each finding's reason written out (render.reasons). The json and csv formats are for tools
and stay as metrics.integrity_cli writes them (English detail, ISO dates, plain numbers)."""

from __future__ import annotations

from typing import TextIO

from i18n import _, ngettext
from metrics.integrity import RULES
from metrics.integrity_cli import WHOLE_ORG, CheckRun, totals
from metrics.rules_common import Finding
from render.format import count, date_text, display_width, money_exact, pad
from render.reasons import reason_text


def aligned(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    """Columns padded to their widest cell (display width), `right` ones aligned right; a rule under the header."""
    widths = [max([display_width(h)] + [display_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(pad(c, w, i in right) for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def write_table(findings: list[Finding], run: CheckRun, out: TextIO) -> None:
    n = len(findings)
    scope = _(WHOLE_ORG) if run.scope == WHOLE_ORG else run.scope
    print(ngettext("Integrity check for {today} ({zone}) · {scope} (generated {when} UTC): {n} finding",
                   "Integrity check for {today} ({zone}) · {scope} (generated {when} UTC): {n} findings", n).format(
        today=date_text(run.today), zone=run.time_zone, scope=scope,
        when=f"{date_text(run.generated_at)} {run.generated_at:%H:%M}", n=count(n)), file=out)
    print(file=out)
    rows = [[rule, _(RULES[rule]), count(k)] for rule, k in totals(findings).items()]
    for line in aligned([_("rule"), _("title"), _("findings")], rows, right={2}):
        print(line, file=out)
    if not findings:
        print("\n" + _("No findings: the data passes every rule."), file=out)
        return
    print(file=out)
    rows = [[f.rule, f.record, f.record_name, f.owner or "-", "-" if f.amount is None else money_exact(f.amount),
             reason_text(f.reason, f.detail)] for f in findings]
    headers = [_("rule"), _("record"), _("name"), _("owner"), _("amount"), _("detail")]
    for line in aligned(headers, rows, right={4}):
        print(line, file=out)
