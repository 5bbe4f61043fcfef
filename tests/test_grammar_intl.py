"""Subcommands, scopes, periods and dates asked in Indonesian and Italian, mixed with English, read by the same
grammar `bot.py parse` uses; numeric dates in the order the asker's language writes them."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from assistant.grammar import parse_request
from i18n import _, translations, use_locale
from metrics.moments import parse_moment
from metrics.periods import PeriodError, day_first, parse_period

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "intent", "scope", "name"),
    [
        ("/sales kuota", "quota", None, None),
        ("/sales kuota tim saya", "quota", "team", None),
        ("berapa pipeline saya?", "pipeline", "me", None),
        ("/sales prakiraan q3", "forecast", None, None),
        ("/sales macet Dana", "stalled", None, "Dana"),
        ("/sales peringkat tim", "leaderboard", "team", None),
        ("/sales siklus ytd", "cycle", None, None),
        ("/sales perubahan", "changes", None, None),
        ("/sales pengaturan", "settings", None, None),
        ("/sales bantuan", "help", None, None),
        ("/sales komisi", "commission", None, None),
        ("/sales previsione", "forecast", None, None),
        ("come sto andando rispetto alla quota?", "quota", None, None),
        ("/sales trattative bloccate di Marco", "stalled", None, "Marco"),
        ("mostrami le trattative bloccate", "stalled", None, None),
        ("/sales classifica team", "leaderboard", "team", None),
        ("/sales ciclo ytd", "cycle", None, None),
        ("/sales modifiche since last week", "changes", None, None),
        ("/sales impostazioni", "settings", None, None),
        ("/sales aiuto", "help", None, None),
        ("/sales provvigione", "commission", None, None),
        ("/sales trattativa Acme renewal", "deal", "default", None),
    ],
)
def test_indonesian_and_italian_subcommands_and_scopes(text, intent, scope, name):
    request = parse_request(text, TODAY)
    assert request.intent == intent
    assert request.scope_word == scope
    assert [n for n, _ in request.names] == ([name] if name else [])
    assert request.problem is None


# Worked out by hand for Tuesday 2026-12-01, fiscal years from January; weeks start on Monday (Nov 30).
@pytest.mark.parametrize(
    ("lang", "text", "start", "end"),
    [
        ("id", "/sales pipeline kuartal ini", "2026-10-01", "2026-12-31"),
        ("id", "kuartal lalu", "2026-07-01", "2026-09-30"),
        ("id", "pipeline kuartal depan", "2027-01-01", "2027-03-31"),
        ("id", "berapa pipeline saya bulan depan?", "2027-01-01", "2027-01-31"),
        ("id", "forecast bulan lalu", "2026-11-01", "2026-11-30"),
        ("id", "pipeline minggu ini", "2026-11-30", "2026-12-06"),
        ("id", "pipeline tahun ini", "2026-01-01", "2026-12-31"),
        ("id", "pipeline kuartal 3", "2026-07-01", "2026-09-30"),
        ("id", "pipeline kuartal ketiga", "2026-07-01", "2026-09-30"),
        ("id", "pipeline 30 hari terakhir", "2026-11-02", "2026-12-01"),
        ("id", "pipeline kuartl dpn", "2027-01-01", "2027-03-31"),
        ("id", "perubahan sejak 1/10", "2026-10-01", "2026-12-01"),
        ("id", "deal yang closing 1 okt", "2026-10-01", "2026-10-01"),
        ("id", "deal closing akhir bulan", "2026-12-01", "2026-12-31"),
        ("it", "/sales previsione trimestre prossimo", "2027-01-01", "2027-03-31"),
        ("it", "pipeline trimestre", "2026-10-01", "2026-12-31"),
        ("it", "pipeline questo trimestre", "2026-10-01", "2026-12-31"),
        ("it", "pipeline trimestre scorso", "2026-07-01", "2026-09-30"),
        ("it", "pipeline questo mese", "2026-12-01", "2026-12-31"),
        ("it", "pipeline mese prossimo", "2027-01-01", "2027-01-31"),
        ("it", "pipeline questa settimana", "2026-11-30", "2026-12-06"),
        ("it", "pipeline quest'anno", "2026-01-01", "2026-12-31"),
        ("it", "pipeline ottobre", "2026-10-01", "2026-10-31"),
        ("it", "cosa è cambiato dal 1 ottobre", "2026-10-01", "2026-12-01"),
        ("it", "cosa è cambiato da lunedì", "2026-11-30", "2026-12-01"),
        ("it", "pipeline trimestr scorso", "2026-07-01", "2026-09-30"),
        ("it", "trattative che chiudono dal 1/12 al 15/12", "2026-12-01", "2026-12-15"),
        ("it", "quanto ho chiuso da inizio anno", "2026-01-01", "2026-12-01"),
    ],
)
def test_periods_in_indonesian_and_italian(lang, text, start, end):
    with use_locale(lang):
        request = parse_request(text, TODAY)
    assert request.problem is None and request.unknown == []
    assert (request.period.start.isoformat(), request.period.end.isoformat()) == (start, end)


@pytest.mark.parametrize(
    ("lang", "text", "day"),
    [
        ("it", "1/10", date(2026, 10, 1)), ("id", "1/10", date(2026, 10, 1)), ("en", "1/10", date(2027, 1, 10)),
        ("it", "01/10/2026", date(2026, 10, 1)), ("en", "10/01/2026", date(2026, 10, 1)),
        ("id", "1-10-2026", date(2026, 10, 1)), ("it", "1.10.26", date(2026, 10, 1)),
        ("en", "13/10", date(2026, 10, 13)),  # no 13th month: the only reading there is
        ("it", "15/1", date(2027, 1, 15)),  # without a year: the nearest one
        ("it", "1 ottobre", date(2026, 10, 1)), ("id", "1 okt 2025", date(2025, 10, 1)),
        ("en", "oct 15", date(2026, 10, 15)),
    ],
)
def test_a_date_is_read_in_the_order_the_askers_language_writes_it(lang, text, day):
    with use_locale(lang):
        period = parse_period(text, TODAY)
    assert (period.start, period.end, period.grain) == (day, day, "day")


def test_day_first_comes_from_the_locale():
    assert (day_first("en"), day_first("it"), day_first("id"), day_first("en_GB")) == (False, True, True, True)


def test_an_impossible_date_is_a_sentence():
    with use_locale("it"), pytest.raises(PeriodError, match="gg/mm/aaaa"):
        parse_period("31/2", TODAY)


def test_an_as_of_date_without_a_year_is_the_last_one_that_came():
    zone = ZoneInfo("Europe/Rome")
    with use_locale("it"):
        assert parse_moment("15/1", TODAY, zone).date() == date(2026, 1, 15)
        assert parse_moment("1 ottobre", TODAY, zone).date() == date(2026, 10, 1)
    with use_locale("id"):
        assert parse_moment("1 okt", TODAY, zone).date() == date(2026, 10, 1)
    with use_locale("en"):
        assert parse_moment("1/10", TODAY, zone).date() == date(2026, 1, 10)


@pytest.mark.parametrize("lang", ["id", "it"])
def test_a_typo_is_said_back_in_the_askers_language(lang):
    with use_locale(lang):
        request = parse_request("/sales pipline", TODAY)
        said = _("{reading} (for “{word}”)")
    assert said != "{reading} (for “{word}”)" and translations(lang).gettext("{reading} (for “{word}”)") == said
    assert request.intent == "pipeline" and request.notes == [said.format(reading="pipeline", word="pipline")]


ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize(
    ("lang", "text", "day"),
    [
        ("id", "pipeline per 1 okt", date(2026, 10, 1)),
        ("id", "pipeline saya per tanggal 1/10", date(2026, 10, 1)),
        ("id", "forecast tim posisi per kemarin", date(2026, 11, 30)),
        ("id", "pipeline per tgl 15/11/2026", date(2026, 11, 15)),
        ("id", "forecast tim per akhir bulan lalu", date(2026, 11, 30)),
        ("it", "pipeline al 1 ott", date(2026, 10, 1)),
        ("it", "la mia pipeline alla data del 1/10", date(2026, 10, 1)),
        ("it", "pipeline all'1/10", date(2026, 10, 1)),
        ("it", "previsione del team a fine mese scorso", date(2026, 11, 30)),
        ("it", "previsione alla fine del trimestre scorso", date(2026, 9, 30)),
        ("it", "pipeline alla data di ieri", date(2026, 11, 30)),
    ],
)
def test_as_of_said_the_indonesian_or_italian_way(lang, text, day):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is not None and req.as_of.astimezone(ROME).date() == day, (text, req.as_of)
    assert req.period is None and not req.unknown and not req.names and req.problem is None


@pytest.mark.parametrize(
    ("lang", "text", "by", "period"),
    [
        ("id", "pipeline per sales", ("owner",), None),
        ("id", "deal per bulan", ("month",), None),
        ("it", "trattative dal 1/10 al 15/10", (), (date(2026, 10, 1), date(2026, 10, 15))),
        ("it", "pipeline a fine mese", (), (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_as_of_words_in_other_roles_are_not_a_moment(lang, text, by, period):
    """"per" is also a breakdown, "al" the end of a range, and the end of this month has not come yet."""
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is None
    assert req.by == by
    assert (req.period.start, req.period.end) == period if period else req.period is None


@pytest.mark.parametrize(
    ("lang", "text", "intent", "metric", "weekly"),
    [
        ("id", "/sales tren pipeline mingguan", "trend", "pipeline", True),
        ("id", "/sales tren kuota tim bulanan", "trend", "attainment", False),
        ("it", "/sales andamento pipeline settimanale", "trend", "pipeline", True),
        ("it", "andamento della previsione del team", "trend", "forecast", False),
        ("it", "andamento del fatturato mese per mese quest'anno", "metric", "closed_won", False),
        ("id", "/sales akurasi", "accuracy", None, False),
        ("id", "seberapa akurat forecast tim saya?", "accuracy", None, False),
        ("it", "/sales accuratezza", "accuracy", None, False),
        ("it", "accuratezza delle previsioni del team", "accuracy", None, False),
        ("id", "/sales pergerakan pipeline kuartal ini", "waterfall", None, False),
        ("it", "/sales cascata trimestre scorso", "waterfall", None, False),
        ("it", "movimenti della pipeline del team", "waterfall", None, False),
        ("id", "/sales panggilan", "call", None, False),
        ("id", "/sales kirim forecast", "call", None, False),
        ("id", "/sales daftar panggilan tim", "calls", None, False),
        ("it", "/sales chiamata", "call", None, False),
        ("it", "/sales invia previsione", "call", None, False),
        ("it", "/sales chiamate del team", "calls", None, False),
        ("it", "/sales previsione", "forecast", "forecast", False),
    ],
)
def test_trend_accuracy_waterfall_and_call_words(lang, text, intent, metric, weekly):
    with use_locale(lang):
        req = parse_request(text, TODAY)
    assert (req.intent, req.metric) == (intent, metric), text
    assert ("weekly" in req.options) == weekly
    assert not req.unknown and not req.names, (req.unknown, req.names)


@pytest.mark.parametrize(
    ("lang", "text", "note"),
    [
        ("it", "/sales cascatta", "cascata della pipeline (per “cascatta”)"),
        ("it", "/sales accuratteza", "accuratezza (per “accuratteza”)"),
        ("it", "pipeline per fasse", "per fase (per “fasse”)"),
        ("id", "/sales waterfal", "waterfall pipeline (untuk “waterfal”)"),
        ("id", "pipeline berdasarkan tahapp", "per tahap (untuk “tahapp”)"),
        ("en", "/sales waterfal", "waterfall (for “waterfal”)"),
    ],
)
def test_a_guess_names_what_it_read_in_the_askers_language(lang, text, note):
    """"I read this as…" names the subcommand, option or breakdown in the asker's words (assistant.reading_words)."""
    with use_locale(lang):
        assert parse_request(text, TODAY).notes == [note]


