"""The importer's parts that need no database: value parsers, the CSV reader and the mapping checker."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from db.importer_model import Problem, problems_message
from db.importer_values import (
    BadValue,
    SourceError,
    parse_bool,
    parse_date,
    parse_forecast_category,
    parse_money,
    parse_percent,
    parse_text,
    parse_timestamp,
    read_csv,
    translate,
)
from db.mapping import MappingError, load_mapping

UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(("text", "expected"), [
    ("1,234.50", "1234.50"), ("$1,234", "1234.00"), ("424500", "424500.00"), ("-12.5", "-12.50"),
    ("(500)", "-500.00"), ("USD 1200", "1200.00"), ("1200 EUR", "1200.00"), ("€ 99.99", "99.99"),
    ("1.005", "1.01"), (".5", "0.50"), ("$-3", "-3.00"),
])
def test_amounts_are_exact_decimals(text, expected):
    value = parse_money(text)
    assert isinstance(value, Decimal) and value == Decimal(expected) and str(value) == expected


@pytest.mark.parametrize("text", ["12abc", "1,23", "1.2.3", "$", "(500", "500)", "12,34,567", "1e5", "N/A"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(BadValue, match="amount"):
        parse_money(text)


def test_dates_accept_iso_and_the_mapping_formats():
    assert parse_date("2026-03-31", ()) == date(2026, 3, 31)
    assert parse_date("2026-03-31T10:00:00Z", ()) == date(2026, 3, 31)
    assert parse_date("03/31/2026", ("%m/%d/%Y",)) == date(2026, 3, 31)
    with pytest.raises(BadValue, match=r"03/31/2026 \(%m/%d/%Y\)"):
        parse_date("31/03/2026", ("%m/%d/%Y",))
    with pytest.raises(BadValue, match="not a date"):
        parse_date("2026-02-30", ())


def test_timestamps_are_always_time_zone_aware():
    assert parse_timestamp("2026-03-31", (), UTC_ZONE) == datetime(2026, 3, 31, tzinfo=UTC)
    naive = parse_timestamp("2026-03-31 10:00", (), UTC_ZONE)
    assert naive == datetime(2026, 3, 31, 10, tzinfo=UTC) and naive.tzinfo is UTC
    assert parse_timestamp("2026-03-31T10:00:00+02:00", (), UTC_ZONE) == datetime(2026, 3, 31, 8, tzinfo=UTC)
    ny = parse_timestamp("03/31/2026 10:00", ("%m/%d/%Y %H:%M",), ZoneInfo("America/New_York"))
    assert ny == datetime(2026, 3, 31, 14, tzinfo=UTC)
    with pytest.raises(BadValue, match="not a date or a date and time"):
        parse_timestamp("yesterday", (), UTC_ZONE)


def test_small_parsers():
    assert parse_percent("40%") == 40 and parse_percent("40.0") == 40
    with pytest.raises(BadValue):
        parse_percent("140")
    assert parse_bool("Yes") is True and parse_bool("0") is False
    assert parse_forecast_category("BestCase") == "best_case" and parse_forecast_category("Best Case") == "best_case"
    with pytest.raises(BadValue, match="at most 5"):
        parse_text("toolong", 5)
    assert translate({"Won": "Closed Won", "N/A": None}, " won ") == "Closed Won"
    assert translate({"Won": "Closed Won", "N/A": None}, "N/A") == ""
    assert translate({"Won": "Closed Won"}, "Lost") == "Lost"


def test_csv_reader_skips_bom_comments_and_blank_rows_and_counts_lines(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"\xef\xbb\xbf# _canary guid=x\r\n# another comment\r\nid,note\r\n1,plain\r\n\r\n"
        b'2,"two\r\nlines"\r\n,\r\n3,"a, b"\r\n'
    )
    table = read_csv(path, "a.csv")
    assert table.header == ["id", "note"] and table.header_line == 3
    assert table.rows == [(4, ["1", "plain"]), (6, ["2", "two\r\nlines"]), (9, ["3", "a, b"])]
    assert table.find_column("ID") == (0, "")
    assert table.find_column("missing")[0] is None


def test_csv_reader_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        read_csv(tmp_path / "nope.csv", "nope.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,name\n1,Jos\xe9\n")
    with pytest.raises(SourceError, match="not UTF-8") as err:
        read_csv(latin, "latin.csv")
    assert err.value.line == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("# only a comment\n")
    with pytest.raises(SourceError, match="no header"):
        read_csv(empty, "empty.csv")


def _mapping(tmp_path, text: str):
    path = tmp_path / "m.yml"
    path.write_text(text)
    return load_mapping(path)


def _problems(tmp_path, text: str) -> list[Problem]:
    with pytest.raises(MappingError) as err:
        _mapping(tmp_path, text)
    return err.value.problems


def test_mapping_scalars_stay_text_and_options_are_read(tmp_path):
    m = _mapping(tmp_path, """
