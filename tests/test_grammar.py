from datetime import date

import pytest

from assistant.grammar import parse_request

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "intent", "scope", "period"),
    [
        ("/sales pipeline", "pipeline", "", None),
        ("/sales pipline q3", "pipeline", "", "Q3 FY2026"),
        ("q3 pipeline", "pipeline", "", "Q3 FY2026"),
        ("how am I tracking to quota?", "quota", "me", None),
        ("west team pipeline next quarter", "pipeline", "west team", "next quarter (Q1 FY2027)"),
        ("which of Dana's deals are stuck?", "stalled", "Dana", None),
        ("/sales quota team", "quota", "team", None),
        ("/sales leaderboard org last quarter", "leaderboard", "org", "last quarter (Q3 FY2026)"),
        ("/sales winrate dana@example.com", "winrate", "dana@example.com", None),
        ("/sales stalled <@U123ABC>", "stalled", "<@U123ABC>", None),
        ("<@UBOT> what's my win rate this year?", "winrate", "me", None),
        ("/sales", "help", "", None),
        ("/sales forcast", "forecast", "", None),
        ("/sales my team's quota", "quota", "team", None),
    ],
)
def test_parse(text, intent, scope, period):
    req = parse_request(text, TODAY)
    assert req.intent == intent
    assert req.scope_text == scope
    if period:
        assert req.period is not None and req.period.label == period


def test_typos_are_stated_back():
    req = parse_request("/sales pipline", TODAY)
    assert req.intent == "pipeline" and req.guessed and "pipline" in req.notes[0]
    assert not parse_request("/sales pipeline", TODAY).guessed


def test_options_and_breakdowns():
    req = parse_request("/sales pipeline by stage chart explain", TODAY)
    assert req.by == ("stage",) and req.options == {"chart", "explain"}
    assert parse_request("/sales winrate by ownr", TODAY).by == ("owner",)


def test_deal_keeps_its_name():
    req = parse_request("/sales deal Acme Corp - Upsell", TODAY)
    assert req.intent == "deal" and req.args == "Acme Corp - Upsell"


def test_nonsense_gets_help():
    assert parse_request("hello there", TODAY).intent == "help"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("pipeline between oct 1 and dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline from oct 1 to dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1 to dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1 - dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline oct 1..dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between 10/1 and 12/31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between 2026-10-01 and 2026-12-31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between oct and dec", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline between nov 1 and today", date(2026, 11, 1), TODAY),
        ("pipeline between nov and feb", date(2026, 11, 1), date(2027, 2, 28)),
        ("pipeline dec 31 - jan 15", date(2026, 12, 31), date(2027, 1, 15)),
        # one end a bare day: the other end's month
        ("won oct 1 - 15", date(2026, 10, 1), date(2026, 10, 15)),
        ("won oct 1-15", date(2026, 10, 1), date(2026, 10, 15)),
        ("won oct 1 to 15", date(2026, 10, 1), date(2026, 10, 15)),
        ("won between oct 1 and 15", date(2026, 10, 1), date(2026, 10, 15)),
        ("won 1 - 15 oct", date(2026, 10, 1), date(2026, 10, 15)),
        ("vinte dal 1 al 15 ottobre", date(2026, 10, 1), date(2026, 10, 15)),
        ("menang 1 sampai 15 okt", date(2026, 10, 1), date(2026, 10, 15)),
        ("deals between 50k and 100k closing between oct 1 and dec 31", date(2026, 10, 1), date(2026, 12, 31)),
        ("pipeline until dec 31", TODAY, date(2026, 12, 31)),
        ("pipeline through 12/31", TODAY, date(2026, 12, 31)),
        ("pipeline till december", TODAY, date(2026, 12, 31)),
        ("deals closing by dec 31", TODAY, date(2026, 12, 31)),
        ("deals closing before dec 31", TODAY, date(2026, 12, 30)),
        ("won until q4", TODAY, date(2026, 12, 31)),
        ("pipeline until next quarter", TODAY, date(2027, 3, 31)),
        ("deals closing before next quarter", TODAY, date(2026, 12, 31)),
    ],
)
def test_a_range_of_days_is_read_whole(text, start, end):
    """Both ends of "between X and Y" / "X to Y" count; "until X" runs from today (as "by the end of the month")."""
    req = parse_request(text, TODAY)
    assert (req.period.start, req.period.end) == (start, end), req.period
    assert not req.unknown and not req.names and req.problem is None, (req.unknown, req.names, req.problem)


