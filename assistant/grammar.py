"""Understand a request: `/sales <what> [who] [when] [options]` in any word order, or a plain-English question.

Pure and deterministic: no database. The words come from `assistant.vocabulary` (phrases matched longest first),
the when from `metrics.periods.extract_period`, typos from difflib. The output is a `Request`: what was asked
(intent and metric), for whom (a scope word, or name candidates that `assistant.resolve` matches against the
people and teams), when, broken down how, with which filters, compared with what — and every word that was not
used, so the answer can say what it ignored instead of dropping it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from assistant import vocabulary as v
from assistant import vocabulary_intl as intl
from assistant.reading_words import dimension_name, intent_name, option_name
from errors import UserError
from i18n import N_, _, current_locale
from i18n.amounts import AmountUnclear, read_number
from metrics.moments import extract_moment
from metrics.periods import Period, PeriodError, all_time, extract_period, parse_period

# Kept for callers that list the subcommands (help).
INTENTS = {name: (name,) for name in v.SUBCOMMANDS}
# When a question names several intents ("which of Dana's deals are stuck?"), the most specific wins.
PRIORITY = ("accuracy", "trend", "waterfall", "commission", "scorecard", "integrity", "changes", "stalled", "funnel",
            "winrate", "cycle",
            "leaderboard", "calls", "call", "metric", "forecast",
            "quota", "pipeline", "deals", "deal", "digest", "settings", "status", "help")
ARG_INTENTS = ("deal", "digest", "settings", "commission")
# Said back in the asker's language ("I read this as: pipeline (per “pipline”)"): read when the question is.
READ_FOR = N_("{reading} (for “{word}”)")
NO_INTENT_NOTE = N_("help (I did not recognise what you asked for)")
_TOKEN = re.compile(r"<[@#!][^>]+>|[$#]?[\w.@'’+/%$-]*[\w%$]|[%$]")
_INTL_UNITS = "|".join(sorted(intl.UNITS, key=len, reverse=True))
_AMOUNT = (r"(?:\$|€|rp\.?)?\s?(?P<{n}>\d[\d.,]*\d|\d)\s?(?P<{u}>million|thousand|grand|"
           + _INTL_UNITS + r"|k|mm|mn|bn|b)?")
_MIN_WORDS = (r"over|above|more than|greater than|bigger than|larger than|at least|north of|exceeding|upwards of|>=|>|"
              + intl.MIN_WORDS)
_MAX_WORDS = r"under|below|less than|smaller than|at most|south of|up to|<=|<|" + intl.MAX_WORDS
_AMOUNT_RE = re.compile(
    rf"(?:(?P<op>{_MIN_WORDS}|{_MAX_WORDS})\s*{_AMOUNT.format(n='a', u='ua')}\b"
    rf"|(?:between|{intl.BETWEEN})\s+{_AMOUNT.format(n='lo', u='ulo')}\s+(?:and|{intl.AND})\s+"
    rf"{_AMOUNT.format(n='hi', u='uhi')}\b"
    rf"|(?:from|{intl.FROM})\s+{_AMOUNT.format(n='lo2', u='ulo2')}\s+(?:to|{intl.TO})\s+"
    rf"{_AMOUNT.format(n='hi2', u='uhi2')}\b"
    rf"|{_AMOUNT.format(n='plus', u='uplus')}\s?\+)", re.IGNORECASE)
_UNITS = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 10**6, "mm": 10**6, "mn": 10**6, "million": 10**6,
          "b": 10**9, "bn": 10**9} | intl.UNITS
# Currencies an answer can be shown in by name after "in" ("pipeline in eur"): ISO 4217 codes that are not English
# words (no ALL, TOP, TRY, CUP). Any three-letter code may follow `--currency` or "currency".
CURRENCY_CODES = frozenset({
    "usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "nzd", "cny", "hkd", "sgd", "idr", "inr", "krw", "twd", "thb",
    "myr", "php", "vnd", "sek", "nok", "dkk", "pln", "czk", "huf", "ron", "bgn", "zar", "brl", "mxn", "clp", "cop",
    "pen", "ars", "ils", "aed", "sar", "qar", "kwd", "egp", "ngn", "kes",
})
_CURRENCY_RE = re.compile(
    rf"(?:--currency[=\s]+|\bcurrency\s+|\b(?:in|into|{intl.IN_CURRENCY})\s+(?=(?:{'|'.join(sorted(CURRENCY_CODES))})\b))"
    r"(?P<code>[a-z]{3})\b", re.IGNORECASE)
_COMPARE_SPLIT = re.compile(r"\s+(?:vs\.?|versus|v\.?|compared\s+(?:to|with)|against|relative\s+to|"
                            + intl.COMPARE_WORDS + r")\s*(?<=[\s'])", re.IGNORECASE)
_COMPARE_SHIFTS = (
    (re.compile(rf"\b(?:yoy|y/y|year[- ](?:over|on)[- ]year|{intl.YEAR_OVER_YEAR}|"
                r"(?:vs\.?\s+|versus\s+|compared\s+to\s+)?(?:the\s+)?same\s+"
                r"(?:time|period|quarter|month|week)\s+last\s+year)\b", re.I), "year"),
    (re.compile(rf"\b(?:qoq|q/q|quarter[- ](?:over|on)[- ]quarter|{intl.QUARTER_OVER_QUARTER})\b", re.I), "quarter"),
    (re.compile(r"\b(?:mom|m/m|month[- ]over[- ]month)\b", re.I), "month"),
    (re.compile(r"\b(?:wow|w/w|week[- ]over[- ]week)\b", re.I), "week"),
    (re.compile(r"\b(?:vs\.?|versus|compared\s+(?:to|with))\s+(?:the\s+)?(?:prior|previous|preceding|last)\s+"
                r"period\b", re.I), "previous"),
)


@dataclass
class Compare:
    """The second side of a comparison: another period, or another person or team."""

    kind: str  # period | scope
    period: Period | None = None
    names: list[tuple[str, bool]] = field(default_factory=list)  # (name text, explicit) for a scope


@dataclass
class Request:
    """How a question was read, before any name is looked up (assistant.resolve does that)."""

    intent: str
    scope_text: str = ""  # me | team | org | the name words, as typed (the handlers' and resolve's input)
    period: Period | None = None
    options: set[str] = field(default_factory=set)
    by: tuple[str, ...] = ()
    args: str = ""  # the rest, for `deal NAME`, `digest …`, `settings …`
    notes: list[str] = field(default_factory=list)  # what had to be guessed
    raw: str = ""
    metric: str | None = None
    scope_word: str | None = None  # me | team | org | default
    names: list[tuple[str, bool]] = field(default_factory=list)  # candidate names, (text, explicit)
    limit: int | None = None
    filters: dict = field(default_factory=dict)  # amount_min, amount_max, stage, rule, sort
    compare: Compare | None = None
    unknown: list[str] = field(default_factory=list)  # words not used
    problem: str | None = None  # an impossible period, said as a sentence
    understood_anything: bool = True
    intent_given: bool = True  # False when no word named what was asked ("and last quarter?", "by owner")
    currency: str | None = None  # show money in this currency (ISO 4217, upper case) at today's rate
    as_of: datetime | None = None  # "as of oct 1": the figures as the data stood then (a date: the end of that day)

    @property
    def guessed(self) -> bool:
        return bool(self.notes)


@dataclass
class _Tok:
    text: str
    low: str
    start: int
    capital: bool
    used: bool = False


def _strip_prefix(text: str) -> tuple[str, bool]:
    text = re.sub(r"^\s*<@[A-Z0-9]+>\s*", "", text or "").replace("’", "'").strip()
    slash = text.lower().startswith("/sales")
    if slash:
        text = text[len("/sales"):].strip()
    return text, slash


def _norm(word: str) -> str:
    """Lower case without punctuation, and without Indonesian "-nya" ("pipeline-nya": the pipeline)."""
    return word.lower().strip("?!.,;:\"()[]{}").removesuffix("-nya")


_ELISION = re.compile(r"(?:l|dell|sull|all|nell|dall|un|quest|d|com|dov|c)'(?=\w)")


def _tokens(text: str) -> list[_Tok]:
    out = []
    for i, m in enumerate(_TOKEN.finditer(text)):
        raw = m.group(0)
        low = _norm(raw)
        if not low:
            continue
        sentence_start = i == 0 or text[:m.start()].rstrip().endswith((".", "?", "!"))
        start = m.start()
        if elided := _ELISION.match(low):  # Italian "l'obiettivo", "sull'obiettivo": the noun
            raw, low, start = raw[elided.end():], low[elided.end():], start + elided.end()
        capital = raw[:1].isupper() and not sentence_start or raw.startswith("<@") or "@" in raw
        out.append(_Tok(raw.strip("?!.,;:\"()[]{}"), low, start, capital))
    return out


def _money(digits: str, unit: str | None) -> Decimal:
    return read_number(digits, digits) * _UNITS.get((unit or "").lower(), 1)


def _is_amount(digits: str, unit: str | None, text: str) -> bool:
    """An amount when it has a unit or a currency sign or is 1,000 or more; digits that read as no number (a date
    such as 1.10.2026) are not one. Digits that read as two amounts raise AmountUnclear."""
    try:
        value = read_number(digits, digits)
    except AmountUnclear:
        raise
    except UserError:
        return False
    return bool(unit) or any(sign in text.lower() for sign in ("$", "€", "rp")) or value >= 1000


def _take_amounts(text: str, req: Request) -> str:
    """Amount filters ("over 100k", "under $5,000", "between 50k and 100k", "250k+", "oltre 125.000") out of the
    text; an amount that reads two ways becomes the request's problem."""
    def repl(m: re.Match) -> str:
        try:
            return read(m)
        except AmountUnclear as exc:
            req.problem = req.problem or str(exc)
            return " "

    def read(m: re.Match) -> str:
        if m["a"] is not None and _is_amount(m["a"], m["ua"], m[0]):
            key = "amount_min" if re.fullmatch(_MIN_WORDS, m["op"].lower()) else "amount_max"
            req.filters[key] = _money(m["a"], m["ua"])
            return " "
        for lo, hi in (("lo", "hi"), ("lo2", "hi2")):
            if m[lo] is not None and _is_amount(m[hi], m["u" + hi], m[0]):
                req.filters["amount_min"] = _money(m[lo], m["u" + lo] or m["u" + hi])
                req.filters["amount_max"] = _money(m[hi], m["u" + hi])
                return " "
        if m["plus"] is not None and _is_amount(m["plus"], m["uplus"], m[0]):
            req.filters["amount_min"] = _money(m["plus"], m["uplus"])
            return " "
        return m[0]
    return _AMOUNT_RE.sub(repl, text)


