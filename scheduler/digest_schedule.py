"""When a digest is due: per-person subscriptions (`bot_subscriptions`), local send instants, weekdays, pauses.

Who gets what (DESIGN §6):
- a manager (role `manager`) gets the morning digest (kind `digest`) on weekdays (Mon–Fri, their local date);
- an exec (role `exec`) gets the weekly exec digest (kind `exec_digest`) on Mondays.

Both go out at DIGEST_TIME (default 08:00) in the person's own time zone unless they chose another time
(`/sales digest time 07:30`). The local send instant is `datetime.combine(local_date, time, tzinfo=ZoneInfo)`
converted to UTC, so daylight-saving changes move it by an hour in UTC and not in local time.

A digest is *due* once its send instant has passed on its local day. A late one (the bot was down) still goes
out that day, except during quiet hours (QUIET_HOURS, default 20:00-07:00): a stale morning digest at 11 pm
helps nobody. Each delivery is keyed `Delivery(kind, str(rep_id), local_date.isoformat())` in the ledger, so
checking "due" again on every tick cannot send twice.

Subscriptions: no row means "on, at DIGEST_TIME". `paused_until` is the last local date that is skipped
(inclusive); `enabled` false is "off".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from config import Settings
from db.schema import bot_subscriptions
from errors import UserError
from i18n import N_, _
from render.format import day_heading, day_text
from scheduler.ledger import Delivery

DIGEST_KINDS = {"manager": "digest", "exec": "exec_digest"}  # role → subscription / ledger kind
KIND_LABELS = {"digest": N_("morning digest"), "exec_digest": N_("weekly exec digest")}
LATE_GRACE = timedelta(minutes=30)  # a digest this late is "late": held during quiet hours
MAX_PAUSE_DAYS = 366
_HHMM = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Subscription:
    enabled: bool = True
    send_time: str | None = None  # "HH:MM", None = DIGEST_TIME
    paused_until: date | None = None  # last local date skipped (inclusive)


def parse_hhmm(text: str) -> time:
    """`07:30`, `7:30`, `7.30`, `7h30`, `7am`, `7:30 pm`, `19` → a time; anything else a UserError."""
    m = _HHMM.match(text or "")
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        ampm = (m.group(3) or "").lower().replace(".", "")
        if ampm:
            if not 1 <= hour <= 12:
                hour = 99
            else:
                hour = hour % 12 + (12 if ampm == "pm" else 0)
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return time(hour, minute)
    raise UserError(_("I couldn't read “{text}” as a time of day. Try `07:30`, `7am` or `17:45`.").format(
        text=text.strip()))


def default_send_time(settings: Settings) -> time:
    try:
        return parse_hhmm(settings.digest_time)
    except UserError:
        return time(8, 0)


def quiet_hours(settings: Settings) -> tuple[time, time] | None:
    """QUIET_HOURS `20:00-07:00` → (start, end); empty or unreadable → None (no quiet hours)."""
    start, sep, end = (settings.quiet_hours or "").partition("-")
    if not sep:
        return None
    try:
        return parse_hhmm(start), parse_hhmm(end)
    except UserError:
        return None


def in_quiet_hours(local: time, settings: Settings) -> bool:
    window = quiet_hours(settings)
    if window is None:
        return False
    start, end = window
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def send_instant(local_date: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of `at` on `local_date` in `tz` (DST-correct; a time inside a spring-forward gap is read
    with the offset before the change, e.g. 02:30 → 03:30 local)."""
    return datetime.combine(local_date, at, tzinfo=tz).astimezone(UTC)


def is_send_day(kind: str, local_date: date) -> bool:
    if kind == "exec_digest":
        return local_date.weekday() == 0
    return local_date.weekday() < 5


def next_send_day(kind: str, after: date) -> date:
    d = after
    for _step in range(8):
        d += timedelta(days=1)
        if is_send_day(kind, d):
            return d
    return d


def delivery_key(kind: str, rep_id: int, local_date: date) -> Delivery:
    return Delivery(kind, str(rep_id), local_date.isoformat())


# ---------------------------------------------------------------------------------------------------------------
# subscriptions


def load_subscriptions(conn: Connection, kinds: tuple[str, ...] = tuple(DIGEST_KINDS.values()),
                       rep_ids: list[int] | None = None) -> dict[tuple[int, str], Subscription]:
    """(rep id, kind) → Subscription for the rows that exist (no row = the default)."""
    query = select(bot_subscriptions).where(bot_subscriptions.c.kind.in_(kinds))
    if rep_ids is not None:
        query = query.where(bot_subscriptions.c.rep_id.in_(rep_ids))
    return {(r.rep_id, r.kind): Subscription(bool(r.enabled), r.send_time, r.paused_until)
            for r in conn.execute(query)}


