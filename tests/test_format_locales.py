"""Golden tables: money, percentages, numbers and dates per locale, as CLDR writes them (Babel's data).

The expected strings are written from CLDR's patterns, not taken from the code: en short currency '¤0K'/'¤0M'/'¤0B'
(symbol against the number); id '¤0 rb'/'¤0 jt'/'¤0 M' (ribu, juta, miliar) with a no-break space; it '0K ¤',
'0 Mln ¤', '0 Mld ¤' (migliaia, milioni, miliardi; symbol after, no-break spaces). Decimal separator '.' in en,
',' in id and it; grouping ',' in en, '.' in id and it. Medium dates: 'd MMM y' in id and it with the months
'Okt'/'Mei' and 'ott'/'mag'. The bot writes a real minus sign (U+2212) where CLDR has the hyphen-minus.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from i18n import use_currency, use_locale
from render.format import count, date_text, first_weekday, fmt, money, money_exact, money_short, multiple, percent

NB = "\u00a0"  # CLDR's no-break space
M = "\u2212"  # the real minus sign the bot writes

MONEY = [
    # (locale, currency, value, expected)
    ("en", "USD", 1_200_000, "$1.2M"),
    ("en", "USD", Decimal("1234567890"), "$1.2B"),
    ("en", "USD", 12_400, "$12.4K"),
    ("en", "USD", 350_000, "$350K"),
    ("en", "USD", 950, "$950"),
    ("en", "USD", 0, "$0"),
    ("en", "USD", Decimal("0.5"), "$0.50"),
    ("en", "USD", -1_500, f"{M}$1.5K"),
    ("en", "EUR", 999_600, "€1M"),
    ("id", "IDR", 1_200_000, f"Rp1,2{NB}jt"),
    ("id", "IDR", Decimal("1234567890"), f"Rp1,2{NB}M"),
    ("id", "IDR", 12_400, f"Rp12,4{NB}rb"),
    ("id", "IDR", 350_000, f"Rp350{NB}rb"),
    ("id", "IDR", 950, "Rp950"),
    ("id", "IDR", 0, "Rp0"),
    ("id", "IDR", -1_500, f"{M}Rp1,5{NB}rb"),
    ("id", "USD", 1_200_000, f"US$1,2{NB}jt"),
    ("it", "EUR", 1_200_000, f"1,2{NB}Mln{NB}€"),
    ("it", "EUR", Decimal("1234567890"), f"1,2{NB}Mld{NB}€"),
    ("it", "EUR", 12_400, f"12,4K{NB}€"),
    ("it", "EUR", 350_000, f"350K{NB}€"),
    ("it", "EUR", 950, f"950{NB}€"),
    ("it", "EUR", 0, f"0{NB}€"),
    ("it", "EUR", Decimal("0.5"), f"0,50{NB}€"),
    ("it", "EUR", -1_500, f"{M}1,5K{NB}€"),
    ("it", "USD", 12_000_000, f"12{NB}Mln{NB}USD"),
]


@pytest.mark.parametrize(("locale", "currency", "value", "expected"), MONEY)
def test_money_per_locale(locale, currency, value, expected):
    assert money(value, currency, locale) == expected


@pytest.mark.parametrize(
    ("locale", "currency", "value", "expected"),
    [
        ("en", "USD", 12_500, "$12,500"),
        ("en", "USD", Decimal("12345.67"), "$12,345.67"),
        ("en", "USD", Decimal("-1200.5"), f"{M}$1,200.50"),
        ("id", "IDR", 12_500, "Rp12.500"),
        ("id", "IDR", Decimal("12345.67"), "Rp12.345,67"),
        ("it", "EUR", 12_500, f"12.500{NB}€"),
        ("it", "EUR", Decimal("12345.67"), f"12.345,67{NB}€"),
        ("it", "EUR", Decimal("-1200.5"), f"{M}1.200,50{NB}€"),
        ("it", "EUR", 0, f"0{NB}€"),
    ],
)
def test_money_exact_per_locale(locale, currency, value, expected):
    assert money_exact(value, currency, locale) == expected


@pytest.mark.parametrize(
    ("locale", "ratio", "expected"),
    [
        ("en", 0.632, "63%"),
        ("en", 12.5, "1,250%"),
        ("en", 0.0049, "0.5%"),
        ("en", 0.0004, "<0.1%"),
        ("en", -0.05, f"{M}5%"),
        ("en", 0, "0%"),
        ("id", 0.632, "63%"),
        ("id", 12.5, "1.250%"),
        ("id", 0.0049, "0,5%"),
        ("id", 0.0004, "<0,1%"),
        ("it", 0.632, "63%"),
        ("it", 12.5, "1.250%"),
        ("it", 0.0049, "0,5%"),
        ("it", -0.05, f"{M}5%"),
        ("it", 0, "0%"),
    ],
)
def test_percent_per_locale(locale, ratio, expected):
    assert percent(ratio, locale) == expected


@pytest.mark.parametrize(
    ("locale", "day", "expected"),
    [
        ("en", date(2026, 10, 1), "1 Oct 2026"),
        ("en", date(2026, 5, 31), "31 May 2026"),
        ("id", date(2026, 10, 1), "1 Okt 2026"),
        ("id", date(2026, 5, 31), "31 Mei 2026"),
        ("it", date(2026, 10, 1), "1 ott 2026"),
        ("it", date(2026, 5, 31), "31 mag 2026"),
    ],
)
def test_dates_per_locale(locale, day, expected):
    assert date_text(day, locale) == expected


@pytest.mark.parametrize(
    ("locale", "expected_count", "expected_multiple"),
    [("en", "1,234", "3.2×"), ("id", "1.234", "3,2×"), ("it", "1.234", "3,2×")],
)
def test_numbers_per_locale(locale, expected_count, expected_multiple):
    assert count(1234, locale) == expected_count
    assert count(-3, locale) == f"{M}3"
    assert multiple(3.24, locale) == expected_multiple


@pytest.mark.parametrize("locale", ["en", "id", "it"])
def test_week_starts_on_monday(locale):
    """CLDR's first day for the languages without a territory ('001'): Monday, as the bot's weeks."""
    assert first_weekday(locale) == 0


def test_the_context_locale_and_currency_reach_every_formatter():
    """Renderers call fmt()/money_short() with no locale: the speaker's locale and the org currency apply."""
    with use_locale("it-IT"), use_currency("EUR"):
        assert fmt(Decimal(1_200_000), "money") == f"1,2{NB}Mln{NB}€"
        assert money_short(20_000) == f"20K{NB}€"
        assert fmt(0.25, "ratio") == "25%"
        assert fmt(date(2026, 10, 1), "date") == "1 ott 2026"
    assert fmt(Decimal(1_200_000), "money") == "$1.2M"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", ["1 day", "41 days", f"{M}2 days"]), ("id", ["1 hari", "41 hari", f"{M}2 hari"]),
     ("it", ["1 giorno", "41 giorni", f"{M}2 giorni"])],
)
def test_days_are_said_in_the_locale(locale, expected):
    from render.format import days

    assert [days(1, locale), days(41, locale), days(-2, locale)] == expected