def _take_currency(text: str, req: Request) -> str:
    """The display currency ("in eur", "--currency EUR", "currency idr") out of the text."""
    def repl(m: re.Match) -> str:
        req.currency = m["code"].upper()
        return " "
    return _CURRENCY_RE.sub(repl, text)


def _take_period(text: str, today: date, fiscal: int, req: Request) -> tuple[Period | None, str]:
    try:
        return extract_period(text, today, fiscal)
    except PeriodError as exc:
        req.problem = req.problem or str(exc)
        return None, text


def _match_concept(toks: list[_Tok], i: int) -> tuple[v.Concept, int] | None:
    concepts = v.CONCEPTS_BY_LANGUAGE.get(current_locale(), v.CONCEPTS)
    for n in range(min(v.MAX_PHRASE, len(toks) - i), 0, -1):
        words = tuple(t.low for t in toks[i: i + n])
        if words in concepts:
            return concepts[words], n
        if words[-1].endswith("'s") and (*words[:-1], words[-1][:-2]) in concepts:
            return concepts[(*words[:-1], words[-1][:-2])], n
    return None


def _match_dimension(toks: list[_Tok], i: int, req: Request) -> tuple[str, int] | None:
    for n in range(min(v.MAX_DIMENSION, len(toks) - i), 0, -1):
        words = tuple(t.low.removesuffix("'s") for t in toks[i: i + n])
        if words in v.DIMENSIONS_BY_WORD:
            return v.DIMENSIONS_BY_WORD[words], n
    if i < len(toks) and len(toks[i].low) >= 4:
        singles = [p[0] for p in v.DIMENSIONS_BY_WORD if len(p) == 1 and len(p[0]) >= 4]
        close = difflib.get_close_matches(toks[i].low, singles, n=1, cutoff=0.75)
        if close:
            dim = v.DIMENSIONS_BY_WORD[(close[0],)]
            reading = _("by {dimension}").format(dimension=dimension_name(dim))
            req.notes.append(_(READ_FOR).format(reading=reading, word=toks[i].text))
            return dim, 1
    return None