def get_subscription(conn: Connection, rep_id: int, kind: str) -> Subscription:
    return load_subscriptions(conn, (kind,), [rep_id]).get((rep_id, kind), Subscription())


def save_subscription(conn: Connection, rep_id: int, kind: str, now: datetime, **values) -> Subscription:
    """Upsert the person's row with `values` (enabled, send_time, paused_until) on `conn` (caller commits)."""
    where = (bot_subscriptions.c.rep_id == rep_id) & (bot_subscriptions.c.kind == kind)
    values = {**values, "updated_at": now}
    if not conn.execute(update(bot_subscriptions).where(where).values(**values)).rowcount:
        try:
            with conn.begin_nested():
                conn.execute(insert(bot_subscriptions).values(rep_id=rep_id, kind=kind, **values))
        except IntegrityError:  # a concurrent first write: the row exists now
            conn.execute(update(bot_subscriptions).where(where).values(**values))
    return get_subscription(conn, rep_id, kind)


def save_subscription_engine(engine: Engine, rep_id: int, kind: str, now: datetime, **values) -> Subscription:
    with engine.begin() as conn:
        return save_subscription(conn, rep_id, kind, now, **values)


# ---------------------------------------------------------------------------------------------------------------
# planning one person's digest


@dataclass(frozen=True)
class Slot:
    """One person's digest for one local date, and whether it goes out (`skip` None) or why not."""

    rep_id: int
    kind: str
    tz: ZoneInfo
    local_date: date
    send_at: datetime  # UTC
    key: Delivery
    skip: str | None = None  # None = due; else the reason ("weekend", "off", "paused until …", "not yet", …)
    skip_text: str | None = None  # the reason in the language being spoken (the CLI's DEFAULT_LOCALE)

    @property
    def due(self) -> bool:
        return self.skip is None


def plan_slot(rep_id: int, kind: str, tz: ZoneInfo, sub: Subscription, settings: Settings, now: datetime, *,
              day: date | None = None, whenever: bool = False) -> Slot:
    """Is this person's digest of `day` (default: their local today) due at `now`?

    `whenever` (the CLI's `--all` / `--to`): any time of that day will do (catch-up); the weekday rule,
    `off` and pauses still apply.
    """
    local_now = now.astimezone(tz)
    local_date = day or local_now.date()
    at = parse_hhmm(sub.send_time) if sub.send_time else default_send_time(settings)
    send_at = send_instant(local_date, at, tz)
    slot = Slot(rep_id, kind, tz, local_date, send_at, delivery_key(kind, rep_id, local_date))

    def skipped(reason: str, text: str) -> Slot:
        """Skipped: `reason` in English (the data: --json, the counts), `text` for people."""
        return Slot(rep_id, kind, tz, local_date, send_at, slot.key, reason, text)

    if not is_send_day(kind, local_date):
        if kind == "exec_digest":
            return skipped("not a Monday", _("not a Monday"))
        return skipped("weekend", _("weekend"))
    if not sub.enabled:
        return skipped("turned off", _("turned off"))
    if sub.paused_until is not None and local_date <= sub.paused_until:
        return skipped(f"paused until {sub.paused_until:%a %b %-d}",
                       _("paused until {day}").format(day=day_text(sub.paused_until)))
    if whenever:
        return slot
    if now < send_at:
        at_time = f"{send_at.astimezone(tz):%H:%M %Z}"
        return skipped(f"not yet (at {at_time})", _("not yet (at {time})").format(time=at_time))
    if day is None and now - send_at > LATE_GRACE and in_quiet_hours(local_now.time(), settings):
        return skipped("late and inside quiet hours", _("late and inside quiet hours"))
    return slot


def describe(sub: Subscription, kind: str, settings: Settings, tz: ZoneInfo, now: datetime) -> list[str]:
    """Sentences for `/sales digest`: what is set and when the next one goes out."""
    at = parse_hhmm(sub.send_time) if sub.send_time else default_send_time(settings)
    state = (_("Your {label}: on, {days} at {time} ({zone}){default}.") if sub.enabled else
             _("Your {label}: off, {days} at {time} ({zone}){default}."))
    days = _("Mondays") if kind == "exec_digest" else _("weekdays")
    lines = [state.format(label=_(KIND_LABELS[kind]), days=days, time=f"{at:%H:%M}", zone=tz.key,
                          default="" if sub.send_time else _(" — the default"))]
    today = now.astimezone(tz).date()
    if sub.enabled and sub.paused_until is not None and sub.paused_until >= today:
        lines.append(_("Paused through {day}.").format(day=day_heading(sub.paused_until)))
    nxt = next_send(sub, kind, settings, tz, now)
    if nxt is not None:
        local = nxt.astimezone(tz)
        lines.append(_("Next one: {day} at {time} {zone}.").format(day=day_heading(local.date()),
                                                                  time=f"{local:%H:%M}", zone=local.tzname()))
    return lines


