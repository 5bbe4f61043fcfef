"""Compensation plans as data (DESIGN §4b): the plans file read, validated and versioned.

`read_plans_file` turns the YAML text into a `PlanBook` or refuses it whole with every problem and its line
(`CompPlanError`); numbers are read from their literal text as Decimal, never through a float. `store_version`
keeps each changed file as a new version; `book_for_window` picks the version in force for a period: the newest
one effective on or before the period's last day, else the oldest (so loading a changed file today leaves every
past period on the version it was paid under).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import yaml
from sqlalchemy import Connection, func, select
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from db.schema import ROLES, bot_comp_plan_versions, reps
from errors import UserError

PLAN_PERIODS = ("month", "quarter", "year")
TIER_MODES = ("marginal", "retroactive")
SPIFF_FIELDS = ("source", "product")  # deal columns a SPIFF's `where` may test


class CompPlanError(UserError):
    """The plans file was refused; the message lists every problem with its line."""


@dataclass(frozen=True)
class Tier:
    lower: Decimal  # attainment above this (the first band includes it: 0)
    upper: Decimal | None  # up to and including this; None: no upper bound
    multiplier: Decimal


@dataclass(frozen=True)
class Spiff:
    name: str
    amount: Decimal | None  # a fixed bonus per matching won deal
    rate: Decimal | None  # or a share of the deal's amount
    where: tuple[tuple[str, tuple[str, ...]], ...]  # (deal field, accepted values), all must hold

    def matches(self, deal: dict) -> bool:
        return all((deal.get(f) or "").lower() in {v.lower() for v in values} for f, values in self.where)

    def bonus(self, amount: Decimal, deals: int = 1) -> Decimal:
        """The bonus on `deals` won deals of `amount` in all (one deal, or a class of alike deals summed)."""
        return self.amount * deals if self.amount is not None else amount * self.rate


@dataclass(frozen=True)
class Plan:
    name: str
    period: str  # month | quarter | year
    target_incentive: Decimal  # variable pay at 100% attainment, per plan period
    products: tuple[str, ...] | None  # credit only these products' won deals; None: every won deal
    tiers: tuple[Tier, ...]
    tier_mode: str
    cap: Decimal | None  # multiple of target incentive the tiered payout may not exceed
    spiffs: tuple[Spiff, ...] = ()

    def credits(self, deal: dict) -> bool:
        return self.products is None or (deal.get("product") or "").lower() in {p.lower() for p in self.products}


@dataclass(frozen=True)
class Assignment:
    plan: str
    starts: date
    role: str | None = None
    rep_email: str | None = None


@dataclass(frozen=True)
class PlanBook:
    plans: dict[str, Plan]
    assignments: tuple[Assignment, ...]

    def plan_for(self, email: str | None, role: str, day: date) -> Plan | None:
        """The plan in force for a person on `day`: their own row beats a role row; among rows of one kind the
        later row in the file wins (rows not yet started do not count)."""
        own = [a for a in self.assignments if a.rep_email and email and a.rep_email == email.lower()
               and a.starts <= day]
        by_role = [a for a in self.assignments if a.role == role and a.starts <= day]
        rows = own or by_role
        return self.plans[rows[-1].plan] if rows else None

    def change_days(self) -> list[date]:
        return sorted({a.starts for a in self.assignments})


# --- reading and validating --------------------------------------------------------------------------------------

class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, node: Node | None, message: str) -> None:
        self.items.append((node.start_mark.line + 1 if node is not None else 1, message))


def _mapping(node: Node, what: str, problems: _Problems, allowed: tuple[str, ...]) -> dict[str, Node] | None:
    if not isinstance(node, MappingNode):
        problems.add(node, f"{what} must be a mapping (key: value)")
        return None
    out: dict[str, Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, ScalarNode) else str(key)
        if name not in allowed:
            problems.add(key, f"{what}: unknown key {name!r} (expected {', '.join(allowed)})")
        elif name in out:
            problems.add(key, f"{what}: {name!r} appears twice")
        else:
            out[name] = value
    return out


def _text(node: Node | None, what: str, problems: _Problems) -> str | None:
    if not isinstance(node, ScalarNode) or not str(node.value).strip():
        problems.add(node, f"{what} must be a non-empty text")
        return None
    return str(node.value).strip()


def _number(node: Node | None, what: str, problems: _Problems, *, minimum: Decimal | None = Decimal(0),
            positive: bool = False) -> Decimal | None:
    if not isinstance(node, ScalarNode) or node.tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        problems.add(node, f"{what} must be a number, not {getattr(node, 'value', node)!r}")
        return None
    try:
        value = Decimal(str(node.value).replace("_", ""))
    except InvalidOperation:
        problems.add(node, f"{what} must be a number, not {node.value!r}")
        return None
    if not value.is_finite():
        problems.add(node, f"{what} must be a finite number")
        return None
    if positive and value <= 0:
        problems.add(node, f"{what} must be above 0")
        return None
    if minimum is not None and value < minimum:
        problems.add(node, f"{what} must be at least {minimum}")
        return None
    return value


def _list(node: Node | None, what: str, problems: _Problems) -> list[Node]:
    if not isinstance(node, SequenceNode):
        problems.add(node, f"{what} must be a list")
        return []
    return list(node.value)


def _texts(node: Node, what: str, problems: _Problems) -> tuple[str, ...] | None:
    if isinstance(node, ScalarNode):
        value = _text(node, what, problems)
        return None if value is None else (value,)
    values = [_text(n, what, problems) for n in _list(node, what, problems)]
    if not values:
        problems.add(node, f"{what} must name at least one value")
    return None if None in values or not values else tuple(values)


def _tiers(node: Node | None, where: str, problems: _Problems) -> tuple[Tier, ...]:
    items = _list(node, f"{where}: tiers", problems)
    if isinstance(node, SequenceNode) and not items:
        problems.add(node, f"{where}: tiers must list at least one band")
    tiers: list[Tier] = []
    for i, item in enumerate(items):
        label = f"{where}: tier {i + 1}"
        fields = _mapping(item, label, problems, ("from", "to", "multiplier"))
        if fields is None:
            return ()
        lower = _number(fields.get("from", item), f"{label}: from", problems)
        upper = _number(fields["to"], f"{label}: to", problems) if "to" in fields else None
        mult = _number(fields.get("multiplier", item), f"{label}: multiplier", problems)
        if lower is None or mult is None or ("to" in fields and upper is None):
            return ()
        expected = Decimal(0) if not tiers else tiers[-1].upper
        if lower != expected:
            problems.add(item, f"{label}: from must be {expected} (bands start at 0 and each starts where the "
                               "one before ends)")
        if upper is not None and upper <= lower:
            problems.add(item, f"{label}: to ({upper}) must be above from ({lower})")
        if upper is None and i < len(items) - 1:
            problems.add(item, f"{label}: only the last band may leave out `to`")
            return ()
        if upper is not None and i == len(items) - 1:
            problems.add(item, f"{label}: the last band must leave out `to`, so every attainment falls in a band")
        tiers.append(Tier(lower, upper, mult))
    return tuple(tiers)


def _spiffs(node: Node, where: str, problems: _Problems) -> tuple[Spiff, ...]:
    out = []
    for i, item in enumerate(_list(node, f"{where}: spiffs", problems)):
        label = f"{where}: spiff {i + 1}"
        fields = _mapping(item, label, problems, ("name", "amount", "rate", "where"))
        if fields is None:
            continue
        name = _text(fields.get("name"), f"{label}: name", problems) if "name" in fields else None
        if "name" not in fields:
            problems.add(item, f"{label}: name is missing")
        if ("amount" in fields) == ("rate" in fields):
            problems.add(item, f"{label}: give exactly one of amount (per deal) or rate (share of the deal)")
            continue
        amount = _number(fields["amount"], f"{label}: amount", problems) if "amount" in fields else None
        rate = _number(fields["rate"], f"{label}: rate", problems) if "rate" in fields else None
        conditions: list[tuple[str, tuple[str, ...]]] = []
        if "where" in fields:
            cond = _mapping(fields["where"], f"{label}: where", problems, SPIFF_FIELDS) or {}
            for field_name, value in cond.items():
                values = _texts(value, f"{label}: where {field_name}", problems)
                if values:
                    conditions.append((field_name, values))
        if name and (amount is not None or rate is not None):
            out.append(Spiff(name, amount, rate, tuple(conditions)))
    return tuple(out)


def _credit(node: Node, where: str, problems: _Problems) -> tuple[str, ...] | None:
    """`credit: closed_won`, or `credit: {kind: closed_won, products: [...]}`; returns the products (None: all)."""
    if isinstance(node, ScalarNode):
        if node.value != "closed_won":
            problems.add(node, f"{where}: credit must be closed_won (the amount of won deals)")
        return None
    fields = _mapping(node, f"{where}: credit", problems, ("kind", "products")) or {}
    kind = fields.get("kind")
    if kind is None or not isinstance(kind, ScalarNode) or kind.value != "closed_won":
        problems.add(kind or node, f"{where}: credit kind must be closed_won")
    return _texts(fields["products"], f"{where}: credit products", problems) if "products" in fields else None


PLAN_KEYS = ("name", "period", "target_incentive", "credit", "tiers", "tier_mode", "cap", "spiffs")
REQUIRED_PLAN_KEYS = ("name", "period", "target_incentive", "tiers")


def _plan(node: Node, index: int, problems: _Problems) -> Plan | None:
    fields = _mapping(node, f"plan {index}", problems, PLAN_KEYS)
    if fields is None:
        return None
    for key in REQUIRED_PLAN_KEYS:
        if key not in fields:
            problems.add(node, f"plan {index}: {key} is missing")
    name = _text(fields["name"], f"plan {index}: name", problems) if "name" in fields else None
    where = f"plan {name!r}" if name else f"plan {index}"
    period = None
    if "period" in fields:
        period = _text(fields["period"], f"{where}: period", problems)
        if period is not None and period not in PLAN_PERIODS:
            problems.add(fields["period"], f"{where}: period must be one of {', '.join(PLAN_PERIODS)}, "
                                           f"not {period!r}")
            period = None
    target = _number(fields["target_incentive"], f"{where}: target_incentive", problems) \
        if "target_incentive" in fields else None
    products = _credit(fields["credit"], where, problems) if "credit" in fields else None
    tiers = _tiers(fields["tiers"], where, problems) if "tiers" in fields else ()
    mode = "marginal"
    if "tier_mode" in fields:
        mode = _text(fields["tier_mode"], f"{where}: tier_mode", problems) or mode
        if mode not in TIER_MODES:
            problems.add(fields["tier_mode"], f"{where}: tier_mode must be marginal or retroactive, not {mode!r}")
    cap = _number(fields["cap"], f"{where}: cap", problems, positive=True) if "cap" in fields else None
    spiffs = _spiffs(fields["spiffs"], where, problems) if "spiffs" in fields else ()
    if None in (name, period, target) or not tiers or mode not in TIER_MODES:
        return None
    return Plan(name, period, target, products, tiers, mode, cap, spiffs)


def _assignment(node: Node, index: int, plans: dict[str, Plan], plan_lines: set[str], emails: set[str] | None,
                problems: _Problems) -> Assignment | None:
    label = f"assignment {index}"
    fields = _mapping(node, label, problems, ("role", "rep", "plan", "from"))
    if fields is None:
        return None
    if ("role" in fields) == ("rep" in fields):
        problems.add(node, f"{label}: give exactly one of role or rep (an email)")
        return None
    role = email = None
    if "role" in fields:
        role = _text(fields["role"], f"{label}: role", problems)
        if role is not None and role not in ROLES:
            problems.add(fields["role"], f"{label}: role must be one of {', '.join(ROLES)}, not {role!r}")
            role = None
    else:
        email = _text(fields["rep"], f"{label}: rep", problems)
        email = email.lower() if email else None
        if email and emails is not None and email not in emails:
            problems.add(fields["rep"], f"{label}: no rep has the email {email!r}")
            email = None
    plan = _text(fields["plan"], f"{label}: plan", problems) if "plan" in fields else None
    if "plan" not in fields:
        problems.add(node, f"{label}: plan is missing")
    elif plan is not None and plan not in plans and plan not in plan_lines:
        problems.add(fields["plan"], f"{label}: no plan is called {plan!r}")
        plan = None
    starts = None
    if "from" not in fields:
        problems.add(node, f"{label}: from (the first day it applies) is missing")
    else:
        raw = fields["from"]
        try:
            starts = date.fromisoformat(str(raw.value)) if isinstance(raw, ScalarNode) else None
        except ValueError:
            starts = None
        if starts is None:
            problems.add(raw, f"{label}: from must be a date like 2026-01-01")
    if plan is None or starts is None or (role is None and email is None) or plan not in plans:
        return None
    return Assignment(plan, starts, role, email)


def read_plans_file(text: str, emails: set[str] | None = None) -> PlanBook:
    """The plans file as a PlanBook, or CompPlanError listing every problem with its line. `emails`, when given,
    are the reps' emails (lower case) that `rep:` rows may name."""
    problems = _Problems()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CompPlanError(f"the plans file is not valid YAML (line {line}): "
                            f"{getattr(exc, 'problem', None) or exc}. Nothing was loaded.") from None
    if root is None:
        raise CompPlanError("the plans file is empty. Nothing was loaded.")
    top = _mapping(root, "the file", problems, ("plans", "assignments")) or {}
    if "plans" not in top:
        problems.add(root, "the file has no `plans:` list")
    plans: dict[str, Plan] = {}
    named: set[str] = set()
    for i, node in enumerate(_list(top["plans"], "plans", problems) if "plans" in top else [], 1):
        plan = _plan(node, i, problems)
        name_node = next((v for k, v in getattr(node, "value", []) if getattr(k, "value", None) == "name"), None)
        name = getattr(name_node, "value", None)
        if isinstance(name, str) and name.strip():
            if name.strip() in named:
                problems.add(name_node, f"plan {i}: the name {name.strip()!r} is used twice")
            named.add(name.strip())
        if plan is not None:
            plans[plan.name] = plan
    assignments = []
    for i, node in enumerate(_list(top["assignments"], "assignments", problems) if "assignments" in top else [], 1):
        row = _assignment(node, i, plans, named, emails, problems)
        if row is not None:
            assignments.append(row)
    if problems.items:
        lines = "\n".join(f"  line {line}: {message}" for line, message in sorted(problems.items))
        count = len(problems.items)
        raise CompPlanError(f"the plans file was refused, nothing was loaded ({count} "
                            f"problem{'s' if count > 1 else ''}):\n{lines}")
    return PlanBook(plans, tuple(assignments))


