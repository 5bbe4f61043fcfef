"""The one step that looks a reading's names up: who "dana", "EMEA Sales" or "me" is, for the asker.

`python bot.py parse` and the answer path both call `read_question`, so what `parse` prints is what the answer
uses. Names the grammar could not place are tried against the people and teams here; what matches nothing is
reported as unknown (or, when it was clearly meant as a name, as a sentence), never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from assistant.grammar import Request, parse_request
from errors import UserError
from metrics.periods import Period, PeriodError, parse_period
from metrics.scopes import AmbiguousScope, Scope, ScopeError, Viewer, check_scope, default_scope, identify_scope

# The period an intent answers for when none is asked (deal lists with a sort, a limit or an amount filter look
# at the quarter: "top 5 deals" this week is often empty).
DEFAULT_PERIODS = {"deals": "this week", "changes": "the last 24 hours"}
NO_PERIOD = ("stalled", "integrity", "help", "settings", "digest", "deal", "call", "calls")
NO_SCOPE = ("help", "settings", "digest", "deal", "integrity", "call")


@dataclass
class ScopeReading:
    """Whose numbers: kind me | rep | team | org (or unknown), a name to show, and the Scope or why not."""

    kind: str
    name: str
    scope: Scope | None = None
    error: UserError | None = None

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "name": self.name}
        if self.error is not None:
            out["problem"] = str(self.error)
        return out

    def require(self) -> Scope:
        if self.error is not None:
            raise self.error
        assert self.scope is not None
        return self.scope


@dataclass
class Reading:
    """A question as the bot will answer it: the grammar's Request with names and default period resolved."""

    request: Request
    scope: ScopeReading | None
    period: Period | None
    compare_scope: ScopeReading | None = None
    unknown: list[str] = field(default_factory=list)

    @property
    def period_given(self) -> bool:
        return self.request.period is not None

    @property
    def understood(self) -> bool:
        r = self.request
        return r.intent != "help" or r.understood_anything or not self.unknown

    @property
    def confidence(self) -> float:
        r = self.request
        if r.intent == "help" and self.unknown:
            return 0.1
        score = 1.0 - 0.2 * len(r.notes) - 0.15 * len(self.unknown)
        if r.problem or (self.scope is not None and isinstance(self.scope.error, ScopeError)):
            score -= 0.3
        return round(min(1.0, max(0.0, score)), 2)

    def to_dict(self) -> dict:
        r = self.request
        compare = None
        if r.compare is not None and r.compare.kind == "period" and r.compare.period is not None:
            compare = {"kind": "period", "period": r.compare.period.to_dict()}
        elif self.compare_scope is not None:
            compare = {"kind": "scope", "scope": self.compare_scope.to_dict()}
        period = None
        if self.period is not None:
            period = self.period.to_dict() | {"default": not self.period_given}
        return {
            "intent": r.intent, "metric": r.metric,
            "scope": self.scope.to_dict() if self.scope else None,
            "period": period, "compare": compare, "by": list(r.by), "limit": r.limit,
            "options": sorted(r.options), "filters": {k: str(val) for k, val in r.filters.items()},
            "args": r.args or None, "unknown": self.unknown, "notes": r.notes, "problem": r.problem,
            "confidence": self.confidence,
            "as_of": r.as_of.isoformat() if r.as_of else None,
        }

    def line(self) -> str:
        """One readable line: "pipeline · Dana Cole (rep) · this quarter (Oct 1 – Dec 31, 2026) · by stage"."""
        r = self.request
        parts = [r.intent if not r.metric or r.metric == r.intent else f"{r.intent}: {r.metric}"]
        if self.scope is not None:
            problem = f" — {self.scope.error}" if self.scope.error else ""
            parts.append(f"{self.scope.name} ({self.scope.kind}){problem}")
        if self.period is not None:
            parts.append(self.period.described + ("" if self.period_given else " [default]"))
        if r.as_of is not None:
            parts.append(f"as of {r.as_of.isoformat(timespec='seconds')}")
        if r.compare is not None and r.compare.kind == "period" and r.compare.period is not None:
            parts.append(f"vs {r.compare.period.described}")
        elif self.compare_scope is not None:
            parts.append(f"vs {self.compare_scope.name} ({self.compare_scope.kind})")
        if r.by:
            parts.append("by " + ", ".join(r.by))
        if r.limit:
            parts.append(f"top {r.limit}")
        parts += [f"{k} {val}" for k, val in r.filters.items()]
        parts += sorted(r.options)
        if r.args:
            parts.append(f"“{r.args}”")
        if self.unknown:
            parts.append("ignored: " + ", ".join(repr(u) for u in self.unknown))
        if r.problem:
            parts.append(f"problem: {r.problem}")
        return " · ".join(parts)