@pytest.mark.parametrize("text", ["deals between 50k and 100k", "deals from 50k to 100k"])
def test_amount_ranges_are_no_period(text):
    req = parse_request(text, TODAY)
    assert req.period is None and (req.filters["amount_min"], req.filters["amount_max"]) == (50000, 100000)
    assert not req.names and not req.unknown


@pytest.mark.parametrize(("text", "period", "names"), [
    ("trattative da chiudere a marzo", "Mar 2026", []),  # deals to close in March: "chiudere" is no period
    ("vinte da dana a marzo", "Mar 2026", ["dana"]),
])
def test_da_a_is_a_range_only_when_both_ends_are_periods(text, period, names):
    req = parse_request(text, TODAY)
    assert req.period is not None and req.period.label == period, req.period
    assert [n for n, _ in req.names] == names and not req.unknown, (req.names, req.unknown)


@pytest.mark.parametrize(("text", "words"), [("pipeline between dec 31 and oct 1", "dec 31"),
                                            ("won oct 15 - 1", "oct 15"),
                                            ("pipeline between oct 1 and feb 30", "feb 30"),
                                            ("pipeline until oct 1", "Oct 1, 2026"),
                                            ("won until q3", "Q3")])
def test_a_backward_range_or_a_past_until_is_said(text, words):
    req = parse_request(text, TODAY)
    assert req.problem is not None and words in req.problem and req.period is None, req.problem


@pytest.mark.parametrize("text", ["pipeline by may", "pipeline by jan"])
def test_by_a_bare_short_month_name_is_no_deadline(text):
    """"by jan" may be a rep called Jan: no period is read from a bare short month name after "by"."""
    assert parse_request(text, TODAY).period is None


@pytest.mark.parametrize(("text", "day"), [
    ("what was my pipeline on oct 1?", date(2026, 10, 1)),
    ("what was the forecast on 1 oct", date(2026, 10, 1)),
    ("how many open deals were there on oct 1", date(2026, 10, 1)),
])
def test_on_a_day_after_a_past_verb_is_as_of_that_day(text, day):
    req = parse_request(text, TODAY)
    assert req.as_of is not None and req.as_of.date() == day and req.period is None
    assert not req.unknown and req.problem is None


@pytest.mark.parametrize("text", ["deals closed on oct 1", "what did we win on oct 1", "what was lost on oct 1"])
def test_what_happened_on_a_day_is_that_day(text):
    req = parse_request(text, TODAY)
    assert req.as_of is None and (req.period.start, req.period.end) == (date(2026, 10, 1), date(2026, 10, 1))


def test_as_of_now_is_the_current_answer():
    req = parse_request("pipeline as of now", TODAY)
    assert (req.intent, req.as_of, req.period, req.unknown, req.problem) == ("pipeline", None, None, [], None)


@pytest.mark.parametrize(("text", "start", "other"), [
    ("bookings yoy", date(2026, 1, 1), date(2025, 1, 1)),
    ("bookings year over year", date(2026, 1, 1), date(2025, 1, 1)),
    ("bookings year on year", date(2026, 1, 1), date(2025, 1, 1)),
    ("bookings this quarter vs same time last year", date(2026, 10, 1), date(2025, 10, 1)),
    ("bookings qoq", date(2026, 10, 1), date(2026, 7, 1)),
    ("bookings quarter over quarter", date(2026, 10, 1), date(2026, 7, 1)),
])
def test_over_the_year_or_quarter_compares_with_the_one_before(text, start, other):
    req = parse_request(text, TODAY)
    assert req.period.start == start and req.compare.kind == "period" and req.compare.period.start == other
    assert not req.unknown


@pytest.mark.parametrize(("text", "start", "end"), [
    ("bookings q3 to q4", date(2026, 7, 1), date(2026, 12, 31)),
    ("bookings from q1 to q3", date(2026, 1, 1), date(2026, 9, 30)),
    ("bookings q4 to q1", date(2026, 10, 1), date(2027, 3, 31)),
    ("bookings q1 2026 to q2 2026", date(2026, 1, 1), date(2026, 6, 30)),
    ("bookings last week to this week", date(2026, 11, 16), date(2026, 11, 29)),
    ("bookings oct to q4", date(2026, 10, 1), date(2026, 12, 31)),
])
def test_a_range_of_quarters_or_weeks_runs_from_the_first_to_the_end_of_the_last(text, start, end):
    req = parse_request(text, TODAY)
    assert (req.period.start, req.period.end) == (start, end) and req.compare is None and not req.unknown


