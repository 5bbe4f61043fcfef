"""`python bot.py comp load PLANS.yml [--from DATE]`, `comp show`, `comp statement --period P [--format csv]`."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.numbers import format_decimal, format_percent
from sqlalchemy import select

from config import Settings
from db.engine import get_engine
from db.schema import reps
from errors import UserError
from i18n import _, current_locale
from metrics.cli import local_today
from metrics.comp_plans import CompPlanError, Plan, latest_version, store_version, version_count
from metrics.payout import payouts
from metrics.periods import parse_period

ESTIMATE = "Estimates, not a payroll figure: sales ops confirms every payout."


def _load(args, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UserError(_("there is no file {file!r}.").format(file=args.file))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CompPlanError(_("cannot read {file!r}: {problem}").format(file=args.file, problem=exc)) from None
    try:
        effective = date.fromisoformat(args.effective) if args.effective else local_today(settings)
    except ValueError:
        raise UserError(_("--from must be a date like 2026-01-01, not {text!r}.").format(text=args.effective)) from None
    engine = get_engine(settings.database_url)
    with engine.begin() as conn:
        version, new = store_version(conn, text, str(path), effective, datetime.now(UTC))
    book = version.book
    if new:
        print(f"loaded {path}: version {version.id}, in force for periods ending on or after {effective} "
              f"({len(book.plans)} plans, {len(book.assignments)} assignments); earlier periods keep the version "
              "they had.")
    else:
        print(f"{path} is the same as version {version.id} (in force from {version.effective_from}); nothing "
              "changed.")
    return 0


def _pct(value) -> str:
    return format_percent(value, locale=current_locale(), decimal_quantization=False)


def _times(value) -> str:
    """A multiplier as the plan writes it, in the locale: '1.5×' (en), '1,5×' (it, id)."""
    return format_decimal(value, locale=current_locale(), decimal_quantization=False) + "×"


def _number(value) -> str:
    return format_decimal(value, locale=current_locale(), decimal_quantization=False)


def describe_plan(plan: Plan) -> list[str]:
    """`comp show`'s lines for one plan, in the language being spoken (the CLI's DEFAULT_LOCALE)."""
    head = _("{name}: per {period}, target incentive {incentive}, {mode} tiers").format(
        name=plan.name, period=plan.period, incentive=_number(plan.target_incentive), mode=plan.tier_mode)
    if plan.cap is not None:
        head += _(", cap {cap} target incentive").format(cap=_times(plan.cap))
    else:
        head += _(", no cap")
    lines = [head]
    if plan.products:
        lines.append("  " + _("credit: closed won of {products}").format(products=", ".join(plan.products)))
    else:
        lines.append("  " + _("credit: closed won"))
    for t in plan.tiers:
        lower = _pct(t.lower) if t.lower else _pct(0)
        if t.upper is not None:
            band = _("from {lower} up to {upper}: {multiplier} base rate").format(
                lower=lower, upper=_pct(t.upper), multiplier=_times(t.multiplier))
        else:
            band = _("from {lower} and above: {multiplier} base rate").format(lower=lower,
                                                                              multiplier=_times(t.multiplier))
        lines.append("  " + band)
    for s in plan.spiffs:
        if s.amount is not None:
            what = _("{amount} per deal").format(amount=_number(s.amount))
        else:
            what = _("{rate} of the deal").format(rate=_pct(s.rate))
        where = "; ".join(f"{f} {' or '.join(v)}" for f, v in s.where) or _("every won deal")
        lines.append("  " + _("SPIFF {name}: {what} where {where}").format(name=s.name, what=what, where=where))
    return lines


def _show(_args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        version = latest_version(conn)
        count = version_count(conn)
        emails = {e.lower() for e in conn.execute(select(reps.c.email).where(reps.c.email.is_not(None))).scalars()}
    if version is None:
        print("no comp plans are loaded; `python bot.py comp load PLANS.yml` loads them.")
        return 0
    print(f"version {version.id} of {count}, in force from {version.effective_from} (loaded from {version.source} "
          f"at {version.loaded_at:%Y-%m-%d %H:%M} UTC)")
    for plan in version.book.plans.values():
        print("\n".join(describe_plan(plan)))
    print("assignments (a rep's own row beats a role row; later rows win):")
    for a in version.book.assignments:
        who = f"rep {a.rep_email}" if a.rep_email else f"role {a.role}"
        print(f"  {who}: {a.plan} from {a.starts}")
    missing = sorted({a.rep_email for a in version.book.assignments if a.rep_email and a.rep_email not in emails})
    if missing:
        print(f"warning: no rep in the sales data has the email {', '.join(missing)}; their rows assign nobody "
              "(a changed CRM or a demo refresh?). Fix the plans file and load it again.")
    return 0


STATEMENT_HEADERS = ("rep", "email", "plan", "deal", "close_date", "credit", "payout", "spiff", "spiff_names")


def statement_rows(conn, period, today: date, fiscal: int) -> list[dict]:
    """One row per rep and credited deal, then the rep's total row (deal empty), for the payroll hand-off."""
    rows = []
    for rep in payouts(conn, period, None, today=today, fiscal=fiscal):
        plan = " → ".join(rep.plans)
        for d in rep.deals:
            rows.append({"rep": rep.name, "email": rep.email, "plan": plan, "deal": d.name,
                         "close_date": d.close_date.isoformat(), "credit": d.amount,
                         "payout": d.payout if rep.value is not None else None, "spiff": d.spiff,
                         "spiff_names": ", ".join(d.spiff_names)})
        rows.append({"rep": rep.name, "email": rep.email, "plan": plan, "deal": "TOTAL" if rep.plans else
                     f"TOTAL ({rep.note})", "close_date": "", "credit": rep.credited, "payout": rep.value,
                     "spiff": rep.spiffs, "spiff_names": rep.note or ""})
    return rows


def _statement(args, settings: Settings) -> int:
    engine = get_engine(settings.database_url)
    today = local_today(settings)
    period = parse_period(args.period, today, settings.fiscal_year_start_month)
    with engine.connect() as conn:
        rows = statement_rows(conn, period, today, settings.fiscal_year_start_month)
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(STATEMENT_HEADERS)
        for row in rows:
            writer.writerow(["" if row[h] is None else row[h] for h in STATEMENT_HEADERS])
        return 0
    print(f"Comp statement · {period.label} ({period.start} .. {period.end}) · {ESTIMATE}")
    widths = {h: max(len(h), *(len(_cell(r[h])) for r in rows)) if rows else len(h) for h in STATEMENT_HEADERS}
    print("  ".join(h.ljust(widths[h]) for h in STATEMENT_HEADERS))
    for row in rows:
        print("  ".join(_cell(row[h]).ljust(widths[h]) for h in STATEMENT_HEADERS))
    return 0


def _cell(value) -> str:
    return "-" if value is None else f"{value:,}" if not isinstance(value, str) else value


def run_comp_command(args, settings: Settings) -> int:
    return {"load": _load, "show": _show, "statement": _statement}[args.action](args, settings)