date_format: ["%d.%m.%Y", "%d.%m.%Y %H:%M"]
timezone: Europe/Berlin
files:
  - path: d.csv
    entity: opportunities
    key: ID
    distinct: yes
    columns: {owner: Owner, stage: Stage, name: [First, Last], amount: Amount}
    values:
      stage: {Yes: Closed Won, 010: Qualification, ~: Prospecting}
    defaults: {currency: usd, amount: 0}
""")
    (spec,) = m.files
    assert spec.values["stage"] == {"Yes": "Closed Won", "010": "Qualification", "": "Prospecting"}
    assert spec.distinct is True and spec.columns["name"] == ("First", "Last")
    assert spec.date_formats == ("%d.%m.%Y", "%d.%m.%Y %H:%M") and str(spec.timezone) == "Europe/Berlin"
    assert spec.defaults == {"currency": "usd", "amount": "0"} and spec.path == tmp_path / "d.csv"
    assert spec.source_columns() == ["ID", "Owner", "Stage", "First", "Last", "Amount"]


def test_mapping_problems_are_all_reported_with_lines(tmp_path):
    problems = _problems(tmp_path, """files:
  - path: a.csv
    entity: opportunities
    key: id
    colums: {owner: o}
    defaults: {currency: DOLLARS, probability: 140}
  - path: b.csv
    entity: reps
  - entity: stages
    path: s.csv
    rows: [{name: X}]
""")
    got = {(p.line, p.column) for p in problems}
    assert (5, "files[0].colums") in got  # the typo
    assert (2, "files[0].columns") in got  # hence no owner nor stage
    assert (6, "files[0].defaults.currency") in got and (6, "files[0].defaults.probability") in got
    assert (7, "files[1].key") in got
    assert (9, "files[2].path") in got  # path and rows together
    assert all(p.file.endswith("m.yml") for p in problems)


def test_mapping_that_is_not_a_mapping(tmp_path):
    (p,) = _problems(tmp_path, "- just\n- a list\n")
    assert "files:" in p.reason
    (p,) = _problems(tmp_path, "top: 1\nfiles: []\n")[-1:]
    assert "at least one entry" in p.reason


def test_problem_messages_are_one_line_for_one_problem_and_capped_for_many():
    one = Problem("deals.csv", 4, "Amount", "12x", "the value is not an amount.")
    expected = 'Refused: deals.csv, line 4, column "Amount", value "12x": the value is not an amount.'
    assert problems_message("Refused", [one]) == expected
    many = [Problem("deals.csv", i, "Amount", "", "missing.") for i in range(25)]
    text = problems_message("Refused", many, "Fix them.", cap=20, tail=" (see x.csv)")
    lines = text.splitlines()
    assert lines[0] == "Refused: 25 problems in 1 file. Fix them." and len(lines) == 22
    assert lines[-1] == "  ... and 5 more (see x.csv)"
    assert 'value ""' in lines[1]
    assert Problem("m.yml", 3, "files[0].key", "", "needs a key.", cell=False).sentence() == \
        'm.yml, line 3, column "files[0].key": needs a key.'