@pytest.mark.parametrize(
    ("lang", "text", "compare", "filters", "currency", "all_time"),
    [
        ("id", "win rate tahun ini dibanding tahun lalu", ("period", date(2025, 1, 1)), {}, None, False),
        ("it", "tasso di vittoria quest'anno rispetto all'anno scorso", ("period", date(2025, 1, 1)), {}, None, False),
        ("it", "pipeline questo trimestre contro trimestre scorso", ("period", date(2026, 7, 1)), {}, None, False),
        ("it", "come sto andando rispetto alla quota?", None, {}, None, False),
        ("id", "bandingkan Budi dan Siti closing", ("scope", "Siti"), {}, None, False),
        ("it", "confronta Marco e Giulia fatturato", ("scope", "Giulia"), {}, None, False),
        ("id", "deal antara 100 juta dan 500 juta", None, {"amount_min": 10**8, "amount_max": 5 * 10**8}, None, False),
        ("it", "trattative tra 100k e 500k", None, {"amount_min": 10**5, "amount_max": 5 * 10**5}, None, False),
        ("id", "pipeline dalam eur", None, {}, "EUR", False),
        ("id", "closing sepanjang masa", None, {}, None, True),
        ("it", "fatturato da sempre", None, {}, None, True),
    ],
)
def test_comparisons_ranges_currencies_and_all_time_in_indonesian_and_italian(lang, text, compare, filters, currency,
                                                                              all_time):
    with use_locale(lang):
        req = parse_request(text, TODAY)
    other = req.compare and (req.compare.period.start if req.compare.period else req.compare.names[0][0])
    got = req.compare and (req.compare.kind, other)
    assert got == compare
    assert req.filters == filters and req.currency == currency
    assert (req.period is not None and req.period.label == _("all time")) == all_time or not all_time
    assert not req.unknown and (req.intent != "deal"), (req.unknown, req.intent)