# --- versions ------------------------------------------------------------------------------------------------

def _number_json(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def book_to_json(book: PlanBook) -> str:
    plans = [{"name": p.name, "period": p.period, "target_incentive": str(p.target_incentive),
              "products": list(p.products) if p.products is not None else None,
              "tiers": [[str(t.lower), _number_json(t.upper), str(t.multiplier)] for t in p.tiers],
              "tier_mode": p.tier_mode, "cap": _number_json(p.cap),
              "spiffs": [{"name": s.name, "amount": _number_json(s.amount), "rate": _number_json(s.rate),
                          "where": [[f, list(v)] for f, v in s.where]} for s in p.spiffs]}
             for p in book.plans.values()]
    rows = [{"plan": a.plan, "from": a.starts.isoformat(), "role": a.role, "rep": a.rep_email}
            for a in book.assignments]
    return json.dumps({"plans": plans, "assignments": rows}, sort_keys=True)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def book_from_json(document: str) -> PlanBook:
    data = json.loads(document)
    plans = {}
    for p in data["plans"]:
        tiers = tuple(Tier(Decimal(lo), _dec(hi), Decimal(m)) for lo, hi, m in p["tiers"])
        spiffs = tuple(Spiff(s["name"], _dec(s["amount"]), _dec(s["rate"]),
                             tuple((f, tuple(v)) for f, v in s["where"])) for s in p["spiffs"])
        plans[p["name"]] = Plan(p["name"], p["period"], Decimal(p["target_incentive"]),
                                None if p["products"] is None else tuple(p["products"]), tiers, p["tier_mode"],
                                _dec(p["cap"]), spiffs)
    rows = tuple(Assignment(a["plan"], date.fromisoformat(a["from"]), a["role"], a["rep"])
                 for a in data["assignments"])
    return PlanBook(plans, rows)


@dataclass(frozen=True)
class PlanVersion:
    id: int
    effective_from: date
    loaded_at: datetime
    source: str
    book: PlanBook


def rep_emails(conn: Connection) -> set[str]:
    return {e.lower() for (e,) in conn.execute(select(reps.c.email).where(reps.c.email.is_not(None)))}


def store_version(conn: Connection, text: str, source: str, effective_from: date, now: datetime
                  ) -> tuple[PlanVersion, bool]:
    """Validate and keep `text` as a new version; (version, False) when it matches the newest version already."""
    book = read_plans_file(text, rep_emails(conn))
    document = book_to_json(book)
    checksum = hashlib.sha256(document.encode()).hexdigest()
    newest = latest_version(conn)
    if newest is not None and book_to_json(newest.book) == document:
        return newest, False
    new_id = conn.execute(bot_comp_plan_versions.insert().values(
        effective_from=effective_from, loaded_at=now, source=source[:500], checksum=checksum, document=document,
    ).returning(bot_comp_plan_versions.c.id)).scalar_one()
    return PlanVersion(new_id, effective_from, now, source, book), True


def _version(row) -> PlanVersion:
    return PlanVersion(row.id, row.effective_from, row.loaded_at, row.source, book_from_json(row.document))


def latest_version(conn: Connection) -> PlanVersion | None:
    t = bot_comp_plan_versions
    row = conn.execute(select(t).order_by(t.c.effective_from.desc(), t.c.id.desc()).limit(1)).first()
    return None if row is None else _version(row)


def version_for_window(conn: Connection, last_day: date) -> PlanVersion | None:
    """The version in force for a period ending on `last_day`: the newest effective by then, else the oldest."""
    t = bot_comp_plan_versions
    row = conn.execute(select(t).where(t.c.effective_from <= last_day)
                       .order_by(t.c.effective_from.desc(), t.c.id.desc()).limit(1)).first()
    if row is None:
        row = conn.execute(select(t).order_by(t.c.effective_from, t.c.id).limit(1)).first()
    return None if row is None else _version(row)


def version_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(bot_comp_plan_versions)).scalar_one()