def next_send(sub: Subscription, kind: str, settings: Settings, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The next send instant at or after `now` (ignoring whether today's went out already), or None when off."""
    if not sub.enabled:
        return None
    d = now.astimezone(tz).date()
    for _step in range(MAX_PAUSE_DAYS + 10):
        slot = plan_slot(0, kind, tz, sub, settings, now, day=d, whenever=True)
        if slot.due and slot.send_at >= now:
            return slot.send_at
        d += timedelta(days=1)
    return None


# ---------------------------------------------------------------------------------------------------------------
# `/sales digest …`

# Days or weeks, in English, Indonesian ("5 hari", "2 minggu") and Italian ("5 giorni", "2 settimane").
_PAUSE = re.compile(r"^(\d{1,3})\s*(d|day|days|h|hari|g|gg|giorno|giorni|w|wk|wks|week|weeks|mgg|minggu|pekan|"
                    r"sett|settimana|settimane)?$", re.IGNORECASE)
_WEEKS = ("w", "mgg", "minggu", "pekan", "sett")
DIGEST_HELP = N_("Try `/sales digest` (your settings), `time 07:30`, `pause 5d` (or `pause 2w`, `pause until "
                 "2026-03-20`), `off`, `on` or `preview`.")
# The settings' words in English, Indonesian and Italian.
DIGEST_WORDS = {
    "status": ("", "status", "settings", "show", "pengaturan", "setelan", "impostazioni", "stato"),
    "preview": ("preview", "show preview", "test", "pratinjau", "contoh", "anteprima", "prova"),
    "off": ("off", "stop", "disable", "unsubscribe", "mati", "matikan", "berhenti", "nonaktifkan", "spento",
            "spegni", "disattiva", "basta"),
    "on": ("on", "start", "enable", "resume", "unpause", "subscribe", "nyala", "nyalakan", "aktifkan", "lanjutkan",
           "acceso", "accendi", "attiva", "riattiva", "riprendi"),
    "time": ("time", "at", "jam", "pukul", "waktu", "ora", "orario", "alle"),
    "pause": ("pause", "jeda", "tunda", "pausa", "sospendi"),
}
UNTIL_WORDS = ("until", "till", "to ", "sampai", "hingga", "fino")


@dataclass(frozen=True)
class DigestCommand:
    action: str  # status | time | pause | off | on | preview
    at: time | None = None
    paused_until: date | None = None  # last day skipped (inclusive)


def parse_digest_command(args: str, today: date, until: date | None = None) -> DigestCommand:
    """The words after `/sales digest`. `until` is a date the request parser already found ("until Mar 20")."""
    words = (args or "").strip()
    low = words.lower()
    if low.startswith("digest"):
        low, words = low[6:].strip(), words[6:].strip()
    for action in ("status", "preview", "off", "on"):
        if low in DIGEST_WORDS[action]:
            return DigestCommand(action)
    head, _sep, rest = low.partition(" ")
    if head in DIGEST_WORDS["time"]:
        if not rest.strip():
            raise UserError(_("What time? For example `/sales digest time 07:30`."))
        return DigestCommand("time", at=parse_hhmm(rest))
    if head in DIGEST_WORDS["pause"]:
        return DigestCommand("pause", paused_until=_paused_until(rest.strip(), today, until))
    raise UserError(_("I don't know the digest setting “{words}”.").format(words=words) + " " + _(DIGEST_HELP))


def _paused_until(rest: str, today: date, until: date | None) -> date:
    """The last day a pause skips: "5d", "2 minggu", "3 settimane", or "until D" (D has a digest again)."""
    if rest.startswith(UNTIL_WORDS) or until is not None:
        if until is None:
            raise UserError(_("Until when? For example `/sales digest pause until 2026-03-20`."))
        last = until - timedelta(days=1)
        if last < today:
            raise UserError(_("{day} is not after today, so there is nothing to pause.").format(
                day=day_text(until, weekday=False, year=True)))
        if (last - today).days > MAX_PAUSE_DAYS:
            raise UserError(_("A pause can last up to a year. For longer, use `/sales digest off`."))
        return last
    m = _PAUSE.match(re.sub(r"^(?:for|selama|per)\s+", "", rest).strip())
    if not m:
        raise UserError(_("How long? For example `/sales digest pause 5d`, `pause 2w` or `pause until 2026-03-20`."))
    n = int(m.group(1)) * (7 if (m.group(2) or "d").lower().startswith(_WEEKS) else 1)
    if n < 1 or n > MAX_PAUSE_DAYS:
        raise UserError(_("A pause can last from 1 day to a year. For longer, use `/sales digest off`."))
    return today + timedelta(days=n - 1)
