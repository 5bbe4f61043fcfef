"""A finding's reason (metrics.reasons) written out in the reader's language.

The template is translated by gettext, and each figure is formatted by Babel for the current locale (render.format):
money in the org currency (or the deal's own where the reason says so), dates, counted nouns in their plural form.
A row stored before reasons were data (no reason, or a code this build does not know) shows its English detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal

from i18n import _, current_locale, ngettext
from metrics.reasons import kind_of, template_of
from render.format import count, date_text, days, money_exact, multiple, percent


def _counted(kind: str, n: int) -> str:
    """A count with its noun in the plural form the language wants ('3 times', '3 kali', '3 volte')."""
    forms = {
        "times": ngettext("{n} time", "{n} times", n),
        "changes": ngettext("{n} change", "{n} changes", n),
        "points": ngettext("{n} point", "{n} points", n),
        "samples": ngettext("{n} sample", "{n} samples", n),
    }
    return forms[kind].format(n=count(n))


def _date(value: Any) -> str:
    try:
        return date_text(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def _days_decimal(value: Any) -> str:
    d = Decimal(str(value))
    n = format_decimal(round(d, 1), format="#,##0.0", locale=current_locale())
    return ngettext("{n} day", "{n} days", 1 if d == 1 else 2).format(n=n)


def _category(value: Any) -> str:
    """A forecast category as people read it (the stored value is the CRM's id)."""
    names = {"omitted": _("omitted"), "pipeline": _("pipeline"), "best_case": _("best case"), "commit": _("commit"),
             "closed": _("closed")}
    return names.get(str(value), str(value))


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "money": lambda v: money_exact(Decimal(str(v))),
    "date": _date,
    "days": lambda v: days(int(v)),
    "days_decimal": _days_decimal,
    "pct": lambda v: percent(Decimal(str(v)) / 100),
    "multiple": lambda v: multiple(Decimal(str(v))),
    "count": count,
    "category": _category,
    "quoted": repr,
}


def _figure(kind: str, value: Any, params: Mapping[str, Any]) -> str:
    if value is None:
        return "—"
    if kind.startswith("money:"):
        return money_exact(Decimal(str(value)), currency=str(params.get(kind.split(":", 1)[1]) or "") or None)
    if kind in ("times", "changes", "points", "samples"):
        return _counted(kind, int(value))
    return FORMATTERS.get(kind, str)(value)


def reason_text(reason: Mapping[str, Any] | None, detail: str | None = None) -> str:
    """The reason in the current language; the stored English `detail` when there is no reason this build can
    write out (a row from before 0011, an unknown code, a figure that does not parse)."""
    template = template_of(reason)
    if template is None or reason is None:
        return detail or ""
    code, params = str(reason["code"]), reason.get("params") or {}
    try:
        figures = {name: _figure(kind_of(code, name), value, params) for name, value in params.items()}
        return _(template).format(**figures)
    except (KeyError, ValueError, TypeError, InvalidOperation):
        return detail or ""
