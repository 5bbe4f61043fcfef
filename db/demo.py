"""The demo org generator behind `python bot.py demo` (DESIGN §3, "Demo data").

`build_demo()` writes a seeded, realistic sales org into an empty or demo database: an exec, VPs (and, in large
orgs, directors), first-line managers and reps on three continents; accounts; opportunities that move through the
stages with one `opportunity_history` row per change (stage moves, close-date pushes, amount changes); activities
that thin out on deals that die; quarterly quotas; and data-quality problems planted at the rates in
`PLANTED_RATES`, so the integrity rules have something to find. Dates are relative to `today`.

Same seed, sizes, `today` and fiscal-year start give the same rows on SQLite and PostgreSQL.

How it stays fast: the deals are simulated in chunks (whole accounts per chunk, about `CHUNK_DEALS` deals), every
chunk vectorised with numpy, and written with PostgreSQL binary COPY (built with numpy, no per-row Python) or
SQLite `executemany`; memory does not grow with the deal count. On PostgreSQL the big tables' non-unique indexes
and foreign keys are dropped for the load and re-created (re-validated) afterwards, all in the one transaction
that also truncates the old data, so a failed or interrupted run leaves the previous demo in place.

Planted problems (one per integrity rule of DESIGN §4, at most one per record; un-planted rows trip none of them):

| rule | rate | of |
|---|---|---|
| missing_amount | 2% | open deals past Prospecting (amount NULL or 0) |
| past_close_date | 3% | open deals (close date before today) |
| close_before_created | 0.5% | closed deals (close date before the created date) |
| probability_off_stage | 2% | open deals (explicit probability > 25 points off the stage default) |
| forecast_category_mismatch | 1% | all deals (open deal in `closed`, won in `pipeline`, lost in `commit`) |
| owner_inactive | 1% | open deals (owner is an inactive rep) |
| owner_unknown | 0.5% | open deals (owner_id NULL) |
| duplicate_opportunity | 0.5% | all deals (a second deal on the same account whose name matches once case is ignored) |
| duplicate_account | 1% | accounts (a second account whose name differs only in case or a trailing space) |
| amount_outlier | 0.5% | all deals (15–40× the segment median; un-planted amounts stay within 6×) |
| late_stage_no_next_step | 3% | open Proposal/Negotiation deals (next_step NULL) |
| change_after_close | 1% | closed deals (an amount change in history on a later UTC day than closed_at) |
| rep_without_quota | 2% (at least 1) | active reps with role rep (no quota for the current quarter) |
| negative_amount | 0.5% | all deals |
| missing_exchange_rate | 0.5% | all deals (in CHF, a currency with no exchange rate) |

Currencies: the deals of one account in sixteen are in EUR and of another in IDR, the rest in the org currency.
Their amounts are the org-currency amounts times the dated rate of `DEMO_RATES` valid on the deal's conversion
day (the close date when closed, today when open), so the org's figures barely move with the currency mix.

Counts are round(rate × population) exactly (spread over the chunks; fewer only if too few records qualify, e.g.
an org too small to have a rep who left). `DemoSummary.planted` and `.populations` give the counts of a build.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from db.after_load import AfterLoad, vacuum_sales_tables
from db.schema import (
    BOT_TABLES,
    DEFAULT_STAGES,
    accounts,
    activities,
    bot_settings,
    exchange_rates,
    opportunities,
    opportunity_history,
    quotas,
    reps,
    stages,
)
from errors import UserError

DEMO_DOMAIN = "demo.example.com"
DEMO_LOGINS = {
    "exec": f"exec@{DEMO_DOMAIN}",  # the CRO at the top of the tree: sees the whole org
    "vp": f"vp@{DEMO_DOMAIN}",  # VP Americas: a manager of managers
    "manager": f"manager@{DEMO_DOMAIN}",  # a first-line manager (Americas SMB 1)
    "rep": f"rep@{DEMO_DOMAIN}",  # an active rep on that manager's team, with quota
    "ops": f"ops@{DEMO_DOMAIN}",  # sales operations: sees everything, gets the integrity findings
}

# Planted data-quality problems: rule -> fraction of its population (PLANTED_POPULATIONS).
PLANTED_RATES = {
    "missing_amount": 0.02,
    "past_close_date": 0.03,
    "close_before_created": 0.005,
    "probability_off_stage": 0.02,
    "forecast_category_mismatch": 0.01,
    "owner_inactive": 0.01,
    "owner_unknown": 0.005,
    "duplicate_opportunity": 0.005,
    "duplicate_account": 0.01,
    "amount_outlier": 0.005,
    "late_stage_no_next_step": 0.03,
    "change_after_close": 0.01,
    "rep_without_quota": 0.02,
    "negative_amount": 0.005,
    "missing_exchange_rate": 0.005,
}
PLANTED_POPULATIONS = {
    "missing_amount": "open deals past the first stage",
    "past_close_date": "open deals",
    "close_before_created": "closed deals",
    "probability_off_stage": "open deals",
    "forecast_category_mismatch": "all deals",
    "owner_inactive": "open deals",
    "owner_unknown": "open deals",
    "duplicate_opportunity": "all deals",
    "duplicate_account": "accounts",
    "amount_outlier": "all deals",
    "late_stage_no_next_step": "open Proposal and Negotiation deals",
    "change_after_close": "closed deals",
    "rep_without_quota": "active reps (role rep)",
    "negative_amount": "all deals",
    "missing_exchange_rate": "all deals",
}
# Dated rates (units per org-currency unit): (currency, rate, first day, last day) in days from today; None =
# open-ended. Deals of accounts with index % ACCOUNTS_PER_CURRENCY in FOREIGN_ACCOUNTS are in that currency.
DEMO_RATES = (
    ("EUR", "0.905", -3650, -121), ("EUR", "0.92", -120, None),
    ("IDR", "15800", -3650, -61), ("IDR", "16250", -60, None),
)
ACCOUNTS_PER_CURRENCY = 16
FOREIGN_ACCOUNTS = {3: "EUR", 11: "IDR"}
NO_RATE_CURRENCY = "CHF"  # planted missing_exchange_rate: a currency the demo has no rate for

MARKER_KEY = "demo"
DEFAULT_SEED = 42
DEFAULT_REPS = 60
DEFAULT_DEALS = 5_000
MIN_PEOPLE = 12
MIN_DEALS = 100
MAX_DEALS = 20_000_000
CHUNK_DEALS = 20_000  # part of the determinism contract: changing it changes the data
WINDOW_DAYS = 548  # deals are created over the last eighteen months
MAX_DEALS_PER_ACCOUNT = 40

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_MEDIAN = np.array([12_000.0, 55_000.0, 240_000.0])  # deal size, org currency
SEGMENT_SIGMA = np.array([0.55, 0.6, 0.7])  # log-normal spread
SEGMENT_PACE = np.array([0.55, 1.0, 1.8])  # multiplies the days spent in each stage
SEGMENT_TEAM_SHARE = (0.45, 0.35, 0.20)
SEGMENT_ACCOUNT_WEIGHT = np.array([1.3, 1.0, 0.7])  # SMB accounts buy more often
AMOUNT_RANGE = (0.15, 6.0)  # un-planted amounts stay within these multiples of the segment median

REGIONS = (
    ("Americas", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                  "America/Toronto"), 0.5),
    ("EMEA", ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid"), 0.3),
    ("APAC", ("Asia/Singapore", "Australia/Sydney", "Asia/Tokyo"), 0.2),
)

STAGE_NAMES = tuple(s["name"] for s in DEFAULT_STAGES)  # index 0..3 open, 4 won, 5 lost
STAGE_PROB = np.array([s["probability"] for s in DEFAULT_STAGES], dtype=np.int64)
FORECAST = ("pipeline", "best_case", "commit", "omitted", "closed")
STAGE_FC = np.array([FORECAST.index(s["forecast_category"]) for s in DEFAULT_STAGES], dtype=np.int64)
ADVANCE_P = np.array([0.72, 0.62, 0.68, 0.60])  # Prospecting->Qualification->Proposal->Negotiation->Won
STAGE_DAYS = np.array([12.0, 20.0, 28.0, 22.0])  # mean days in each open stage (Mid-Market pace)

PRODUCTS = ("Platform", "Analytics", "Integrations", "Security", "Support Plus")
DEAL_TYPES = ("New Business", "Expansion", "Renewal", "Upsell", "Pilot")
SOURCES = ("Inbound", "Outbound", "Partner", "Event", "Referral", "Customer Success")
LOSS_REASONS = ("Price", "Competitor", "No decision", "Timing", "Budget", "Lost contact", "Product fit")
INDUSTRIES = ("Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Logistics", "Media",
              "Education", "Energy", "Telecommunications", "Hospitality", "Public Sector")
NEXT_STEPS = (
    ("Discovery call with the champion", "Qualify budget and timeline", "Book an intro meeting"),
    ("Demo for the evaluation team", "Map the buying committee", "Confirm success criteria"),
    ("Send the proposal", "Review pricing with the CFO", "Security questionnaire"),
    ("Redlines back from legal", "Procurement sign-off", "Send order form for signature"),
)
ACTIVITY_KINDS = ("call", "email", "meeting", "task", "note")
ACTIVITY_KIND_P = np.array([0.25, 0.40, 0.15, 0.12, 0.08])
ACTIVITY_SUBJECTS = (
    ("Discovery call", "Follow-up call", "Pricing call"),
    ("Follow-up email", "Sent deck", "Sent proposal"),
    ("Demo", "Onsite meeting", "Executive review"),
    ("Prepare proposal", "Update mutual plan", "Send contract"),
    ("Call notes", "Meeting notes", "Champion update"),
)

FIRST_NAMES = (
    "Aisha", "Alex", "Amara", "Ana", "Andrea", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel",
    "Dana", "David", "Diego", "Elena", "Emeka", "Emma", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hannah",
    "Hiro", "Ines", "Isaac", "Ivan", "Jack", "Jade", "James", "Jana", "Javier", "Jin", "Jonas", "Julia", "Kai",
    "Karin", "Kenji", "Kofi", "Laila", "Lars", "Leah", "Leon", "Lina", "Lucas", "Luis", "Maya", "Marco", "Maria",
    "Mateo", "Mei", "Mia", "Mohammed", "Nadia", "Naomi", "Nia", "Nikhil", "Nina", "Noah", "Olga", "Omar",
    "Oscar", "Paula", "Pedro", "Priya", "Rafael", "Rahul", "Rania", "Ravi", "Rosa", "Ryan", "Sakura", "Sam",
    "Sara", "Sean", "Simone", "Sofia", "Sven", "Tariq", "Tess", "Theo", "Tom", "Uma", "Victor", "Wei", "Yara",
    "Yusuf", "Zara", "Zoe", "Adrian", "Beatriz", "Camille", "Dmitri", "Eva", "Farah", "Gabriel", "Helena",
    "Ingrid", "Jorge", "Kira", "Liam", "Marta", "Nils", "Olivia", "Pablo", "Quinn", "Rui", "Sanjay", "Tanya",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Andersen", "Baker", "Bauer", "Becker", "Bennett", "Brooks", "Campbell",
    "Carter", "Castro", "Chen", "Clarke", "Cohen", "Costa", "Cruz", "Das", "Davies", "Diaz", "Dubois", "Evans",
    "Fischer", "Flores", "Foster", "Garcia", "Gomez", "Gupta", "Hall", "Hansen", "Harris", "Hayes", "Hoffmann",
    "Hughes", "Ibrahim", "Ito", "Jansen", "Jensen", "Johnson", "Kaur", "Kelly", "Khan", "Kim", "Klein", "Kowalski",
    "Kumar", "Larsen", "Laurent", "Lee", "Lewis", "Lopez", "Martin", "Meyer", "Mendes", "Moreau", "Morris",
    "Muller", "Murphy", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor", "Okonkwo", "Olsen", "Ortiz", "Park",
    "Patel", "Perez", "Peters", "Petrov", "Price", "Quinn", "Ramirez", "Reed", "Reyes", "Richter", "Rivera",
    "Roberts", "Rossi", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider", "Shah", "Silva", "Singh", "Smith",
    "Sorensen", "Suzuki", "Tanaka", "Taylor", "Torres", "Turner", "Vargas", "Wagner", "Walker", "Wang", "Weber",
    "Wilson", "Wong", "Wright", "Yamamoto", "Young", "Zhang", "Ziegler", "Zimmermann", "Bianchi", "Romano",
)
ACCOUNT_A = (
    "Blue", "North", "Silver", "Crimson", "Red", "Green", "Iron", "Bright", "Clear", "Golden", "Stone", "Swift",
    "Cedar", "Maple", "Oak", "Pine", "River", "Lake", "Hidden", "Coastal", "Prairie", "Alpine", "Urban", "Metro",
    "Pacific", "Atlantic", "Polar", "Solar", "Lunar", "Crystal", "Granite", "Copper", "Cobalt", "Amber", "Ivory",
    "Onyx", "Scarlet", "Violet", "Indigo", "Emerald", "Sterling", "Noble", "Royal", "Vivid", "Quiet", "Bold",
    "Rapid", "Steady", "True", "Prime", "First", "Grand", "High", "Deep", "Wide", "Far", "Open", "New", "Old",
    "Great", "Little", "West", "East", "South",
)
ACCOUNT_B = (
    "Harbor", "Ridge", "Peak", "Valley", "Falcon", "Eagle", "Wolf", "Bear", "Fox", "Hawk", "Lion", "Otter",
    "Bridge", "Gate", "Tower", "Forge", "Mill", "Works", "Field", "Grove", "Brook", "Creek", "Point", "Crest",
    "Stream", "Wave", "Tide", "Beacon", "Compass", "Anchor", "Arrow", "Spark", "Flame", "Cloud", "Sky", "Star",
    "Orbit", "Vector", "Signal", "Pixel", "Circuit", "Matrix", "Atlas", "Summit", "Horizon", "Meadow", "Canyon",
    "Island", "Harvest", "Garden", "Lantern", "Keystone", "Pillar", "Anvil", "Quarry", "Voyage", "Path", "Trail",
    "Rock", "Sound", "Bay", "Shore", "Cove", "Fjord",
)
ACCOUNT_C = (
    "Analytics", "Logistics", "Foods", "Health", "Labs", "Systems", "Software", "Energy", "Capital", "Media",
    "Robotics", "Networks", "Pharma", "Retail", "Motors", "Foundry", "Studios", "Ventures", "Partners",
    "Solutions", "Dynamics", "Biotech", "Insurance", "Realty", "Telecom", "Airlines", "Apparel", "Brewing",
    "Freight", "Mining", "Textiles", "Devices", "Security", "Learning", "Payments", "Marine", "Aerospace",
    "Chemicals", "Hospitality", "Consulting",
)
ACCOUNT_D = (
    "", "Boston", "Denver", "Austin", "Toronto", "London", "Berlin", "Paris", "Madrid", "Dublin", "Munich",
    "Zurich", "Oslo", "Tokyo", "Sydney", "Singapore", "Seoul", "Mumbai", "Dubai", "Lisbon", "Vienna", "Prague",
)
LEGAL_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "Corp", "", "", "")

BOOL, INT, TEXT, DATE, TS, MONEY = "bool", "int", "text", "date", "ts", "money"
_EPOCH = date(1970, 1, 1)
_DAY = 86_400
_NOCHANGE = np.iinfo(np.int64).min  # event slot does not set this field
_NULL = _NOCHANGE + 1  # event slot sets this field to NULL


@dataclass
class DemoSummary:
    """What `build_demo` wrote."""

    seed: int
    today: date
    people: int
    sellers: int
    accounts: int
    deals: int
    history_rows: int
    activities: int
    quotas: int
    open_deals: int
    closed_deals: int
    elapsed_s: float
    logins: dict[str, str]
    planted: dict[str, int] = field(default_factory=dict)
    populations: dict[str, int] = field(default_factory=dict)
    # rule -> the ids of the records planted with that problem (deal, account or rep ids, as the rule's records)
    planted_ids: dict[str, np.ndarray] = field(default_factory=dict)


# --- the command ---------------------------------------------------------------------------------------------


def run_demo_command(args, settings, after_load: AfterLoad | None = None) -> int:
    """`python bot.py demo`: build or refresh the demo org on DATABASE_URL and print a summary."""
    from db.engine import get_engine

    for name, value, low in (("--reps", args.reps, MIN_PEOPLE), ("--deals", args.deals, MIN_DEALS)):
        if value < low:
            raise UserError(f"{name} must be at least {low:,} (got {value:,}).")
    if args.deals > MAX_DEALS:
        raise UserError(f"--deals must be at most {MAX_DEALS:,} (got {args.deals:,}).")
    engine = get_engine(settings.database_url)
    today = datetime.now(settings.tz).date()
    summary = build_demo(
        engine,
        seed=args.seed,
        reps=args.reps,
        deals=args.deals,
        today=today,
        progress=not args.no_progress and sys.stderr.isatty(),
        fiscal_year_start_month=settings.fiscal_year_start_month,
        currency=settings.org_currency,
        after_load=after_load,
    )
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    print(format_summary(summary, where))
    return 0


def format_summary(s: DemoSummary, where: str = "") -> str:
    planted = sum(s.planted.values())
    lines = [
        f"Demo org built in {s.elapsed_s:.1f} s (seed {s.seed}, as of {s.today.isoformat()})"
        + (f" on {where}" if where else ""),
        f"  {s.people:,} people ({s.sellers:,} reps), {s.accounts:,} accounts, {s.deals:,} deals "
        f"({s.open_deals:,} open), {s.history_rows:,} history rows, {s.activities:,} activities, "
        f"{s.quotas:,} quotas",
        f"  {planted:,} planted data-quality problems across {len(s.planted)} integrity rules "
        "(`python bot.py check` finds them)",
        "Try it as:",
    ]
    width = max(len(e) for e in s.logins.values())
    roles = {"exec": "the whole org", "vp": "a VP: managers of managers", "manager": "a first-line manager",
             "rep": "a rep", "ops": "sales ops"}
    for role, email in s.logins.items():
        lines.append(f"  python bot.py console --as {email:<{width}}  # {roles.get(role, role)}")
    return "\n".join(lines)


# --- the build -----------------------------------------------------------------------------------------------


def build_demo(
    engine: Engine,
    *,
    seed: int,
    reps: int,
    deals: int,
    today: date,
    progress: bool = False,
    fiscal_year_start_month: int = 1,
    currency: str = "USD",
    after_load: AfterLoad | None = None,
) -> DemoSummary:
    """Replace the demo org in `engine`'s database (migrated already) with a fresh one; refuse on real data.
    `after_load` (the history snapshot's rebuild) runs once the rows are in (db/after_load.py)."""
    started = time.perf_counter()
    n_people, n_deals = max(int(reps), MIN_PEOPLE), max(int(deals), 0)
    bar = _Progress(n_deals, enabled=progress)
    try:
        with engine.begin() as conn:
            _refuse_unless_demo(conn)
            writer = _PostgresWriter(conn) if conn.dialect.name == "postgresql" else _SQLiteWriter(conn)
            writer.clear()
            conn.execute(stages.insert(), [dict(s) for s in DEFAULT_STAGES])
            writer.before_load()
            bar.note("people and accounts")

            org = _plan_org(np.random.default_rng([seed, 0]), n_people, today)
            accts = _plan_accounts(np.random.default_rng([seed, 1]), org, n_deals, today)
            writer.write("reps", _rep_columns(org))
            writer.write("accounts", _account_columns(accts))

            sim = _DealSim(seed, org, accts, today, fiscal_year_start_month, currency)
            for lo, hi in _chunk_bounds(accts.deal_start):
                opp_cols, hist_cols, act_cols = sim.chunk(lo, hi)
                writer.write("opportunities", opp_cols)
                writer.write("opportunity_history", hist_cols)
                writer.write("activities", act_cols)
                bar.update(hi)
            bar.done()

            quota_cols, n_quotas = sim.quotas(np.random.default_rng([seed, 3]))
            writer.write("quotas", quota_cols)
            conn.execute(exchange_rates.insert(), _rate_rows(today, currency))
            bar.note("indexing")
            writer.after_load()
            marker = {"seed": seed, "reps": n_people, "deals": n_deals, "today": today.isoformat(),
                      "fiscal_year_start_month": fiscal_year_start_month, "generator": 1}
            conn.execute(bot_settings.insert().values(key=MARKER_KEY, value=json.dumps(marker, sort_keys=True),
                                                      updated_at=datetime.now(UTC)))
            if after_load is not None:
                bar.note("snapshot")
                after_load.refresh(conn)
        if engine.dialect.name == "postgresql":
            bar.note("vacuuming")
            vacuum_sales_tables(engine)
            if after_load is not None:
                after_load.tidy(engine)
    finally:
        bar.clear()

    planted = dict(sim.planted)
    populations = dict(sim.population)
    planted["duplicate_account"] = accts.n_dup
    populations["duplicate_account"] = accts.n
    planted["rep_without_quota"] = int(org.no_quota.sum())
    populations["rep_without_quota"] = int((org.is_seller & org.active).sum())
    planted_ids = {rule: np.concatenate([np.zeros(0, np.int64), *parts]) for rule, parts in sim.planted_ids.items()}
    planted_ids["duplicate_account"] = np.flatnonzero(accts.is_dup) + 1
    planted_ids["rep_without_quota"] = np.flatnonzero(org.no_quota) + 1
    logins = {role: org.emails[i] for role, i in org.logins.items()}
    return DemoSummary(
        seed=seed, today=today, people=org.n, sellers=int(org.is_seller.sum()), accounts=accts.n, deals=n_deals,
        history_rows=sim.next_hist_id - 1, activities=sim.next_act_id - 1, quotas=n_quotas,
        open_deals=sim.population["past_close_date"], closed_deals=sim.population["close_before_created"],
        elapsed_s=time.perf_counter() - started, logins=logins,
        planted={k: planted[k] for k in PLANTED_RATES}, populations={k: populations[k] for k in PLANTED_RATES},
        planted_ids={k: planted_ids[k] for k in PLANTED_RATES},
    )


def _refuse_unless_demo(conn) -> None:
    """Raise UserError when the database holds sales data that a demo run did not write."""
    if conn.execute(select(bot_settings.c.value).where(bot_settings.c.key == MARKER_KEY)).first() is not None:
        return
    for table in (reps, accounts, opportunities, opportunity_history, activities, quotas):
        if conn.execute(select(table.c.id).limit(1)).first() is not None:
            raise UserError(
                f"This database already holds sales data (the {table.name} table is not empty) that the demo "
                "did not create, and the demo would replace it; point DATABASE_URL at another database, "
                "e.g. DATABASE_URL=sqlite:///demo.db python bot.py demo."
            )
    found = {tuple(r) for r in conn.execute(select(stages.c.name, stages.c.position, stages.c.probability))}
    if found and found != {(s["name"], s["position"], s["probability"]) for s in DEFAULT_STAGES}:
        raise UserError(
            "This database has its own sales stages, which the demo would replace; point DATABASE_URL at "
            "another database, e.g. DATABASE_URL=sqlite:///demo.db python bot.py demo."
        )


def _chunk_bounds(deal_start: np.ndarray):
    """Deal index ranges of about CHUNK_DEALS deals, cut at account boundaries (an account's deals stay together)."""
    total = int(deal_start[-1])
    targets = np.arange(CHUNK_DEALS, total, CHUNK_DEALS)
    cuts = deal_start[np.searchsorted(deal_start, targets)]
    edges = np.unique(np.concatenate([[0], cuts, [total]]))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        yield int(lo), int(hi)


# --- the org -------------------------------------------------------------------------------------------------


@dataclass
class _Org:
    n: int
    names: list[str]
    emails: list[str]
    roles: list[str]
    manager: np.ndarray  # index, -1 for none
    team: list[str | None]
    region: list[str | None]
    segment: np.ndarray  # index into SEGMENTS, -1 for none
    active: np.ndarray
    tz: list[str]
    tz_off: np.ndarray  # seconds east of UTC on `today`
    start_day: np.ndarray  # days since 1970-01-01
    leave_day: np.ndarray  # days since 1970-01-01; huge for active people
    replacement: np.ndarray  # who took over an inactive rep's deals, -1 for none
    skill: np.ndarray  # log-odds shift on the last stage's win chance
    level: np.ndarray  # activity multiplier
    is_seller: np.ndarray
    no_quota: np.ndarray  # planted: no quota for the current quarter
    logins: dict[str, int]


def _split(total: int, shares, minimum: int = 0) -> list[int]:
    """Split `total` by `shares` (largest remainder), each part at least `minimum`."""
    k = len(shares)
    base = [minimum] * k
    rest = total - minimum * k
    raw = [rest * s / sum(shares) for s in shares]
    parts = [int(r) for r in raw]
    for i in sorted(range(k), key=lambda i: raw[i] - parts[i], reverse=True)[: rest - sum(parts)]:
        parts[i] += 1
    return [b + p for b, p in zip(base, parts, strict=True)]


def _plan_org(rng: np.random.Generator, n_people: int, today: date) -> _Org:
    today_day = (today - _EPOCH).days
    n_ops = max(1, round(n_people * 0.005))
    n_vps = len(REGIONS)
    rest = n_people - 1 - n_ops - n_vps
    n_dirs = 0 if rest < 250 else math.ceil(rest / 100)
    n_flms = max(n_vps, round((rest - n_dirs) / 9))
    n_sellers = rest - n_dirs - n_flms

    roles: list[str] = []
    manager: list[int] = []
    team: list[str | None] = []
    region: list[str | None] = []
    segment: list[int] = []
    tz: list[str] = []

    def add(role, mgr, team_name, region_name, seg, zone) -> int:
        roles.append(role)
        manager.append(mgr)
        team.append(team_name)
        region.append(region_name)
        segment.append(seg)
        tz.append(zone)
        return len(roles) - 1

    exec_i = add("exec", -1, "Leadership", None, -1, "America/New_York")
    ops_zones = ("America/Chicago", "Europe/London", "Asia/Singapore")
    ops = [add("ops", exec_i, "Sales Operations", None, -1, ops_zones[i % 3]) for i in range(n_ops)]
    vps = [add("manager", exec_i, f"{name} Sales", name, -1, zones[0]) for name, zones, _ in REGIONS]
    flms_by_region = _split(n_flms, [share for _, _, share in REGIONS], 1)
    dirs_by_region = _split(n_dirs, flms_by_region, 1 if n_dirs >= n_vps else 0) if n_dirs else [0] * n_vps
    # team segments spread evenly over the whole list of teams, so every region gets a mix
    seg_counts = _split(n_flms, SEGMENT_TEAM_SHARE, 1)
    spread = sorted(((i + 0.5) / c, s) for s, c in enumerate(seg_counts) for i in range(c))
    team_segments = iter(s for _, s in spread)
    flms: list[int] = []
    for r, (name, zones, _) in enumerate(REGIONS):
        dirs = [add("manager", vps[r], f"{name} Sales", name, -1, zones[int(rng.integers(len(zones)))])
                for _ in range(dirs_by_region[r])]
        numbered = [0, 0, 0]
        for j in range(flms_by_region[r]):
            seg = next(team_segments)
            numbered[seg] += 1
            boss = dirs[j % len(dirs)] if dirs else vps[r]
            flms.append(add("manager", boss, f"{name} {SEGMENTS[seg]} {numbered[seg]}", name, seg,
                            zones[int(rng.integers(len(zones)))]))
    # every team gets one seller, the rest land at random; sellers are numbered team by team
    team_of = np.concatenate([np.arange(len(flms)), rng.integers(0, len(flms), n_sellers - len(flms))])
    team_of.sort()
    for t in team_of:
        boss = flms[int(t)]
        zones = next(z for name, z, _ in REGIONS if name == region[boss])
        add("rep", boss, team[boss], region[boss], segment[boss], zones[int(rng.integers(len(zones)))])
    n = len(roles)
    assert n == n_people, (n, n_people)

    # unique names (then emails); the logins get their documented addresses
    combos = len(FIRST_NAMES) * len(LAST_NAMES)
    picks = rng.choice(combos, size=min(n, combos), replace=False)
    names, emails = [], []
    for i in range(n):
        p = int(picks[i % combos])
        first, last = FIRST_NAMES[p // len(LAST_NAMES)], LAST_NAMES[p % len(LAST_NAMES)]
        suffix = "" if i < combos else f" {i // combos + 1}"
        names.append(f"{first} {last}{suffix}")
        emails.append(f"{first}.{last}{suffix.strip()}@{DEMO_DOMAIN}".lower())

    roles_a = np.array(roles)
    is_seller = roles_a == "rep"
    seg_a = np.array(segment)
    mgr_a = np.array(manager)
    active = np.ones(n, dtype=bool)
    leave = np.full(n, 10**7, dtype=np.int64)
    replacement = np.full(n, -1, dtype=np.int64)
    manager_login = flms[0]
    rep_login = int(np.flatnonzero(mgr_a == manager_login)[0])

    # some reps have left (each team keeps at least one active rep); an active teammate took over their open
    # deals and accounts
    sellers = np.flatnonzero(is_seller)
    team_size = {int(m): int(c) for m, c in zip(*np.unique(mgr_a[sellers], return_counts=True), strict=True)}
    n_inactive = max(1, round(0.05 * len(sellers)))
    for i in rng.permutation(sellers):
        if n_inactive == 0:
            break
        if i == rep_login or team_size[int(mgr_a[i])] < 2:
            continue
        active[i] = False
        team_size[int(mgr_a[i])] -= 1
        leave[i] = today_day - int(rng.integers(30, 400))
        n_inactive -= 1
    for i in sellers[~active[sellers]]:
        mates = sellers[(mgr_a[sellers] == mgr_a[i]) & active[sellers]]
        replacement[i] = mates[int(rng.integers(len(mates)))]

    candidates = np.array([i for i in sellers if active[i] and i != rep_login])
    no_quota = np.zeros(n, dtype=bool)
    n_nq = max(1, round(PLANTED_RATES["rep_without_quota"] * int((is_seller & active).sum())))
    no_quota[rng.choice(candidates, size=min(n_nq, len(candidates)), replace=False)] = True

    logins = {"exec": exec_i, "vp": vps[0], "manager": manager_login, "rep": rep_login, "ops": ops[0]}
    for role, i in logins.items():
        emails[i] = DEMO_LOGINS[role]

    noon = datetime.combine(today, dtime(12))
    tz_off = np.array([int(ZoneInfo(z).utcoffset(noon).total_seconds()) for z in tz], dtype=np.int64)
    return _Org(
        n=n, names=names, emails=emails, roles=roles, manager=mgr_a, team=team, region=region, segment=seg_a,
        active=active, tz=tz, tz_off=tz_off,
        start_day=today_day - WINDOW_DAYS - rng.integers(20, 2500, n), leave_day=leave, replacement=replacement,
        skill=rng.normal(0.0, 0.45, n), level=rng.lognormal(0.0, 0.25, n), is_seller=is_seller,
        no_quota=no_quota, logins=logins,
    )


# --- accounts ------------------------------------------------------------------------------------------------


@dataclass
class _Accounts:
    n: int
    n_dup: int
    names: np.ndarray  # S, ASCII
    external_ids: np.ndarray
    owner: np.ndarray  # the original owner (org index); the account row shows who owns it now
    segment: np.ndarray
    industry: np.ndarray
    created: np.ndarray  # seconds since the epoch
    deal_start: np.ndarray  # n + 1 cumulative deal counts: account a owns deals deal_start[a]:deal_start[a+1]
    name_offset: np.ndarray  # where the account's deal names start in the product x type grid
    is_dup: np.ndarray
    current_owner: np.ndarray  # the replacement when the original owner has left
    region: np.ndarray  # S


def _account_names(rng: np.random.Generator, n: int) -> list[str]:
    a, b, c, d = len(ACCOUNT_A), len(ACCOUNT_B), len(ACCOUNT_C), len(ACCOUNT_D)
    capacity = a * b * c * d
    # small orgs never need a city in the name; names past the capacity get a number
    picks = rng.choice(a * b * c if n <= a * b * c else capacity, size=min(n, capacity), replace=False)
    legal = rng.integers(0, len(LEGAL_SUFFIXES), n)
    out = []
    for i in range(n):
        p = int(picks[i % len(picks)])
        words = [ACCOUNT_A[p % a], ACCOUNT_B[(p // a) % b], ACCOUNT_C[(p // (a * b)) % c],
                 ACCOUNT_D[p // (a * b * c)], LEGAL_SUFFIXES[legal[i]]]
        if i >= capacity:
            words.append(str(i // capacity + 1))
        out.append(" ".join(w for w in words if w))
    return out


def _plan_accounts(rng: np.random.Generator, org: _Org, n_deals: int, today: date) -> _Accounts:
    n_base = max(12, n_deals // 4)
    rate = PLANTED_RATES["duplicate_account"]
    n_dup = round(rate * n_base / (1 - rate))
    base_names = _account_names(rng, n_base)
    sources = np.zeros(n_base, dtype=np.int64)
    sources[rng.choice(n_base, size=n_dup, replace=False)] = 1
    base_of = np.repeat(np.arange(n_base), 1 + sources)  # a duplicate sits right after its source
    n = len(base_of)
    is_dup = np.zeros(n, dtype=bool)
    is_dup[1:] = base_of[1:] == base_of[:-1]
    variants = (str.upper, str.lower, lambda s: s + " ")
    names = []
    for i in range(n):
        name = base_names[base_of[i]]
        names.append(variants[int(rng.integers(3))](name) if is_dup[i] else name)

    sellers = np.flatnonzero(org.is_seller)
    owner = sellers[rng.permutation(n) % len(sellers)]
    segment = org.segment[owner]
    weights = rng.lognormal(0.0, 0.75, n) * SEGMENT_ACCOUNT_WEIGHT[segment]
    counts = rng.multinomial(n_deals, weights / weights.sum()) if n_deals else np.zeros(n, dtype=np.int64)
    while (over := counts > MAX_DEALS_PER_ACCOUNT).any():
        excess = int((counts[over] - MAX_DEALS_PER_ACCOUNT).sum())
        counts[over] = MAX_DEALS_PER_ACCOUNT
        np.add.at(counts, rng.integers(0, n, excess), 1)
    today_day = (today - _EPOCH).days
    created_day = today_day - WINDOW_DAYS - rng.integers(30, 2500, n)
    return _Accounts(
        n=n, n_dup=n_dup, names=np.array([s.encode() for s in names]),
        external_ids=_ids_with_prefix(b"ACC-", np.arange(1, n + 1), 6),
        owner=owner, segment=segment, industry=rng.integers(0, len(INDUSTRIES), n),
        created=created_day * _DAY + rng.integers(8 * 3600, 18 * 3600, n) - org.tz_off[owner],
        deal_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        name_offset=rng.integers(0, 25, n), is_dup=is_dup,
        current_owner=np.where(org.replacement[owner] >= 0, org.replacement[owner], owner),
        region=np.array([(org.region[o] or "").encode() for o in owner]),
    )


def _ids_with_prefix(prefix: bytes, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.strings.add(prefix, np.strings.zfill(numbers.astype("S"), width))


def _rep_columns(org: _Org):
    n = org.n
    mgr = org.manager
    current_owner_team = np.array([t or "" for t in org.team], dtype="S")
    return [
        ("id", INT, np.arange(1, n + 1), None),
        ("external_id", TEXT, _ids_with_prefix(b"REP-", np.arange(1, n + 1), 5), None),
        ("name", TEXT, np.array([s.encode() for s in org.names]), None),
        ("email", TEXT, np.array([s.encode() for s in org.emails]), None),
        ("role", TEXT, np.array(org.roles, dtype="S"), None),
        ("manager_id", INT, mgr + 1, mgr < 0),
        ("team", TEXT, current_owner_team, current_owner_team == b""),
        ("region", TEXT, np.array([r or "" for r in org.region], dtype="S"),
         np.array([r is None for r in org.region])),
        ("segment", TEXT, np.array(SEGMENTS, dtype="S")[np.maximum(org.segment, 0)], org.segment < 0),
        ("active", BOOL, org.active, None),
        ("timezone", TEXT, np.array(org.tz, dtype="S"), None),
        ("start_date", DATE, org.start_day, None),
    ]


def _account_columns(a: _Accounts):
    return [
        ("id", INT, np.arange(1, a.n + 1), None),
        ("external_id", TEXT, a.external_ids, None),
        ("name", TEXT, a.names, None),
        ("industry", TEXT, np.array(INDUSTRIES, dtype="S")[a.industry], None),
        ("segment", TEXT, np.array(SEGMENTS, dtype="S")[a.segment], None),
        ("region", TEXT, a.region, None),
        ("owner_id", INT, a.current_owner + 1, None),
        ("created_at", TS, a.created, None),
    ]


# --- deals ---------------------------------------------------------------------------------------------------

# event slots of a deal, before sorting by time
S_CREATE, S_QUAL, S_PROP, S_NEGO, S_CLOSE, S_PUSH_A, S_PUSH_B, S_AMOUNT, S_LAPSE, S_EDIT = range(10)
N_SLOTS = 10


def _quarter_starts(today: date, fy_start_month: int) -> list[date]:
    """Starts of the past four fiscal quarters, the current one and the next, plus the end boundary."""
    months_in = (today.month - fy_start_month) % 3
    y, m = today.year, today.month - months_in
    if m < 1:
        y, m = y - 1, m + 12
    out = []
    for k in range(-4, 3):
        mm = m - 1 + 3 * k
        out.append(date(y + mm // 12, mm % 12 + 1, 1))
    return out


class _DealSim:
    """Simulates deals chunk by chunk; keeps the running counters (ids, planted counts, won per rep-quarter)."""

    def __init__(self, seed, org: _Org, accts: _Accounts, today: date, fy_start_month: int, currency: str):
        self.seed, self.org, self.accts = seed, org, accts
        self.today_day = (today - _EPOCH).days
        self.now = self.today_day * _DAY  # midnight UTC starting today: every event is before it
        self.horizon = self.now - 3600  # late edits (lapse pushes, planted edits) happen before this
        self.cut = self.now - 3 * 3600  # the simulated lifecycle events happen before this
        self.currency = currency.encode()
        self.q_days = np.array([(d - _EPOCH).days for d in _quarter_starts(today, fy_start_month)])
        self.won = np.zeros((org.n, len(self.q_days) - 1))
        self.next_hist_id = 1
        self.next_act_id = 1
        self.planted = dict.fromkeys(PLANTED_RATES, 0)
        self.population = dict.fromkeys(PLANTED_RATES, 0)
        self.planted_ids: dict[str, list[np.ndarray]] = {rule: [] for rule in PLANTED_RATES}
        self.chunk_lo = 0  # the index of the chunk's first deal (its id is chunk_lo + 1)
        self.inactive = np.flatnonzero(org.is_seller & ~org.active)
        self.chunk_no = 0
        digits = max(7, len(str(int(accts.deal_start[-1]))))
        self.opp_digits = digits
        names = [f" - {PRODUCTS[c % 5]} {DEAL_TYPES[c // 5]}".encode() for c in range(25)]
        self.combo_names = np.array(names)

    # planting --------------------------------------------------------------------------------------------------

    def _plant(self, rng, rule: str, population: np.ndarray, candidates: np.ndarray, taken: np.ndarray):
        """Pick this chunk's share of `rule` among `candidates` (not taken yet); returns a mask."""
        self.population[rule] += int(population.sum())
        target = math.floor(PLANTED_RATES[rule] * self.population[rule] + 0.5) - self.planted[rule]
        pool = np.flatnonzero(candidates & ~taken)
        k = max(0, min(target, len(pool)))
        picked = np.zeros(len(population), dtype=bool)
        if k:
            picked[rng.choice(pool, size=k, replace=False)] = True
        self.planted[rule] += k
        self.planted_ids[rule].append(np.flatnonzero(picked) + self.chunk_lo + 1)
        taken |= picked
        return picked

    # one chunk -------------------------------------------------------------------------------------------------

    def chunk(self, lo: int, hi: int):
        rng = np.random.default_rng([self.seed, 2, self.chunk_no])
        self.chunk_no += 1
        self.chunk_lo = lo
        org, ac = self.org, self.accts
        n = hi - lo
        idx = np.arange(lo, hi)
        acc = np.searchsorted(ac.deal_start, idx, side="right") - 1
        k = idx - ac.deal_start[acc]
        seg = ac.segment[acc]
        rep0 = ac.owner[acc]
        pace = SEGMENT_PACE[seg]
        tz_off = org.tz_off[rep0]

        # created: over the window, growing ~30% a year, on a weekday in the owner's working hours
        growth = math.log(1.3) / 365
        u = rng.random(n)
        day_off = np.log1p(u * math.expm1(growth * WINDOW_DAYS)) / growth
        d0 = self.today_day - WINDOW_DAYS + day_off.astype(np.int64)
        dow = (d0 + 3) % 7  # Monday 0
        d0 = d0 - np.where(dow == 5, 1, 0) - np.where(dow == 6, 2, 0)
        t0 = d0 * _DAY + rng.integers(8 * 3600, 18 * 3600, n) - tz_off
        t0 = np.minimum(t0, self.cut - 7200 - rng.integers(0, _DAY, n))

        # how far it gets: each stage advances with its probability; the rep's skill shifts the last one
        logit = np.log(ADVANCE_P / (1 - ADVANCE_P))[None, :] + np.zeros((n, 4))
        logit[:, 3] += org.skill[rep0]
        logit[:, 2] += 0.5 * org.skill[rep0]
        adv = rng.random((n, 4)) < 1 / (1 + np.exp(-logit))
        reached = np.cumprod(adv, axis=1).sum(axis=1)  # 0..3: lost in stage reached; 4: won
        won = reached == 4

        # when: days in each stage (gamma), a slower death in the stage where it is lost
        days = rng.gamma(2.0, 1.0, (n, 4)) * STAGE_DAYS[None, :] * pace[:, None] / 2
        # (at least a day from creation to close, so the close date is never before the created date in any
        # time zone)
        days = np.maximum(days, 0.25)
        loss_days = np.maximum(rng.gamma(2.0, 1.0, n) * 1.1 * STAGE_DAYS[np.minimum(reached, 3)] * pace, 1.0)
        entry = np.zeros((n, 4), dtype=np.int64)  # entry into stage j (0 = Prospecting at t0)
        entry[:, 0] = t0
        entry[:, 1:] = t0[:, None] + np.cumsum(days[:, :3] * _DAY, axis=1).astype(np.int64)
        reach_entry = np.take_along_axis(entry, np.minimum(reached, 3)[:, None], axis=1)[:, 0]
        t_end = np.where(won, t0 + (days.sum(axis=1) * _DAY).astype(np.int64),
                         reach_entry + (loss_days * _DAY).astype(np.int64))
        closed = t_end < self.cut
        is_open = ~closed
        entered = (entry < self.cut) & (np.arange(4)[None, :] <= np.minimum(reached, 3)[:, None])
        cur = entered.sum(axis=1) - 1  # the current open stage (for open deals), 0..3
        stop = np.minimum(t_end, self.cut)  # the end of the deal's life so far

        # amounts: log-normal by segment, inside AMOUNT_RANGE; some unknown until Qualification
        med = SEGMENT_MEDIAN[seg]
        lo_a, hi_a = AMOUNT_RANGE[0] * med, AMOUNT_RANGE[1] * med
        a0 = np.clip(med * np.exp(SEGMENT_SIGMA[seg] * rng.standard_normal(n)), lo_a, hi_a)
        a1 = np.clip(a0 * rng.uniform(0.75, 1.3, n), lo_a, hi_a)
        a0c, a1c = _cents(a0), _cents(a1)
        a1c = np.where(a1c == a0c, a0c + 1000, a1c)
        null_first = (rng.random(n) < 0.12) & (reached >= 1)  # lost in Prospecting: the amount was known
        has_amount_change = rng.random(n) < 0.2

        # close dates: planned, pushed (more often when the deal runs late), closed, or lapsed and pushed
        pace_days = STAGE_DAYS.sum() * pace
        c0 = d0 + np.maximum(7, (pace_days * rng.uniform(0.55, 1.1, n))).astype(np.int64)
        late = stop > c0 * _DAY
        push_a = rng.random(n) < np.where(late, 0.6, 0.25)
        push_b = push_a & (rng.random(n) < np.where(late, 0.5, 0.2))
        tp = np.sort(rng.uniform(0, 1, (n, 2)), axis=1)
        t_pa = t0 + 1 + (tp[:, 0] * (stop - t0 - 2)).astype(np.int64)
        t_pb = t0 + 1 + (tp[:, 1] * (stop - t0 - 2)).astype(np.int64)
        t_pb = np.maximum(t_pb, t_pa + 1)
        cd_a = np.maximum(c0, t_pa // _DAY + 7) + rng.integers(7, 46, n)
        cd_b = np.maximum(cd_a, t_pb // _DAY + 7) + rng.integers(7, 46, n)
        cd_pre = np.where(push_b, cd_b, np.where(push_a, cd_a, c0))

        # amount change time: after the amount is known
        t_lo = np.where(null_first, entry[:, 1], t0)
        t_amt = t_lo + 1 + (rng.random(n) * np.maximum(stop - t_lo - 2, 0)).astype(np.int64)
        has_amount_change &= t_amt < stop

        # --- planted problems (at most one per deal) ---------------------------------------------------------
        taken = np.zeros(n, dtype=bool)
        everyone = np.ones(n, dtype=bool)
        amount_known = ~(null_first & is_open & (cur == 0))
        open_past_first = is_open & (cur >= 1)
        open_late = is_open & (cur >= 2)
        after_close_ok = closed & (t_end < self.cut - _DAY)
        p_missing = self._plant(rng, "missing_amount", open_past_first, open_past_first, taken)
        old_enough = t0 < self.now - 3 * _DAY  # room for a past close date after the created date
        p_cdpast = self._plant(rng, "past_close_date", is_open, is_open & old_enough, taken)
        p_cbc = self._plant(rng, "close_before_created", closed, closed, taken)
        p_prob = self._plant(rng, "probability_off_stage", is_open, is_open, taken)
        p_fc = self._plant(rng, "forecast_category_mismatch", everyone, everyone, taken)
        has_inactive = len(self.inactive) > 0
        p_inactive = self._plant(rng, "owner_inactive", is_open, is_open & has_inactive, taken)
        p_noowner = self._plant(rng, "owner_unknown", is_open, is_open, taken)
        p_dup = self._plant(rng, "duplicate_opportunity", everyone, (k % 2 == 1), taken)
        p_outlier = self._plant(rng, "amount_outlier", everyone, amount_known, taken)
        p_nonext = self._plant(rng, "late_stage_no_next_step", open_late, open_late, taken)
        p_after = self._plant(rng, "change_after_close", closed, after_close_ok, taken)
        p_neg = self._plant(rng, "negative_amount", everyone, amount_known, taken)

        # outliers: far above the segment median; negative amounts: the sign flipped on entry
        out_c = _cents(med * rng.uniform(15, 40, n))
        a0c = np.where(p_outlier, out_c, a0c)
        a1c = np.where(p_outlier, _cents(out_c / 100 * rng.uniform(0.95, 1.05, n)), a1c)
        a1c = np.where(p_outlier & (a1c == a0c), a0c + 1000, a1c)
        a0c = np.where(p_neg, -a0c, a0c)
        a1c = np.where(p_neg, -a1c, a1c)

        # --- the event table -----------------------------------------------------------------------------------
        big = np.iinfo(np.int64).max
        ev_t = np.full((n, N_SLOTS), big, dtype=np.int64)
        set_stage = np.full((n, N_SLOTS), _NOCHANGE, dtype=np.int64)
        set_amt = np.full((n, N_SLOTS), _NOCHANGE, dtype=np.int64)
        set_cd = np.full((n, N_SLOTS), _NOCHANGE, dtype=np.int64)
        set_prob = np.full((n, N_SLOTS), _NOCHANGE, dtype=np.int64)
        set_fc = np.full((n, N_SLOTS), _NOCHANGE, dtype=np.int64)

        for j in range(4):  # stage entries (slot j == stage j)
            ok = entered[:, j]
            ev_t[:, j] = np.where(ok, entry[:, j], big)
            set_stage[:, j] = j
            set_prob[:, j] = _NULL
            set_fc[:, j] = _NULL
        set_amt[:, S_CREATE] = np.where(null_first, _NULL, a0c)
        set_amt[:, S_QUAL] = np.where(null_first, a0c, _NOCHANGE)
        set_cd[:, S_CREATE] = c0
        missing_value = np.where(rng.random(n) < 0.5, _NULL, 0)
        set_amt[:, S_CREATE] = np.where(p_missing, missing_value, set_amt[:, S_CREATE])
        set_amt[:, S_QUAL] = np.where(p_missing, _NOCHANGE, set_amt[:, S_QUAL])
        has_amount_change &= ~p_missing

        # closing
        ev_t[:, S_CLOSE] = np.where(closed, t_end, big)
        set_stage[:, S_CLOSE] = np.where(won, 4, 5)
        set_cd[:, S_CLOSE] = np.where(p_cbc, t0 // _DAY - rng.integers(2, 31, n), t_end // _DAY)
        explicit_closed = rng.random(n) < 0.3
        set_prob[:, S_CLOSE] = np.where(explicit_closed, np.where(won, 100, 0), _NULL)
        set_fc[:, S_CLOSE] = np.where(explicit_closed, np.where(won, 4, 3), _NULL)

        # explicit probability / forecast category on the current stage of open deals
        rows = np.arange(n)
        cur_slot = np.maximum(cur, 0)
        explicit_open = is_open & (rng.random(n) < 0.15)
        default_p = STAGE_PROB[cur_slot]
        near = np.clip(default_p + rng.integers(-15, 16, n), 0, 100)
        off = np.where(default_p >= 50, default_p - rng.integers(30, 46, n), default_p + rng.integers(30, 51, n))
        prob_val = np.where(p_prob, off, np.where(explicit_open, near, _NULL))
        fc_val = np.where(explicit_open, STAGE_FC[cur_slot], _NULL)
        fc_val = np.where(p_fc & is_open, FORECAST.index("closed"), fc_val)
        set_prob[rows[is_open], cur_slot[is_open]] = prob_val[is_open]
        set_fc[rows[is_open], cur_slot[is_open]] = fc_val[is_open]
        wrong_closed_fc = np.where(won, FORECAST.index("pipeline"), FORECAST.index("commit"))
        set_fc[:, S_CLOSE] = np.where(p_fc & closed, wrong_closed_fc, set_fc[:, S_CLOSE])

        # pushes and the amount change
        ev_t[:, S_PUSH_A] = np.where(push_a, t_pa, big)
        set_cd[:, S_PUSH_A] = cd_a
        ev_t[:, S_PUSH_B] = np.where(push_b, t_pb, big)
        set_cd[:, S_PUSH_B] = cd_b
        ev_t[:, S_AMOUNT] = np.where(has_amount_change, t_amt, big)
        set_amt[:, S_AMOUNT] = a1c

        last_t = np.where(ev_t < big, ev_t, 0).max(axis=1)
        # an open deal whose date lapsed gets pushed (a day after it lapsed, or after its last change)
        lapsed = is_open & (cd_pre < self.today_day)
        lapse_fix = lapsed & ~p_cdpast
        lo_t = np.minimum(np.maximum(last_t + 60, (cd_pre + 1) * _DAY + 9 * 3600 - tz_off), self.horizon - 120)
        t_lapse = lo_t + (rng.random(n) * (self.horizon - lo_t)).astype(np.int64)
        target_cd = np.clip(t_end // _DAY, self.today_day + 3, self.today_day + 270)
        ev_t[:, S_LAPSE] = np.where(lapse_fix, t_lapse, big)
        set_cd[:, S_LAPSE] = target_cd
        # planted: an open deal whose date is in the past although nobody let it lapse
        edit_past = p_cdpast & ~lapsed
        t_edit = last_t + 60 + (rng.random(n) * np.maximum(self.horizon - last_t - 120, 0)).astype(np.int64)
        past_cd = np.maximum(t0 // _DAY + 2, self.today_day - rng.integers(1, 46, n))
        # planted: an amount change after the close, on a later UTC day than the close (the rule compares days)
        next_day = (t_end // _DAY + 1) * _DAY
        after_t = next_day + np.minimum(3600 + (rng.random(n) * 20 * _DAY).astype(np.int64),
                                        self.horizon - next_day - 60)
        final_amt_guess = np.where(has_amount_change, a1c, a0c)
        after_amt = final_amt_guess + np.maximum(_cents(np.abs(final_amt_guess) / 100 * 0.1), 1000)
        ev_t[:, S_EDIT] = np.where(edit_past, t_edit, np.where(p_after, after_t, big))
        set_cd[:, S_EDIT] = np.where(edit_past, past_cd, _NOCHANGE)
        set_amt[:, S_EDIT] = np.where(p_after, after_amt, _NOCHANGE)

        # --- sort each deal's events by time, forward-fill the state ---------------------------------------
        order = np.argsort(ev_t, axis=1, kind="stable")
        ev_t = np.take_along_axis(ev_t, order, axis=1)
        valid = ev_t < big
        n_ev = valid.sum(axis=1)
        filled = {}
        sets = {"stage": set_stage, "amount": set_amt, "cd": set_cd, "prob": set_prob, "fc": set_fc}
        for name, values in sets.items():
            values = np.take_along_axis(values, order, axis=1)
            pos = np.where(values != _NOCHANGE, np.arange(N_SLOTS)[None, :], 0)
            pos = np.maximum.accumulate(pos, axis=1)
            filled[name] = np.take_along_axis(values, pos, axis=1)
            if name == "stage":
                stage_pos = pos
        last = n_ev - 1
        fin = {name: v[rows, last] for name, v in filled.items()}
        stage_entered = ev_t[rows, stage_pos[rows, last]]
        updated = ev_t[rows, last]

        # no deal may look like a duplicate by (account, amount, close date) unless planted as one: nudge the
        # amount of the later ones by 10 (a planted zero amount becomes a missing one instead)
        for _ in range(3):
            amt = fin["amount"]
            ix = np.flatnonzero(amt != _NULL)
            srt = ix[np.lexsort((fin["cd"][ix], amt[ix], acc[ix]))]
            same = np.zeros(len(srt), dtype=bool)
            if len(srt) > 1:
                same[1:] = ((acc[srt[1:]] == acc[srt[:-1]]) & (amt[srt[1:]] == amt[srt[:-1]])
                            & (fin["cd"][srt[1:]] == fin["cd"][srt[:-1]]))
            bump = srt[same]
            if len(bump) == 0:
                break
            col = filled["amount"][bump]
            zero = (amt[bump] == 0)[:, None]
            filled["amount"][bump] = np.where(zero, np.where(col == 0, _NULL, col),
                                              np.where(col > _NULL, col + 1000, col))
            fin["amount"] = filled["amount"][rows, last]

        # --- owner ----------------------------------------------------------------------------------------------
        repl = org.replacement[rep0]
        left = (repl >= 0) & (t_end >= org.leave_day[rep0] * _DAY)
        owner = np.where(left, repl, rep0)
        actor = owner.copy()
        if has_inactive:
            same_seg = [self.inactive[org.segment[self.inactive] == s] for s in range(3)]
            pick_any = self.inactive[rng.integers(0, len(self.inactive), n)]
            pick = pick_any.copy()
            for s in range(3):
                if len(same_seg[s]):
                    m = seg == s
                    pick[m] = same_seg[s][rng.integers(0, len(same_seg[s]), int(m.sum()))]
            owner = np.where(p_inactive, pick, owner)
        owner = np.where(p_noowner, -1, owner)

        # won per owner and quarter, for the quotas
        q = np.searchsorted(self.q_days, fin["cd"], side="right") - 1
        wm = won & (owner >= 0) & (q >= 0) & (q < self.won.shape[1]) & (fin["amount"] > _NULL)
        np.add.at(self.won, (owner[wm], q[wm]), fin["amount"][wm] / 100)

        # --- activities: denser on live deals, thinning out on deals that die ---------------------------------
        life_full = np.maximum(t_end - t0, 3600)
        lam = (life_full / _DAY) / 5.0 * org.level[actor] * np.where(won, 1.0, 0.55)
        n_act = np.minimum(rng.poisson(np.minimum(lam, 40)), 25)
        act_deal = np.repeat(rows, n_act)
        ua = rng.random(len(act_deal))
        shape = np.where(won[act_deal], 0.8, 2.2)  # lost deals: activity bunched early, then silence
        at = t0[act_deal] + (ua ** shape * life_full[act_deal]).astype(np.int64)
        # working hours in the rep's zone where that stays inside the deal's life
        off = tz_off[act_deal]
        local_day = (at + off) // _DAY
        shifted = local_day * _DAY + rng.integers(8 * 3600, 18 * 3600, len(at)) - off
        upper = np.minimum(t_end, self.cut)[act_deal]
        at = np.where((shifted > t0[act_deal]) & (shifted < upper), shifted, at)
        keep = at < upper
        act_deal, at = act_deal[keep], at[keep]
        srt = np.lexsort((at, act_deal))
        act_deal, at = act_deal[srt], at[srt]
        kind = rng.choice(5, size=len(at), p=ACTIVITY_KIND_P)
        subj = rng.integers(0, 3, len(at))
        last_act = np.full(n, -1, dtype=np.int64)
        if len(at):
            ends = np.flatnonzero(np.r_[act_deal[1:] != act_deal[:-1], True])
            last_act[act_deal[ends]] = at[ends]

        # --- currencies: whole accounts in EUR or IDR (amounts in history too); planted: deals in CHF, no rate ---
        crng = np.random.default_rng([self.seed, 4, self.chunk_no])  # its own stream: the rest stays as it was
        slot = acc % ACCOUNTS_PER_CURRENCY
        code = np.full(n, self.currency, dtype="S3")
        has_amount = (fin["amount"] > _NULL) & (fin["amount"] != 0)
        p_norate = self._plant(crng, "missing_exchange_rate", everyone,
                               has_amount & ~np.isin(slot, list(FOREIGN_ACCOUNTS)), taken)
        code = np.where(p_norate, NO_RATE_CURRENCY.encode(), code)
        day = np.where(closed, fin["cd"], self.today_day)
        for s, c in FOREIGN_ACCOUNTS.items():
            if c.encode() == self.currency:
                continue
            mine = slot == s
            code = np.where(mine, c.encode(), code)
            rate = _rates_on(c, day, self.today_day)
            fin["amount"] = np.where(mine, _in_currency(fin["amount"], rate), fin["amount"])
            filled["amount"] = np.where(mine[:, None], _in_currency(filled["amount"], rate[:, None]),
                                        filled["amount"])

        # --- columns -----------------------------------------------------------------------------------------
        ids = idx + 1
        name_k = np.where(p_dup, k - 1, k)
        combo = (ac.name_offset[acc] + 7 * name_k) % 25
        suffix = np.where(name_k >= 25, np.strings.add(b" (", np.strings.add((name_k // 25 + 1).astype("S"), b")")),
                          b"")
        names = np.strings.add(np.strings.add(ac.names[acc], self.combo_names[combo]), suffix)
        names = np.where(p_dup & (rng.random(n) < 0.5), np.strings.lower(names), names)  # typed in again
        fin_stage = fin["stage"]
        next_choice = rng.integers(0, 3, n)
        steps = np.array([[s.encode() for s in row] for row in NEXT_STEPS])
        next_step = steps[np.minimum(cur_slot, 3), next_choice]
        # early deals often have no next step yet, but not one planted with a probability far above its stage's:
        # at 50% or more it counts as late stage, and the deal would carry a second problem
        no_next = closed | p_nonext | ((cur <= 1) & ~p_prob & (rng.random(n) < 0.3))
        loss = np.array(LOSS_REASONS, dtype="S")[rng.integers(0, len(LOSS_REASONS), n)]
        amt = fin["amount"]
        prob = fin["prob"]
        fc = fin["fc"]
        opp_cols = [
            ("id", INT, ids, None),
            ("external_id", TEXT, _ids_with_prefix(b"OPP-", ids, self.opp_digits), None),
            ("name", TEXT, names, None),
            ("account_id", INT, acc + 1, None),
            ("owner_id", INT, owner + 1, owner < 0),
            ("stage", TEXT, np.array(STAGE_NAMES, dtype="S")[fin_stage], None),
            ("amount", MONEY, amt, amt == _NULL),
            ("currency", TEXT, code, None),
            ("probability", INT, prob, prob == _NULL),
            ("forecast_category", TEXT, np.array(FORECAST, dtype="S")[np.maximum(fc, 0)], fc == _NULL),
            ("created_at", TS, t0, None),
            ("close_date", DATE, fin["cd"], None),
            ("closed_at", TS, t_end, ~closed),
            ("stage_entered_at", TS, stage_entered, None),
            ("last_activity_at", TS, last_act, last_act < 0),
            ("next_step", TEXT, next_step, no_next),
            ("product", TEXT, np.array(PRODUCTS, dtype="S")[combo % 5], None),
            ("source", TEXT, np.array(SOURCES, dtype="S")[rng.integers(0, len(SOURCES), n)], None),
            ("loss_reason", TEXT, loss, ~(closed & ~won)),
            ("updated_at", TS, updated, None),
        ]

        h_deal, h_slot = np.nonzero(valid)  # row-major: deal by deal, in time order
        nh = len(h_deal)
        h_ids = np.arange(self.next_hist_id, self.next_hist_id + nh)
        self.next_hist_id += nh
        h_amt = filled["amount"][h_deal, h_slot]
        h_prob = filled["prob"][h_deal, h_slot]
        h_fc = filled["fc"][h_deal, h_slot]
        hist_cols = [
            ("id", INT, h_ids, None),
            ("opportunity_id", INT, ids[h_deal], None),
            ("changed_at", TS, ev_t[h_deal, h_slot], None),
            ("stage", TEXT, np.array(STAGE_NAMES, dtype="S")[filled["stage"][h_deal, h_slot]], None),
            ("amount", MONEY, h_amt, h_amt == _NULL),
            ("close_date", DATE, filled["cd"][h_deal, h_slot], None),
            ("probability", INT, h_prob, h_prob == _NULL),
            ("forecast_category", TEXT, np.array(FORECAST, dtype="S")[np.maximum(h_fc, 0)], h_fc == _NULL),
        ]

        na = len(at)
        a_ids = np.arange(self.next_act_id, self.next_act_id + na)
        self.next_act_id += na
        subjects = np.array([[s.encode() for s in row] for row in ACTIVITY_SUBJECTS])
        act_cols = [
            ("id", INT, a_ids, None),
            ("opportunity_id", INT, ids[act_deal], None),
            ("account_id", INT, acc[act_deal] + 1, None),
            ("rep_id", INT, actor[act_deal] + 1, None),
            ("kind", TEXT, np.array(ACTIVITY_KINDS, dtype="S")[kind], None),
            ("subject", TEXT, subjects[kind, subj], None),
            ("occurred_at", TS, at, None),
        ]
        return opp_cols, hist_cols, act_cols

    # quotas ------------------------------------------------------------------------------------------------------

    def quotas(self, rng: np.random.Generator):
        """Quarterly quotas for every rep: the segment's average won per rep over the past four quarters, +15%,
        varied per rep. Inactive reps have quotas for the quarters that started before they left."""
        org = self.org
        sellers = np.flatnonzero(org.is_seller)
        active = sellers[org.active[sellers]]
        base = np.zeros(3)
        for s in range(3):
            members = active[org.segment[active] == s]
            avg = self.won[members, :4].mean() if len(members) else 0.0
            base[s] = max(avg * 1.15, SEGMENT_MEDIAN[s] * 2)
        rep_col, start_col, end_col, amt_col = [], [], [], []
        factor = rng.uniform(0.85, 1.15, org.n)
        for q in range(len(self.q_days) - 1):
            for i in sellers:
                if self.q_days[q] >= org.leave_day[i]:
                    continue
                if q == 4 and org.no_quota[i]:
                    continue
                rep_col.append(i + 1)
                start_col.append(self.q_days[q])
                end_col.append(self.q_days[q + 1] - 1)
                amt_col.append(round(base[org.segment[i]] * factor[i] * (1.05 if q >= 4 else 1.0), -3))
        nq = len(rep_col)
        cols = [
            ("id", INT, np.arange(1, nq + 1), None),
            ("rep_id", INT, np.array(rep_col, dtype=np.int64), None),
            ("period_start", DATE, np.array(start_col, dtype=np.int64), None),
            ("period_end", DATE, np.array(end_col, dtype=np.int64), None),
            ("amount", MONEY, np.array(amt_col, dtype=np.int64) * 100, None),
        ]
        return cols, nq


def _rate_rows(today: date, org_currency: str) -> list[dict]:
    """DEMO_RATES as rows (none for the org's own currency: it needs no rate)."""
    return [{"currency": code, "rate": Decimal(rate), "valid_from": today + timedelta(days=first),
             "valid_to": None if last is None else today + timedelta(days=last)}
            for code, rate, first, last in DEMO_RATES if code != org_currency]


def _rates_on(code: str, days: np.ndarray, today_day: int) -> np.ndarray:
    """The DEMO_RATES rate of `code` on each day (days since the epoch), as floats of the exact decimals."""
    out = np.zeros(len(days))
    for c, rate, first, last in DEMO_RATES:
        if c == code:
            hi = np.iinfo(np.int64).max if last is None else today_day + last
            out = np.where((days >= today_day + first) & (days <= hi), float(rate), out)
    return out


def _in_currency(cents: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Org-currency cents times the rate, rounded half-even to the cent (sentinels left alone)."""
    special = cents <= _NULL
    return np.where(special, cents, np.rint(np.where(special, 0, cents) * rate).astype(np.int64))


def _cents(x: np.ndarray) -> np.ndarray:
    """Whole currency units, as cents."""
    return np.rint(x).astype(np.int64) * 100


# --- writers -------------------------------------------------------------------------------------------------

_BIG_TABLES = (opportunities, opportunity_history, activities)
_ALL_SALES_ORDER = ("activities", "opportunity_history", "opportunities", "quotas", "accounts", "reps", "stages",
                    "exchange_rates")


class _SQLiteWriter:
    def __init__(self, conn):
        self.conn = conn
        self.raw = conn.connection.driver_connection

    def clear(self) -> None:
        for t in reversed(BOT_TABLES):
            self.conn.execute(t.delete())
        for name in _ALL_SALES_ORDER:
            self.conn.execute(text(f"DELETE FROM {name}"))

    def before_load(self) -> None:
        pass

    def after_load(self) -> None:
        pass

    def write(self, table: str, columns) -> None:
        if len(columns[0][2]) == 0:
            return
        lists = [_sqlite_values(kind, values, nulls) for _, kind, values, nulls in columns]
        names = ", ".join(c[0] for c in columns)
        marks = ", ".join("?" for _ in columns)
        cur = self.raw.cursor()
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", zip(*lists, strict=True))
        cur.close()


def _sqlite_values(kind: str, values: np.ndarray, nulls) -> list:
    if kind == INT:
        out = values.tolist()
    elif kind == BOOL:
        out = values.astype(np.int64).tolist()
    elif kind == MONEY:
        out = (values / 100).tolist()
    elif kind == TEXT:
        out = values.astype("U").tolist()
    elif kind == DATE:
        safe = np.where(nulls, 0, values) if nulls is not None else values
        out = np.datetime_as_string(safe.astype("datetime64[D]")).tolist()
    elif kind == TS:
        safe = np.where(nulls, 0, values) if nulls is not None else values
        s = np.datetime_as_string(safe.astype("datetime64[s]"))
        out = np.strings.add(np.strings.replace(s, "T", " "), ".000000").tolist()
    else:
        raise ValueError(kind)
    if nulls is not None and nulls.any():
        for i in np.flatnonzero(nulls).tolist():
            out[i] = None
    return out


class _PostgresWriter:
    def __init__(self, conn):
        self.conn = conn
        self.raw = conn.connection.driver_connection

    def clear(self) -> None:
        names = ", ".join([*_ALL_SALES_ORDER, *(t.name for t in BOT_TABLES)])
        self.conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    def _big_constraints(self):
        fks = [fk for t in _BIG_TABLES for fk in t.foreign_key_constraints]
        ixs = [ix for t in _BIG_TABLES for ix in t.indexes if not ix.unique]
        return fks, ixs

    def before_load(self) -> None:
        self.conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        self.conn.execute(text("SET LOCAL synchronous_commit = off"))
        fks, ixs = self._big_constraints()
        for fk in fks:
            self.conn.execute(DropConstraint(fk))
        for ix in ixs:
            self.conn.execute(DropIndex(ix))

    def after_load(self) -> None:
        fks, ixs = self._big_constraints()
        for ix in ixs:
            self.conn.execute(CreateIndex(ix))
        for fk in fks:
            self.conn.execute(AddConstraint(fk))
        for name in ("reps", "accounts", "opportunities", "opportunity_history", "activities", "quotas"):
            self.conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "
                f"FROM {name}"
            ))

    def write(self, table: str, columns) -> None:
        if len(columns[0][2]) == 0:
            return
        names = ", ".join(c[0] for c in columns)
        data = _pg_binary(columns)
        with self.raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_PG_SIGNATURE)
            copy.write(data)
            copy.write(b"\xff\xff")


_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PG_EPOCH_DAYS = (date(2000, 1, 1) - _EPOCH).days


def _pg_binary(columns) -> bytes:
    """The tuples of a binary COPY, built column-wise: each field is a fixed-width block (length word + data,
    padded); a mask drops the padding, so the result is every row's fields back to back."""
    n = len(columns[0][2])
    blocks = [np.broadcast_to(np.frombuffer(np.array([len(columns)], dtype=">i2").tobytes(), np.uint8), (n, 2))]
    masks = [np.ones((n, 2), dtype=bool)]
    for _, kind, values, nulls in columns:
        if kind == TEXT:
            values = np.asarray(values)
            width = max(values.dtype.itemsize, 1)
            data = np.frombuffer(values.astype(f"S{width}").tobytes(), np.uint8).reshape(n, width)
            length = np.strings.str_len(values).astype(np.int64)
        else:
            if kind == INT:
                data = values.astype(">i4")
            elif kind == BOOL:
                data = values.astype(np.uint8)
            elif kind == DATE:
                data = (values - _PG_EPOCH_DAYS).astype(">i4")
            elif kind == TS:
                data = ((values - _PG_EPOCH_DAYS * _DAY) * 1_000_000).astype(">i8")
            elif kind == MONEY:
                data = _pg_numeric(values)
            else:
                raise ValueError(kind)
            data = np.ascontiguousarray(data).view(np.uint8).reshape(n, -1)
            length = np.full(n, data.shape[1], dtype=np.int64)
        if nulls is not None:
            length = np.where(nulls, -1, length)
        header = length.astype(">i4").view(np.uint8).reshape(n, 4)
        blocks.append(np.concatenate([header, data], axis=1))
        used = 4 + np.maximum(length, 0)
        masks.append(np.arange(4 + data.shape[1])[None, :] < used[:, None])
    full = np.concatenate(blocks, axis=1)
    mask = np.concatenate(masks, axis=1)
    return full[mask].tobytes()


def _pg_numeric(cents: np.ndarray) -> np.ndarray:
    """NUMERIC binary form for amounts in cents: 5 base-10000 digits (4 whole, 1 fraction), scale 2."""
    n = len(cents)
    neg = cents < 0
    m = np.abs(np.where(cents <= _NULL, 0, cents))
    whole, frac = m // 100, m % 100
    out = np.empty((n, 9), dtype=">i2")
    out[:, 0] = 5  # ndigits
    out[:, 1] = 3  # weight of the first digit: 10000^3
    out[:, 2] = np.where(neg, 0x4000, 0)  # sign
    out[:, 3] = 2  # display scale
    for j in range(4):
        out[:, 4 + j] = (whole // 10000 ** (3 - j)) % 10000
    out[:, 8] = frac * 100
    return out


# --- progress ------------------------------------------------------------------------------------------------


class _Progress:
    """`\\r  deals 340,000/1,000,000 [#####     ] 34%` on stderr, when it is a terminal and asked for."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.last_time = -1.0
        self.last_done = -1
        self.width = 0

    def _put(self, line: str) -> None:
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def update(self, done: int) -> None:
        if not self.enabled or self.total <= 0 or done == self.last_done:
            return
        now = time.monotonic()
        if done < self.total and now - self.last_time < 0.2:
            return
        self.last_time, self.last_done = now, done
        frac = done / self.total
        filled = int(frac * 30)
        self._put(f"  deals {done:,}/{self.total:,} [{'#' * filled}{' ' * (30 - filled)}] {frac:4.0%}")

    def done(self) -> None:
        self.update(self.total)

    def note(self, what: str) -> None:
        if self.enabled:
            self._put(f"  {what}...")

    def clear(self) -> None:
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