@pytest.mark.parametrize("lang", ["en", "id", "it"])
def test_the_examples_offered_read_as_questions_in_their_language(lang):
    """"I can't answer that yet" offers the nearest examples in the asker's language: each one must be understood."""
    from assistant.service import EXAMPLES_BY_LANGUAGE, closest_examples

    with use_locale(lang):
        for example in EXAMPLES_BY_LANGUAGE[lang]:
            req = parse_request(example, TODAY)
            assert req.intent_given and not req.unknown and req.problem is None, (example, req.unknown)
        assert set(closest_examples("xyz pipeline")) <= set(EXAMPLES_BY_LANGUAGE[lang])


@pytest.mark.parametrize(("lang", "text", "filters"), [
    ("it", "trattative oltre 125.000", {"amount_min": 125000}),
    ("it", "trattative tra 50.000 e 1.250.000,50", {"amount_min": 50000, "amount_max": 1250000.5}),
    ("id", "deal di atas Rp125.000", {"amount_min": 125000}),
    ("id", "deal di atas 1,5 jt", {"amount_min": 1500000}),
    ("en", "deals over 125,000", {"amount_min": 125000}),
    ("en", "deals under $2.5m", {"amount_max": 2500000}),
])
def test_amounts_are_read_the_way_the_askers_language_writes_numbers(lang, text, filters):
    with use_locale(lang):
        req = parse_request(text, TODAY)
    assert {k: float(v) for k, v in req.filters.items()} == filters and req.problem is None