def _match_by(toks: list[_Tok], i: int, req: Request) -> tuple[str, int] | None:
    for phrase in v.BY_PHRASES:
        n = len(phrase)
        if tuple(t.low for t in toks[i: i + n]) == phrase:
            dim = _match_dimension(toks, i + n, req)
            if dim is not None:
                return dim[0], n + dim[1]
    return None


def _number(word: str) -> int | None:
    if word.isascii() and word.isdigit() and len(word) <= 6:
        return int(word)
    return v.NUMBER_WORDS.get(word)


# "le 5 trattative più grandi", "5 deal terbesar": a count before the deals, first or after an article, is a limit.
_COUNTED = frozenset({"trattative", "opportunità", "deal"})
_COUNT_ARTICLES = frozenset({"le", "mie", "nostre", "sue"})
_LIMIT_LEADERS = frozenset({"top", "bottom", "biggest", "largest", "highest", "lowest", "smallest", "best",
                            "worst", "first"})


class _Reader:
    """One pass over the tokens of one side of a question: concepts, breakdowns, limits and name candidates."""

    def __init__(self, toks: list[_Tok], req: Request):
        self.toks, self.req = toks, req
        self.concepts: list[v.Concept] = []
        self.groups: list[list[_Tok]] = []

    def read(self) -> None:
        toks, req, i = self.toks, self.req, 0
        while i < len(toks):
            tok = toks[i]
            prev_candidate = self.groups and self.groups[-1][-1] is (toks[i - 1] if i else None)
            if prev_candidate and tok.low.removesuffix("'s") in v.NAME_SUFFIXES and not toks[i - 1].low.endswith("'s"):
                tok.used = True
                self.groups[-1].append(tok)
                i += 1
                continue
            if (by := _match_by(toks, i, req)) is not None:
                dims, n = [by[0]], by[1]
                while i + n + 1 < len(toks) and toks[i + n].low in ("and", "&", "then", "+") and (
                        more := _match_dimension(toks, i + n + 1, req)) is not None:
                    dims.append(more[0])
                    n += 1 + more[1]
                req.by += tuple(d for d in dims if d not in req.by)
                self._use(i, n)
                i += n
                continue
            if tok.low in _LIMIT_LEADERS and i + 1 < len(toks) and (n := _number(toks[i + 1].low)) is not None:
                req.limit = n
                toks[i + 1].used = True
                self._after_limit(i + 2)
            counted = i + 1 < len(toks) and toks[i + 1].low in _COUNTED and (not i or toks[i - 1].low in
                                                                            _COUNT_ARTICLES)
            if (n := _number(tok.low)) is not None and i + 1 < len(toks) and (
                    toks[i + 1].low in _LIMIT_LEADERS or counted):
                req.limit = n
                self._use(i, 1)
                self._after_limit(i + 2)
                i += 1
                continue
            if tok.used:
                i += 1
                continue
            found = _match_concept(toks, i)
            if found is not None:
                self.concepts.append(found[0])
                self._use(i, found[1])
                i += found[1]
                continue
            if tok.low in v.BARE_DIMENSIONS:
                req.by += (v.BARE_DIMENSIONS[tok.low],)
                self._use(i, 1)
            elif tok.low in v.STOP_WORDS or tok.low.removesuffix("'s") in v.STOP_WORDS:
                tok.used = True
            elif tok.low.isdecimal() and prev_candidate:
                self.groups[-1].append(tok)  # "EMEA Enterprise 1"
            elif tok.low.isdecimal() or re.fullmatch(r"[\W\d_]+", tok.low):
                pass  # a number or a sign nothing used: unknown
            elif prev_candidate:
                self.groups[-1].append(tok)
            else:
                self.groups.append([tok])
            i += 1

    def _use(self, i: int, n: int) -> None:
        for t in self.toks[i: i + n]:
            t.used = True

    def _after_limit(self, i: int) -> None:
        """"top 3 products": a plural dimension right after the count is the breakdown to rank."""
        if i < len(self.toks) and _match_concept(self.toks, i) is None:
            dim = v.DIMENSIONS_BY_WORD.get((self.toks[i].low,))
            if dim is not None and dim not in self.req.by:
                self.req.by += (dim,)
                self.toks[i].used = True