def test_quarters_either_side_of_vs_stay_a_comparison():
    req = parse_request("bookings q3 vs q4", TODAY)
    assert (req.period.start, req.period.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert (req.compare.period.start, req.compare.period.end) == (date(2026, 10, 1), date(2026, 12, 31))


@pytest.mark.parametrize(("text", "start", "end"), [
    ("h1 pipeline", date(2026, 1, 1), date(2026, 6, 30)),
    ("pipeline 2h", date(2026, 7, 1), date(2026, 12, 31)),
    ("second half pipeline", date(2026, 7, 1), date(2026, 12, 31)),
    ("pipeline for the first half of next year", date(2027, 1, 1), date(2027, 6, 30)),
    ("won in the second half of 2025", date(2025, 7, 1), date(2025, 12, 31)),
    ("pipeline h2 2027", date(2027, 7, 1), date(2027, 12, 31)),
    ("won 2027 h2", date(2027, 7, 1), date(2027, 12, 31)),
    ("won h1 fy27", date(2027, 1, 1), date(2027, 6, 30)),
    ("won this half", date(2026, 7, 1), date(2026, 12, 31)),
    ("won last half", date(2026, 1, 1), date(2026, 6, 30)),
    ("pipeline next half", date(2027, 1, 1), date(2027, 6, 30)),
    ("pipeline first quarter", date(2026, 1, 1), date(2026, 3, 31)),
    ("vinte primo semestre", date(2026, 1, 1), date(2026, 6, 30)),
    ("vinte semestre prossimo", date(2027, 1, 1), date(2027, 6, 30)),
    ("menang semester kedua", date(2026, 7, 1), date(2026, 12, 31)),
])
def test_a_fiscal_half_year(text, start, end):
    req = parse_request(text, TODAY)
    assert (req.period.start, req.period.end) == (start, end), req.period
    assert not req.unknown and not req.names, (req.unknown, req.names)


def test_a_half_follows_the_fiscal_year_and_h3_is_said():
    from metrics.periods import PeriodError, parse_period

    half = parse_period("h1", date(2026, 11, 25), fiscal_year_start_month=2)  # FY2027 runs Feb 2026 - Jan 2027
    assert (half.start, half.end, half.label) == (date(2026, 2, 1), date(2026, 7, 31), "H1 FY2027")
    with pytest.raises(PeriodError, match="H3"):
        parse_period("h3", date(2026, 11, 25))
    assert parse_request("pipeline last 24h", TODAY).period is None  # 24 is no half


@pytest.mark.parametrize(("text", "scope"), [
    ("lost deals by reason", ""),
    ("loss reasons this quarter", ""),
    ("why did we lose deals this year", ""),
    ("why did dana lose", "dana"),
    ("perse per motivo", ""),
    ("kalah berdasarkan alasan", ""),
    ("perché abbiamo perso trattative questo trimestre", ""),
    ("kenapa kita kalah kuartal ini", ""),
    ("perché dana perde", "dana"),
])
def test_why_deals_were_lost_is_closed_lost_by_loss_reason(text, scope):
    req = parse_request(text, TODAY)
    assert (req.metric, req.by, req.scope_text) == ("closed_lost", ("loss_reason",), scope), req
    assert not req.unknown


def test_how_many_deals_did_we_lose_is_closed_lost():
    req = parse_request("how many deals did we lose last quarter", TODAY)
    assert (req.metric, req.by, req.period.label, req.unknown) == ("closed_lost", (), "last quarter (Q3 FY2026)", [])


@pytest.mark.parametrize("text", ["pipeline by lead source", "bookings by channel this year",
                                  "top 3 sources by pipeline", "pipeline per fonte", "pipeline berdasarkan sumber"])
def test_by_source(text):
    """"lead" in "by lead source" is no manager ("leader")."""
    req = parse_request(text, TODAY)
    assert req.by == ("source",) and not req.names and not req.unknown, (req.by, req.names, req.unknown)


@pytest.mark.parametrize(("text", "scope"), [
    ("deals owned by dana", "dana"),
    ("opportunities assigned to dana", "dana"),
    ("deals closing this month owned by dana", "dana"),
    ("deals managed by max", "max"),
    ("pipeline owned by the west team", "west team"),
    ("deals dana owns", "dana"),
    ("how much pipeline everyone has", "org"),
])
def test_whose_deals_they_are(text, scope):
    """"owned by", "assigned to", "X owns": the scope, not a name called "owned"."""
    req = parse_request(text, TODAY)
    assert req.scope_text == scope and not req.unknown, (req.scope_text, req.unknown, req.names)