@pytest.mark.parametrize(("lang", "text"), [("en", "deals over 125.000"), ("it", "trattative oltre 125,000")])
def test_an_amount_that_reads_two_ways_is_asked_back_not_guessed(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY)
        assert "amount_min" not in req.filters
        unclear = _("I can't tell whether {said} means {small} or {large}: write {large} or {short}.")
        assert req.problem == unclear.format(said=text.split()[-1], small="125", large="125000", short="125k")


@pytest.mark.parametrize(
    ("lang", "text", "start", "end"),
    [
        ("it", "pipeline tra 1/10 e 31/12", date(2026, 10, 1), date(2026, 12, 31)),
        ("it", "pipeline fra il 1/10 e il 31/12", date(2026, 10, 1), date(2026, 12, 31)),
        ("it", "pipeline tra ottobre e dicembre", date(2026, 10, 1), date(2026, 12, 31)),
        ("it", "pipeline dal 1 ottobre al 31 dicembre", date(2026, 10, 1), date(2026, 12, 31)),
        # "da … a …": "a" joins the two ends only when both read as periods
        ("it", "pipeline da ottobre a dicembre", date(2026, 10, 1), date(2026, 12, 31)),
        ("it", "vinte da 1/10 a 15/10", date(2026, 10, 1), date(2026, 10, 15)),
        ("it", "vinte da 1 a 15 ottobre", date(2026, 10, 1), date(2026, 10, 15)),
        ("it", "vinte dal 1 al 15 ottobre", date(2026, 10, 1), date(2026, 10, 15)),
        ("it", "trattative tra 50.000 e 100.000 tra 1/10 e 31/12", date(2026, 10, 1), date(2026, 12, 31)),
        ("it", "pipeline fino al 31/12", TODAY, date(2026, 12, 31)),
        ("it", "pipeline fino a dicembre", TODAY, date(2026, 12, 31)),
        ("it", "pipeline entro il 31/12", TODAY, date(2026, 12, 31)),
        ("it", "pipeline prima del 31/12", TODAY, date(2026, 12, 30)),
        ("id", "pipeline antara 1/10 dan 31/12", date(2026, 10, 1), date(2026, 12, 31)),
        ("id", "pipeline antara 1 Oktober dan 31 Desember", date(2026, 10, 1), date(2026, 12, 31)),
        ("id", "deal antara 50 jt dan 100 jt antara oktober dan desember", date(2026, 10, 1), date(2026, 12, 31)),
        ("id", "pipeline sampai 31/12", TODAY, date(2026, 12, 31)),
        ("id", "pipeline hingga desember", TODAY, date(2026, 12, 31)),
        ("id", "pipeline sebelum 31/12", TODAY, date(2026, 12, 30)),
    ],
)
def test_a_range_of_days_is_read_whole_in_the_askers_order(lang, text, start, end):
    """"tra X e Y", "antara X dan Y": both ends count, read in the order the asker writes dates; "fino al X",
    "sampai X" run from today."""
    with use_locale(lang):
        req = parse_request(text, TODAY)
    assert (req.period.start, req.period.end) == (start, end), req.period
    assert not req.unknown and not req.names and req.problem is None, (req.unknown, req.names, req.problem)