def _fuzzy(req: Request, reader: _Reader) -> None:
    """No concept found: read a close spelling of one ("pipline", "forcast") and say so."""
    for group in list(reader.groups):
        for tok in group:
            if len(tok.low) < 4 or tok.capital:
                continue
            close = difflib.get_close_matches(tok.low, v.TYPO_TARGETS, n=1, cutoff=0.78)
            if close:
                concept = v.CONCEPTS[(close[0],)]
                reader.concepts.append(concept)
                reading = intent_name(concept.intent) if concept.intent else option_name(concept.option)
                req.notes.append(_(READ_FOR).format(reading=reading, word=tok.text))
                group.remove(tok)
                tok.used = True
                if not group:
                    reader.groups.remove(group)
                return


def _choose(req: Request, concepts: list[v.Concept], first: v.Concept | None, slash: bool) -> None:
    strong = [c for c in concepts if c.intent and not c.weak]
    named = strong or [c for c in concepts if c.intent]
    if first is not None and first.intent in v.SUBCOMMANDS and first.metric in (None, v.DEFAULT_METRIC.get(
            first.intent)) and (slash or first.intent in ARG_INTENTS + ("help",)):
        req.intent = first.intent
    else:
        intents = {c.intent for c in named}
        req.intent = next((i for i in PRIORITY if i in intents), "")
    metrics = [c.metric for c in named if c.metric and (c.intent == req.intent or req.intent in v.OF_ANY_METRIC)]
    req.metric = metrics[0] if metrics else v.DEFAULT_METRIC.get(req.intent)
    for c in concepts:
        if c.by and c.intent == req.intent and c.by not in req.by:
            req.by += (c.by,)
        if c.rule:
            req.filters["rule"] = c.rule
        if c.stage:
            req.filters["stage"] = c.stage
        if c.sort:
            req.filters["sort"] = c.sort
        if c.option:
            req.options.add(c.option)
        if c.scope and not req.scope_word:
            req.scope_word = c.scope
    if any(c.by_value for c in concepts):
        if req.intent == "winrate":
            req.metric = "win_rate_value"
        elif req.intent == "deals":
            req.filters.setdefault("sort", "largest")
        else:
            req.unknown.append("by value")