def effective_period(request: Request, today: date, fiscal: int) -> Period | None:
    """The period asked for, else the intent's default (None for intents that have no period)."""
    if request.period is not None:
        return request.period
    if request.intent in NO_PERIOD:
        return None
    if request.intent == "changes":
        return Period(today - timedelta(days=1), today, "the last 24 hours", None, fiscal)
    if request.as_of is not None:  # "what was my pipeline on aug 15": the quarter it was then
        today = min(today, request.as_of.date())
    default = DEFAULT_PERIODS.get(request.intent, "this quarter")
    if request.intent == "deals" and (request.limit or request.filters.get("sort")
                                      or "amount_min" in request.filters or "amount_max" in request.filters):
        default = "this quarter"
    return parse_period(default, today, fiscal)


def _kind(scope: Scope, viewer: Viewer) -> tuple[str, str]:
    if scope.kind == "rep":
        return ("me" if scope.rep_id == viewer.rep_id else "rep"), scope.label
    if scope.kind == "org":
        return "org", scope.label
    return "team", scope.team if scope.kind == "team" and scope.team else scope.label


def _reading_of(conn: Connection, viewer: Viewer, scope: Scope) -> ScopeReading:
    kind, name = _kind(scope, viewer)
    try:
        check_scope(conn, viewer, scope)
    except UserError as exc:
        return ScopeReading(kind, name, scope, exc)
    return ScopeReading(kind, name, scope)


def _word_scope(conn: Connection, viewer: Viewer, word: str | None) -> ScopeReading:
    """me | team | org | default (we, our, nothing): "me" from a manager, exec or ops person means what they look
    after: they rarely own deals, and "how am I tracking?" is a question about their number."""
    if word in (None, "default") or (word == "me" and viewer.role != "rep"):
        return _reading_of(conn, viewer, default_scope(viewer))
    try:
        return _reading_of(conn, viewer, identify_scope(conn, viewer, word))
    except UserError as exc:
        if word == "team":
            return ScopeReading("team", f"{viewer.name}'s team", None, exc)
        return ScopeReading(word, word, None, exc)


def _subsequences(words: list[str]) -> list[tuple[int, int]]:
    n = len(words)
    return [(i, i + size) for size in range(n, 0, -1) for i in range(n - size + 1)]


def _find_name(conn: Connection, viewer: Viewer, text: str) -> tuple[Scope | None, list[str], UserError | None]:
    """The longest run of words in `text` that names a person or team; the words left over; the error for the
    whole text when nothing matched."""
    words = text.split()
    first_error: UserError | None = None
    for i, j in _subsequences(words):
        try:
            scope = identify_scope(conn, viewer, " ".join(words[i:j]))
        except ScopeError as exc:
            if first_error is None or (isinstance(exc, AmbiguousScope) and not isinstance(first_error, AmbiguousScope)):
                first_error = exc
            continue
        return scope, words[:i] + words[j:], None
    return None, words, first_error


def _names(conn: Connection, viewer: Viewer, names: list[tuple[str, bool]], unknown: list[str]
           ) -> ScopeReading | None:
    found: ScopeReading | None = None
    for text, explicit in names:
        if found is not None:
            unknown.append(text)
            continue
        scope, rest, error = _find_name(conn, viewer, text)
        if scope is not None:
            found = _reading_of(conn, viewer, scope)
            unknown += rest
        elif error is not None and (explicit or isinstance(error, AmbiguousScope)):
            found = ScopeReading("unknown", text, None, error)
        else:
            unknown += rest
    return found


def resolve(conn: Connection, viewer: Viewer, request: Request, today: date, fiscal: int) -> Reading:
    """Look the request's names up for this viewer and fix its period. Never raises: what cannot be used is kept
    on the reading (ScopeReading.error, Request.problem) for the answer to say."""
    unknown = list(request.unknown)
    try:
        period = effective_period(request, today, fiscal)
    except PeriodError as exc:
        request.problem = request.problem or str(exc)
        period = None
    if request.intent in NO_SCOPE:
        if request.intent == "help":
            unknown += [word for text, _ in request.names for word in text.split()]
        scope = _word_scope(conn, viewer, None) if request.intent != "help" else None
        return Reading(request, scope, period, None, unknown)
    scope = _names(conn, viewer, request.names, unknown) if request.names else None
    if scope is None:
        scope = _word_scope(conn, viewer, request.scope_word)
    compare_scope = None
    if request.compare is not None and request.compare.kind == "scope":
        compare_scope = _names(conn, viewer, request.compare.names, unknown)
    if request.problem:
        unknown = []  # the words of an impossible period: the problem sentence says what is wrong with them
    return Reading(request, scope, period, compare_scope, unknown)


def read_question(conn: Connection, viewer: Viewer, text: str, today: date, fiscal: int,
                  zone: ZoneInfo | None = None) -> Reading:
    """Grammar then names: the reading `parse` prints and the answer path answers."""
    return resolve(conn, viewer, parse_request(text, today, fiscal, zone), today, fiscal)