@pytest.mark.parametrize(("lang", "text"), [("it", "trattative tra 50.000 e 100.000"),
                                            ("it", "trattative da 50.000 a 100.000"),
                                            ("id", "pipeline dari 50 jt sampai 100 jt"),
                                            ("id", "deal antara 50 jt dan 100 jt")])
def test_amount_ranges_are_no_period_in_other_languages(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY)
    assert req.period is None and not req.names and not req.unknown, (req.period, req.names, req.unknown)
    assert (req.filters["amount_min"], req.filters["amount_max"]) in ((50000, 100000), (5 * 10**7, 10**8))


@pytest.mark.parametrize(("lang", "text"), [
    ("id", "pipeline saya tanggal 1 okt"),
    ("id", "berapa pipeline saya pada 1 okt"),
    ("id", "forecast tim pada tanggal 1/10"),
    ("it", "com'era la pipeline il 1 ott"),
    ("it", "quante trattative erano aperte il 1/10"),
])
def test_a_state_on_a_day_is_as_of_that_day(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is not None and req.as_of.astimezone(ROME).date() == date(2026, 10, 1), text
    assert req.period is None and not req.unknown and req.problem is None


@pytest.mark.parametrize(("lang", "text"), [
    ("id", "deal yang ditutup tanggal 1 okt"),
    ("id", "pipeline yang closing tanggal 1 okt"),
    ("it", "trattative chiuse il 1 ott"),
    ("it", "cosa era stato vinto il 1 ott"),
])
def test_what_happened_on_a_day_is_that_day_in_indonesian_and_italian(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is None and (req.period.start, req.period.end) == (date(2026, 10, 1), date(2026, 10, 1)), text


@pytest.mark.parametrize(("lang", "text", "period"), [
    ("id", "pipeline per sekarang", None),
    ("id", "pipeline per saat ini", None),
    ("it", "pipeline ad oggi", None),
    ("it", "la pipeline al momento", None),
    ("it", "vinte dal 1/10 a oggi", (date(2026, 10, 1), date(2026, 12, 1))),
])
def test_now_said_the_indonesian_or_italian_way_is_no_moment(lang, text, period):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is None and not req.unknown and req.problem is None
    assert (req.period.start, req.period.end) == period if period else req.period is None


@pytest.mark.parametrize(("lang", "text", "start", "other"), [
    ("id", "closing yoy", date(2026, 1, 1), date(2025, 1, 1)),
    ("id", "closing tahun ke tahun", date(2026, 1, 1), date(2025, 1, 1)),
    ("id", "closing kuartal ke kuartal", date(2026, 10, 1), date(2026, 7, 1)),
    ("it", "fatturato anno su anno", date(2026, 1, 1), date(2025, 1, 1)),
    ("it", "fatturato trimestre su trimestre", date(2026, 10, 1), date(2026, 7, 1)),
    ("it", "fatturato rispetto all'anno scorso", date(2026, 1, 1), date(2025, 1, 1)),
])
def test_year_and_quarter_over_the_one_before_in_indonesian_and_italian(lang, text, start, other):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.period.start == start and req.compare.period.start == other and not req.unknown, text


@pytest.mark.parametrize(("lang", "text"), [
    ("id", "closing dari q1 sampai q3"),
    ("id", "closing q1 sampai q3"),
    ("it", "fatturato dal q1 al q3"),
    ("it", "vinte da q1 a q3"),
])
def test_a_range_of_quarters_in_indonesian_and_italian(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert (req.period.start, req.period.end) == (date(2026, 1, 1), date(2026, 9, 30)) and not req.unknown, text


@pytest.mark.parametrize(("lang", "text"), [("id", "pipeline saya tanggal 15 des"),
                                           ("it", "com'era la pipeline il 15/12")])
def test_a_state_on_a_day_still_to_come_stays_that_day(lang, text):
    with use_locale(lang):
        req = parse_request(text, TODAY, 1, ROME)
    assert req.as_of is None and (req.period.start, req.period.end) == (date(2026, 12, 15), date(2026, 12, 15)), text