def _settle(req: Request, concepts: list[v.Concept]) -> None:
    """A ranked list of deals is a deal list ("biggest deals in the pipeline", "biggest deal ever"); a leaderboard
    is already people ranked by attainment ("top 3 reps" adds nothing to it but the count)."""
    intents = {c.intent for c in concepts if c.intent}
    if any(c.intent == "trend" and c.weak for c in concepts) and req.metric in v.TRENDABLE:
        req.intent = "trend"  # "andamento della pipeline": a soft trend word with a metric a trend can draw
    ranked = req.limit is not None or "sort" in req.filters
    if ranked and req.intent in ("pipeline", "deal") and intents & {"deals", "deal"} and not req.by:
        req.intent, req.metric = "deals", None
    if req.intent == "leaderboard":
        req.by = tuple(d for d in req.by if d != "owner")
        if req.filters.get("sort") == "largest":
            del req.filters["sort"]


def _name_of(group: list[_Tok], text: str) -> tuple[str, bool]:
    words = " ".join(t.text for t in group)
    return re.sub(r"'s$", "", words), any(t.capital for t in group)


def _read_side(text: str, req: Request) -> _Reader:
    reader = _Reader(_tokens(text), req)
    reader.read()
    return reader


def _compare_side(text: str, today: date, fiscal: int, req: Request, main_has_period: bool
                  ) -> tuple[Compare | None, str, Period | None]:
    """The words after "vs": a period ("vs last quarter"), or a person or team ("dana vs mei reed this year":
    the period then belongs to the whole question); what is left goes back to the question."""
    period, rest = _take_period(text, today, fiscal, req)
    reader = _read_side(rest, Request(intent=""))
    if reader.groups and not (period is not None and main_has_period):
        leftover = " ".join(t.text for t in reader.toks if not any(t in g for g in reader.groups))
        return Compare("scope", names=[_name_of(g, rest) for g in reader.groups]), leftover, period
    if period is not None:
        return Compare("period", period=period), rest, None
    return None, text, None


def _shifted_compare(text: str, req: Request) -> tuple[str, str | None]:
    for regex, how in _COMPARE_SHIFTS:
        if regex.search(text):
            return regex.sub(" ", text), how
    return text, None


_WE = frozenset({"kita", "kami", "noi"})  # "we" where a question says who: what the asker looks after
_REPHRASE = (
    # "what did the team close", "how much has dana booked": closed won, whoever the subject is
    (re.compile(r"\b(?:what|how much)\s+(?:did|have|has)\s+(.{1,40}?)\s+(?:close|closed|book|booked|win|won|sign|"
                r"signed|land|landed)\b", re.I), r"\1 closed won"),
    # "why did we lose deals", "loss reasons": closed lost by the reason given; "what did dana lose": closed lost
    (re.compile(r"\bwhy\s+(?:did|do|does|are|is|have|has|were|was)\s+(.{1,40}?)\s+(?:lose|losing|lost)\b", re.I),
     r"\1 closed lost by loss reason"),
    (re.compile(r"\b(?:loss|lost)\s+reasons\b", re.I), "closed lost by loss reason"),
    # "perché abbiamo perso", "kenapa kita kalah": the same, in Italian and Indonesian
    (re.compile(r"\b(?:perch[eé]|kenapa|mengapa)\s+(.{0,40}?)\b(?:abbiamo\s+|hanno\s+|ha\s+)?(?:pers[oaie]|perdiamo|"
                r"perdono|perde|kalah|kehilangan)\b", re.I),
     lambda m: ("" if m[1].strip().lower() in _WE else m[1]) + " closed lost by loss reason"),
    (re.compile(r"\b(?:what|how much|how many(?:\s+deals)?)\s+(?:did|have|has)\s+(.{1,40}?)\s+(?:lose|lost)\b", re.I),
     r"\1 closed lost"),
    # "deals owned by dana", "assigned to dana", "dana's team's deals managed by max": whose they are
    (re.compile(r"\b(?:owned|held|worked|run|managed|handled)\s+by\s+|\bassigned\s+to\s+", re.I), "for "),
    # "deals dana owns": the same
    (re.compile(r"\b(deals|opportunities|opps|pipeline)\s+(?!(?:we|i|you|they|he|she|it|everyone|everybody|anyone|"
                r"nobody|each|every|the|my|our|this|that|who|which|team)\b)([a-z][\w.'’-]*)\s+(?:owns|has|holds)\b",
                re.I),
     r"\1 for \2"),
    # "compare dana and mei", "compare dana with mei reed": a comparison of two people
    (re.compile(rf"\b(?:compare|{intl.COMPARE_VERBS})\s+(.{{1,40}}?)\s+(?:and|with|to|{intl.WITH})\s+", re.I),
     r"\1 vs "),
    # "mese per mese", "bulan per bulan": by month
    (re.compile(r"\b(mese|bulan) (?:per|demi|ke) \1\b", re.I), r"per \1"),
    # "settimana per settimana", "minggu ke minggu": weekly
    (re.compile(r"\b(settimana|minggu|pekan) (?:per|demi|ke) \1\b", re.I), "weekly"),
    # "prima del 31 dicembre", "prima di dicembre": before (not "la prima settimana", the first week)
    (re.compile(r"\bprima\s+(?:del|dello|della|dell['’]\s*|di|dei|degli|delle)\s*", re.I), "before "),
    # "the quarter", "the month": the current one
    (re.compile(r"(?<!\bof )(?<!\bin )\bthe (week|month|quarter|year)\b(?!\s+(?:before|after|to date))", re.I),
     r"this \1"),
)


