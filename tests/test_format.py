"""render.format: values for people, escaping and truncation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from render.format import (
    count,
    date_text,
    days,
    display_width,
    escape_mrkdwn,
    fit_width,
    fmt,
    format_table,
    money,
    money_short,
    one_line,
    percent,
    truncate,
    truncate_escaped,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_200_000, "$1.2M"),
        (Decimal("1234567.89"), "$1.2M"),
        (12_000_000, "$12M"),
        (1_000_000, "$1M"),
        (999_600, "$1M"),  # rounds up into millions, never "$1000K"
        (350_000, "$350K"),
        (Decimal("350000.00"), "$350K"),
        (12_400, "$12.4K"),
        (99_999.6, "$100K"),
        (1_500, "$1.5K"),
        (9_960, "$10K"),
        (950, "$950"),
        (0, "$0"),
        (Decimal("0.00"), "$0"),
        (0.5, "$0.50"),
        (-1_500, "−$1.5K"),
        (-1_200_000, "−$1.2M"),
        (1_234_567_890, "$1.2B"),
        (None, "—"),
        ("not a number", "—"),
        (float("nan"), "—"),
        ("12400", "$12.4K"),
    ],
)
def test_money(value, expected):
    assert money(value) == expected


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [(5_000, "EUR", "€5K"), (5_000, "GBP", "£5K"), (5_000, "CHF", "CHF5K"), (-20_000, "eur", "−€20K")],
)
def test_money_currency(value, currency, expected):
    """CLDR's en pattern is '¤0K' with the symbol against the number; Babel does not apply CLDR's currencySpacing
    (which would put a no-break space after 'CHF'), so a code with no symbol of its own reads 'CHF5K'."""
    assert money(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "$0"), (500, "$500"), (5_000, "$5K"), (20_000, "$20K"), (12_400, "$12.4K"), (1_200_000, "$1.2M"), (None, "—")],
)
def test_money_short(value, expected):
    assert money_short(value) == expected


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.632, "63%"),
        (Decimal("0.632"), "63%"),
        (0.0049, "0.5%"),
        (0.0004, "<0.1%"),
        (0, "0%"),
        (1, "100%"),
        (1.25, "125%"),
        (12.5, "1,250%"),
        (-0.05, "−5%"),
        (None, "—"),
    ],
)
def test_percent(ratio, expected):
    assert percent(ratio) == expected


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (count, 1234, "1,234"),
        (count, 0, "0"),
        (count, Decimal("7"), "7"),
        (count, -3, "−3"),
        (count, None, "—"),
        (days, 41, "41 days"),
        (days, 1, "1 day"),
        (days, 0, "0 days"),
        (days, 2.6, "3 days"),
        (days, Decimal("1.2"), "1 day"),
        (days, None, "—"),
        (date_text, date(2026, 10, 31), "31 Oct 2026"),
        (date_text, datetime(2026, 1, 3, 14, 5), "3 Jan 2026"),
        (date_text, None, "—"),
    ],
)
def test_count_days_dates(fn, value, expected):
    assert fn(value) == expected


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (Decimal(1_200_000), "money", "$1.2M"),
        (0.632, "ratio", "63%"),
        (42, "count", "42"),
        (41, "days", "41 days"),
        (date(2026, 11, 30), "date", "30 Nov 2026"),
        ("West", "text", "West"),
        (None, "money", "—"),
        (None, "text", "—"),
        ("n/a", "money", "n/a"),  # text in a number column is shown as it is
        (7, "unknown-format", "7"),
        (date(2026, 11, 30), "text", "30 Nov 2026"),
    ],
)
def test_fmt_dispatch(value, kind, expected):
    assert fmt(value, kind) == expected


def test_escape_mrkdwn():
    assert escape_mrkdwn("<script> & Co") == "&lt;script&gt; &amp; Co"
    assert escape_mrkdwn("<!channel>") == "&lt;!channel&gt;"
    assert escape_mrkdwn("<@U123|boss>") == "&lt;@U123|boss&gt;"
    assert escape_mrkdwn("&amp;") == "&amp;amp;"  # data is escaped as data, even if it looks escaped
    assert escape_mrkdwn(None) == ""
    assert escape_mrkdwn(12) == "12"


def test_truncate():
    assert truncate("hello", 10) == "hello"
    assert truncate("hello", 5) == "hello"
    assert truncate("hello world", 6) == "hello…"
    assert len(truncate("x" * 500, 150)) == 150
    assert truncate("abc", 0) == ""
    assert truncate(None, 5) == ""


def test_truncate_escaped_never_splits_an_entity():
    text = escape_mrkdwn("&" * 1000)
    for n in range(1, 40):
        out = truncate_escaped(text, n)
        assert len(out) <= n
        body = out.removesuffix("…")
        assert body.replace("&amp;", "") == "", out


def test_one_line_drops_controls_and_newlines():
    assert one_line("a\nb\tc\r\nd") == "a b c d"
    assert one_line("\x1b[31mred\x1b[0m") == "red"  # the whole escape sequence, not only its ESC
    assert one_line("x\x1bcy\x1b[?25l") == "xy"  # a terminal reset; hide the cursor
    assert one_line("ab\u202ecd") == "abcd"


def test_display_width_and_fit():
    assert display_width("abc") == 3
    assert display_width("漢字") == 4
    assert display_width("e\u0301") == 1
    assert display_width(fit_width("漢字漢字漢字", 5)) <= 5
    assert fit_width("short", 10) == "short"


def test_format_table_aligns_columns():
    lines = format_table(
        [("Deal", "text"), ("Amount", "money")],
        [["Acme", 12_400], ["Globex 漢字 Corporation", 350_000], ["Initech", None]],
    )
    assert lines[0].startswith("Deal")
    widths = {display_width(line) for line in lines}
    assert len(widths) == 1  # every line ends at the right edge of the money column
    assert lines[2].endswith("$12.4K")
    assert lines[4].endswith("—")


def test_format_table_narrows_wide_text():
    lines = format_table([("Name", "text"), ("Note", "text")], [["n" * 500, "x" * 500]], max_total=60)
    assert all(display_width(line) <= 60 for line in lines)
    assert "…" in lines[2]