# A moment (Tuesday 8 December 2026, 17:00 in New York): CLDR's day skeletons MMMEd / yMMMEd / MMMd / E ('EEE, MMM d'
# in en, 'EEE, d MMM' in id, 'EEE d MMM' in it; Selasa is 'Sel', martedì 'mar', dicembre 'dic', Desember 'Des'),
# then the 24-hour clock and the zone's abbreviation.
MOMENTS = [
    # (locale, options, expected)
    ("en", {}, "Tue, Dec 8, 17:00 EST"),
    ("id", {}, "Sel, 8 Des, 17:00 EST"),
    ("it", {}, "mar 8 dic, 17:00 EST"),
    ("en", {"with_year": True}, "Tue, Dec 8, 2026, 17:00 EST"),
    ("id", {"with_year": True}, "Sel, 8 Des 2026, 17:00 EST"),
    ("it", {"with_year": True}, "mar 8 dic 2026, 17:00 EST"),
    ("en", {"weekday": False}, "Dec 8, 17:00 EST"),
    ("id", {"weekday": False}, "8 Des, 17:00 EST"),
    ("it", {"weekday": False, "with_year": True}, "8 dic 2026, 17:00 EST"),
    ("en", {"day": False, "zone": False}, "Tue 17:00"),
    ("id", {"day": False}, "Sel 17:00 EST"),
    ("it", {"day": False, "zone": False}, "mar 17:00"),
]


@pytest.mark.parametrize(("locale", "options", "expected"), MOMENTS)
def test_moments_per_locale(locale, options, expected):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from render.format import moment_text

    moment = datetime(2026, 12, 8, 17, 0, tzinfo=ZoneInfo("America/New_York"))
    assert moment_text(moment, locale, **options) == expected
    with use_locale(locale):
        assert moment_text(moment, **options) == expected  # the asker's language when none is given