def _rephrase(text: str) -> str:
    for regex, replacement in _REPHRASE:
        text = regex.sub(replacement, text)
    return text


_FROM_IT = re.compile(r"\b(?:da|dal|dalla|dall['’])\s*", re.IGNORECASE)
_TO_IT = frozenset({"a", "ad", "al", "alla", "all'", "all’"})


def _from_to(text: str, today: date, fiscal: int) -> str:
    """Italian "da q1 a q3", "da ottobre a dicembre", "dal 1 ottobre al 15": "from … to …" when the words on
    either side of "a" read as a range of periods together (one to three words each), else the text as it was:
    "da" alone opens a "since …" and "a" alone is no word of a period."""
    for lead in _FROM_IT.finditer(text):
        words = list(re.finditer(r"\S+", text[lead.end():]))
        for k, word in enumerate(words[:4]):
            if k == 0 or word[0].lower() not in _TO_IT:
                continue
            for n in (3, 2, 1):  # the longest end that reads
                if k + n >= len(words):
                    continue
                first = text[lead.end() + words[0].start(): lead.end() + words[k - 1].end()]
                last = text[lead.end() + words[k + 1].start(): lead.end() + words[k + n].end()]
                try:
                    period = parse_period(f"{first} to {last}", today, fiscal)
                except (PeriodError, UserError):
                    continue
                if period.grain is None:
                    return f"{text[:lead.start()]}from {first} to {last}{text[lead.end() + words[k + n].end():]}"
    return text


UTC_ZONE = ZoneInfo("UTC")


_DEAL_LIST = re.compile(r"^(\s*(?:<@[A-Z0-9]+>\s*)?(?:/sales\s+)?)deal(\s+(?:"
                        + "|".join(sorted(intl.DEAL_LIST_NEXT)) + r")\b)", re.IGNORECASE)
_BARE_UNIT = re.compile(r"(?<!\bper )(?<!\bby )(?<![\w'’])(?:(?:del|il|nel|sul|al)\s+)?(?P<unit>trimestre|mese|anno|"
                        r"settimana|kuartal|triwulan|bulan|tahun)\b(?!\s+\d)", re.IGNORECASE)
_BARE_UNITS = {"trimestre": "quarter", "kuartal": "quarter", "triwulan": "quarter", "mese": "month", "bulan": "month",
               "anno": "year", "tahun": "year", "settimana": "week"}


def _bare_unit(text: str, today: date, fiscal: int) -> tuple[Period | None, str]:
    """"/sales pipeline trimestre", "top 5 trattative del trimestre": a unit alone (not "per trimestre", a
    breakdown) is the current one."""
    m = _BARE_UNIT.search(text)
    if m is None:
        return None, text
    period = parse_period(f"this {_BARE_UNITS[m['unit'].lower()]}", today, fiscal)
    return period, f"{text[:m.start()]} {text[m.end():]}"


def parse_request(text: str, today: date, fiscal_start_month: int = 1, zone: ZoneInfo | None = None) -> Request:
    """Read one question. Never raises: an impossible period or moment is kept as `problem`, a sentence. `zone`:
    where a date after "as of" ends (DEFAULT_TIMEZONE; UTC when not given)."""
    raw, text = text, _DEAL_LIST.sub(rf"\1{v.DEAL_LIST}\2", text, count=1)  # Indonesian "deal saya": my deals
    req = _parse_request(text, today, fiscal_start_month, zone or UTC_ZONE)
    req.raw = raw if req.raw == text else req.raw
    return req


def _parse_request(text: str, today: date, fiscal_start_month: int, zone: ZoneInfo) -> Request:
    body = _strip_prefix(text)[0]
    if (deal_request := _deal_request(body, text)) is not None:
        return deal_request
    what_if = _WHAT_IF.search(text)
    if what_if is not None:  # `commission what if NAME`: as for `deal NAME`, the words after "what if" are a deal
        # name or an amount, verbatim (never read for a period: "what if Q4 renewal"); only those before are read
        req = _parse(text[:what_if.end()], today, fiscal_start_month, zone)
        if req.intent == "commission":
            req.raw, req.args = text, "what if " + re.sub(r"[\s?!.,]+$", "", text[what_if.end():].strip())
            return req
    return _parse(text, today, fiscal_start_month, zone)


def _take_moment(text: str, today: date, fiscal: int, zone: ZoneInfo, req: Request) -> str:
    """"as of oct 1" (or "on oct 1" after a verb in the past: "what was my pipeline on oct 1?") out of the text:
    the moment the figures are read at. "as of now" is no moment."""
    text = _as_of_in_english(_now_dropped(text))
    text = _PAST_ON.sub(lambda m: m[0] if _EVENT.search(m[2]) else f"{m[1]}{m[2]}as of ", text)
    for regex in _STATE_ON:
        text = regex.sub(lambda m: f"{m['lead']}{m['mid']}as of " if _state_on_a_past_day(m, today, fiscal) else m[0],
                         text, count=1)
    moment, rest, problem = extract_moment(text, today, zone, fiscal)
    if problem:
        req.problem = req.problem or problem
    req.as_of = moment
    return rest


_LOCAL_AS_OF = tuple(re.compile(p, re.IGNORECASE) for p in intl.AS_OF_PATTERNS)
_RANGE_START = re.compile(intl.RANGE_START, re.IGNORECASE)


def _as_of_in_english(text: str) -> str:
    """"per 1 okt", "posisi per kemarin", "al 1 ott", "alla data del 1/10", "a fine mese scorso": "as of …"."""
    for regex in _LOCAL_AS_OF:
        m = regex.search(text)
        if m is not None and not _RANGE_START.search(text[:m.start()]):
            return f"{text[:m.start()]}as of {text[m.end():]}"
    return text


_AS_OF_NOW = re.compile(rf"\bas\s+of\s+(?:right\s+)?now\b|{intl.AS_OF_NOW}", re.IGNORECASE)
_SINCE_OR_RANGE = re.compile(rf"{intl.RANGE_START}|\b(?:da|dal|dall'|dalla|sejak|dari)\b", re.IGNORECASE)


def _now_dropped(text: str) -> str:
    """"as of now", "per sekarang", "ad oggi": the current answer, so no moment; "a oggi" after "da …" ends a range."""
    m = _AS_OF_NOW.search(text)
    if m is None or _SINCE_OR_RANGE.search(text[:m.start()]):
        return text
    return f"{text[:m.start()]} {text[m.end():]}"


# what happened on a day ("what was closed on oct 1") is a period, not a moment
_EVENT = re.compile(r"\b(?:created|closed|won|lost|booked|signed|added|opened|moved|changed|slipped|pushed|"
                    rf"{intl.EVENT_WORDS})\b", re.IGNORECASE)
_STATE_ON = tuple(re.compile(p, re.IGNORECASE) for p in intl.STATE_ON_PATTERNS)


def _state_on_a_past_day(m: re.Match, today: date, fiscal: int) -> bool:
    """"pipeline saya tanggal 1 okt" is how it stood then; "pipeline saya tanggal 15 des" (still to come) and "deal
    yang ditutup tanggal 1 okt" (what happened) stay the day."""
    if _EVENT.search(m[0]):
        return False
    try:
        day = extract_period(" ".join(m.string[m.end():].split()[:3]), today, fiscal)[0]
    except PeriodError:
        return False
    return day is not None and day.grain == "day" and day.end <= today
# "on <date>" after a verb in the past: "what was my pipeline on oct 1", "where did we stand on 2026-10-01"
_PAST_ON = re.compile(r"\b(was|were|stood|had|did\s+\w+\s+stand)\b(.*?)\bon\s+(?=\d{4}-\d{2}-\d{2}"
                      r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[a-z]{3}|[a-z]{3,9}\.?\s+\d{1,2}\b)", re.IGNORECASE)


def _parse(text: str, today: date, fiscal_start_month: int, zone: ZoneInfo) -> Request:
    raw = text
    body, slash = _strip_prefix(text)
    req = Request(intent="", raw=raw)
    body = _take_moment(body, today, fiscal_start_month, zone, req)
    body = _from_to(_take_amounts(_take_currency(_rephrase(body), req), req), today, fiscal_start_month)
    body, shift = _shifted_compare(body, req)
    main, other = body, ""
    parts = _COMPARE_SPLIT.split(body, maxsplit=1)
    if len(parts) == 2:
        main, other = parts
    period, main_rest = _take_period(main, today, fiscal_start_month, req)
    if period is None and not req.problem:
        period, main_rest = _bare_unit(main_rest, today, fiscal_start_month)
    if other:
        compare, leftover, moved = _compare_side(other, today, fiscal_start_month, req, period is not None)
        req.compare, period = compare, period or moved
        main_rest = f"{main_rest} {leftover}"
    reader = _read_side(main_rest, req)
    if not any(c.intent for c in reader.concepts):
        _fuzzy(req, reader)
    first = _match_concept(reader.toks, 0)
    typed = first is not None and reader.toks[0].low.removesuffix("s") == first[0].intent.removesuffix("s") \
        if first and first[0].intent else False
    _choose(req, reader.concepts, first[0] if typed else None, slash)
    _settle(req, reader.concepts)
    if any(c.all_time for c in reader.concepts) or (period is None and _bare_all(reader.toks)):
        period = period or all_time(fiscal_start_month)
    req.period = period
    _finish_compare(req, shift, today, fiscal_start_month)
    if req.intent in ARG_INTENTS:
        req.args = _args(main_rest if req.intent == "deal" else body, reader, req.intent)
        return req
    req.names = [_name_of(g, main_rest) for g in reader.groups]
    req.unknown += [t.text for t in reader.toks if not t.used and not any(t in g for g in reader.groups)]
    if req.problem:
        req.unknown = []  # the words of an impossible period: the problem sentence says what is wrong with them
    if not req.intent:
        req.intent_given = False
        req.understood_anything = bool(req.period or req.by or req.filters or req.options or req.scope_word
                                       or req.limit)
        req.intent = "help"
        if raw.strip() and _strip_prefix(raw)[0]:
            req.notes.append(_(NO_INTENT_NOTE))
    req.scope_text = _scope_text(req)
    return req


_WHAT_IF = re.compile(r"\bwhat\s*if\b", re.IGNORECASE)


def _deal_request(body: str, raw: str) -> Request | None:
    """`deal NAME`: everything after the command word is the name, verbatim. A deal name is not read for a period,
    an option or a command word ("deal Q4 expansion", "deal Deal 12", "deal Acme share plan")."""
    toks = _tokens(body)
    hit = _match_concept(toks, 0) if toks else None
    if hit is None or hit[0].intent != "deal" or hit[0].metric is not None:
        return None
    name = body[toks[hit[1]].start:] if hit[1] < len(toks) else ""
    return Request(intent="deal", args=re.sub(r"[\s?!.,]+$", "", name.strip()), raw=raw, scope_word="default")


def _bare_all(toks: list[_Tok]) -> bool:
    """`/sales pipeline all`: "all" on its own (not "all deals", "all reps") is the whole of time."""
    for i, t in enumerate(toks):
        if t.low == "all":
            nxt = toks[i + 1].low if i + 1 < len(toks) else None
            if nxt is None or nxt in v.STOP_WORDS and nxt not in ("of", "the", "my", "our"):
                return True
    return False


def _finish_compare(req: Request, shift: str | None, today: date, fiscal: int) -> None:
    """The periods of a comparison: "vs last year" compares this year with last; "yoy" the same stretch a year
    earlier; "qoq" this quarter (or the quarter asked for) with the one before."""
    try:
        if shift is not None:
            base = req.period
            if shift in ("year", "previous"):
                base = base or parse_period("this year" if shift == "year" else "this quarter", today, fiscal)
            elif base is None or base.grain != shift:
                base = parse_period(f"this {shift}", today, fiscal)
            req.period = base
            req.compare = Compare("period", period=base.year_earlier() if shift == "year" else base.previous())
        elif req.compare is not None and req.compare.kind == "period" and req.period is None:
            grain = req.compare.period.grain
            if grain in ("week", "month", "quarter", "year"):
                req.period = parse_period(f"this {grain}", today, fiscal)
    except PeriodError as exc:
        req.problem = req.problem or str(exc)
        req.compare = None


def _args(text: str, reader: _Reader, intent: str) -> str:
    """`deal Acme Corp - Upsell`: the words after the subcommand, as typed."""
    m = re.match(rf"\s*(?:the\s+)?{intent}s?\b", text, re.IGNORECASE)
    if m:
        return text[m.end():].strip(" ?")
    toks = _tokens(text)
    hit = _match_concept(toks, 0) if toks else None
    if hit is not None and hit[0].intent == intent and hit[1] < len(toks):  # `impostazioni lingua it`
        return text[toks[hit[1]].start:].strip(" ?")
    words = [t.text for t in reader.toks if not t.used or any(t in g for g in reader.groups)]
    return " ".join(words).strip()


def _scope_text(req: Request) -> str:
    if req.names:
        return req.names[0][0]
    return {"me": "me", "team": "team", "org": "org"}.get(req.scope_word or "", "")
