"""One clock per person (issue 10, item 7): "today", pace and the integrity rules are read on the asker's own
calendar on every surface: `parse`, `ask` / the console (the chat's pipeline), `metrics`, `check`, digests.

The moment that tells the clocks apart: 2026-12-31 23:30 UTC is already Friday 1 January 2027, 08:30 in Tokyo
(Q1 FY2027, day 1 of 90: pace 1/90) and still Thursday 31 December, 15:30 in Los Angeles (Q4 FY2026, day 92 of
92: pace 1). The hand-built org is tests/orgs.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import text, update

import bot
from assistant.service import answer_text
from config import Settings
from db.identities import store_slack_identity
from db.schema import reps
from metrics.scopes import viewer_by_email
from render.text import answer_to_text
from scheduler.digests import preview_digest
from tests.factories import Factory
from tests.orgs import build_small_org

NEW_YEAR_EVE = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
ANN, BOB, MAX = "ann.rep@example.com", "bob.rep@example.com", "max.manager@example.com"
TOKYO, LOS_ANGELES = "Asia/Tokyo", "America/Los_Angeles"
DAY_ONE_OF_90 = (Decimal(1) / Decimal(90)).quantize(Decimal("0.0001"))  # pace is given to four places


@pytest.fixture
def org(db, monkeypatch, tmp_path, capsys):
    """The small org with Ann in Tokyo and Bob in Los Angeles; `org.run(*argv)` runs bot.py in-process."""
    ids = build_small_org(db.engine)
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id == ids["A"]).values(timezone=TOKYO))
        conn.execute(update(reps).where(reps.c.id == ids["B"]).values(timezone=LOS_ANGELES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("DEFAULT_TIMEZONE", "FISCAL_YEAR_START_MONTH"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = bot.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    ids["run"] = run
    ids["factory"] = Factory(db.engine)
    return ids


def reading(org, email: str, question: str) -> dict:
    code, out, err = org["run"]("parse", "--as", email, question, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def metric_row(org, *argv: str) -> tuple[dict, dict]:
    code, out, err = org["run"]("metrics", *argv, "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out, parse_float=Decimal)
    return data, data["rows"][0]


# --- parse, metrics --as: the asker's quarter and pace --------------------------------------------------------


def test_tokyo_is_in_q1_2027_while_los_angeles_is_still_in_q4(org):
    with time_machine.travel(NEW_YEAR_EVE, tick=False):
        tokyo, la = reading(org, ANN, "pipeline this quarter"), reading(org, BOB, "pipeline this quarter")
    assert (tokyo["period"]["start"], tokyo["period"]["end"]) == ("2027-01-01", "2027-03-31")
    assert "Q1 FY2027" in tokyo["period"]["label"]
    assert (la["period"]["start"], la["period"]["end"]) == ("2026-10-01", "2026-12-31")


def test_pace_is_day_one_of_ninety_in_tokyo_and_the_whole_quarter_in_los_angeles(org):
    f = org["factory"]
    f.quota(org["A"], date(2027, 1, 1), date(2027, 3, 31), 9000)
    with time_machine.travel(NEW_YEAR_EVE, tick=False):
        tokyo, tokyo_row = metric_row(org, "attainment", "--as", ANN)
        la, la_row = metric_row(org, "attainment", "--as", BOB)
    assert tokyo["period"]["start"] == "2027-01-01"
    assert tokyo_row["pace"] == DAY_ONE_OF_90
    assert tokyo_row["quota"] == Decimal("9000")
    assert la["period"]["start"] == "2026-10-01"
    assert la_row["pace"] == Decimal("1") and la_row["value"] == Decimal("0.6")  # Bob: 3,000 won of 5,000


def test_the_cli_without_as_uses_default_timezone(org, monkeypatch):
    """12:00 UTC on 31 Dec is 01:00 on 1 Jan in Auckland: the operator's "this quarter" follows DEFAULT_TIMEZONE."""
    moment = datetime(2026, 12, 31, 12, tzinfo=UTC)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Pacific/Auckland")
    with time_machine.travel(moment, tick=False):
        auckland, row = metric_row(org, "pipeline")
    assert (auckland["period"]["start"], row["value"]) == ("2027-01-01", Decimal("4000"))  # Ann's deal of 15 Jan
    monkeypatch.setenv("DEFAULT_TIMEZONE", "America/New_York")
    with time_machine.travel(moment, tick=False):
        new_york, row = metric_row(org, "pipeline")
    assert (new_york["period"]["start"], row["value"]) == ("2026-10-01", Decimal("3300"))


def test_the_zone_slack_gave_beats_reps_timezone_on_the_command_line_too(org, db):
    """The chat reads Slack's tz (the identity cache) before reps.timezone; `parse`, `ask` and `metrics --as`
    read the same, so one person never gets two todays. Bob's row says Los Angeles, his Slack profile Tokyo."""
    store_slack_identity(db.engine, "UBOB", email=BOB, rep_id=org["B"], tz=TOKYO, deleted=False)
    with time_machine.travel(NEW_YEAR_EVE, tick=False):
        assert reading(org, BOB, "pipeline this quarter")["period"]["start"] == "2027-01-01"
        data, _ = metric_row(org, "pipeline", "--as", BOB)
    assert data["period"]["start"] == "2027-01-01"


def test_an_unknown_zone_in_the_database_falls_back_to_default_timezone(org, db, monkeypatch):
    """A rep row with a zone that does not exist used to crash every answer for that person."""
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id == org["A"]).values(timezone="Mars/Olympus_Mons"))
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Pacific/Auckland")
    with time_machine.travel(datetime(2026, 12, 31, 12, tzinfo=UTC), tick=False):
        code, out, err = org["run"]("ask", "--as", ANN, "/sales pipeline")
        assert reading(org, ANN, "pipeline this quarter")["period"]["start"] == "2027-01-01"
    assert (code, err) == (0, "")
    assert "Q1 FY2027" in out and "went wrong" not in out


# --- check ----------------------------------------------------------------------------------------------------


def _past_close(payload: dict) -> set[str]:
    return {f["record"] for f in payload["findings"] if f["rule"] == "past_close_date"}


def test_check_judges_past_close_dates_on_default_timezone(org, monkeypatch):
    """A deal closing on 31 Dec is past its close date once 1 Jan has begun in the org's zone, not before."""
    org["factory"].deal(org["A"], "Negotiation", 900, date(2026, 12, 31), external_id="dec31", next_step="call")
    moment = datetime(2026, 12, 31, 12, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        monkeypatch.setenv("DEFAULT_TIMEZONE", "Pacific/Auckland")
        code, out, _ = org["run"]("check", "--format", "json")
        auckland = json.loads(out)
        monkeypatch.setenv("DEFAULT_TIMEZONE", "America/Los_Angeles")
        _, out, _ = org["run"]("check", "--format", "json")
        la = json.loads(out)
    assert code == 0
    assert (auckland["today"], auckland["time_zone"]) == ("2027-01-01", "Pacific/Auckland")
    assert "dec31" in _past_close(auckland)
    assert la["today"] == "2026-12-31" and "dec31" not in _past_close(la)


def test_check_as_a_person_uses_their_today_and_their_own_deals(org):
    f = org["factory"]
    f.deal(org["A"], "Negotiation", 900, date(2026, 12, 31), external_id="ann-dec31", next_step="call")
    f.deal(org["B"], "Negotiation", 800, date(2026, 12, 31), external_id="bob-dec31", next_step="call")
    with time_machine.travel(NEW_YEAR_EVE, tick=False):
        _, out, _ = org["run"]("check", "--as", ANN, "--format", "json")
        ann = json.loads(out)
        _, out, _ = org["run"]("check", "--as", BOB, "--format", "json")
        bob = json.loads(out)
        _, out, _ = org["run"]("check", "--format", "json")  # no asker: DEFAULT_TIMEZONE, unset here: UTC
        everyone = json.loads(out)
    assert (ann["today"], ann["time_zone"], ann["scope"]) == ("2027-01-01", TOKYO, "Ann Rep")
    # Ann's own deals only: her Negotiation of 15 Dec and the one of 31 Dec (past in Tokyo), Bob's not
    assert {f["owner"] for f in ann["findings"] if f["owner"]} == {"Ann Rep"}
    assert "ann-dec31" in _past_close(ann) and "bob-dec31" not in _past_close(ann)
    assert (bob["today"], bob["scope"]) == ("2026-12-31", "Bob Rep")
    assert {f["owner"] for f in bob["findings"] if f["owner"]} == {"Bob Rep"}
    assert "bob-dec31" not in _past_close(bob) and len(_past_close(bob)) == 1  # only his Prospecting of 1 Dec
    assert everyone["today"] == "2026-12-31" and not {"ann-dec31", "bob-dec31"} & _past_close(everyone)


# --- digests ---------------------------------------------------------------------------------------------------


def test_a_tokyo_managers_digest_is_for_his_new_year_and_a_los_angeles_ones_for_new_years_eve(org, db):
    with db.engine.begin() as conn:
        conn.execute(update(reps).where(reps.c.id == org["M"]).values(timezone=TOKYO))
        conn.execute(update(reps).where(reps.c.id == org["M2"]).values(timezone=LOS_ANGELES))
    f = org["factory"]
    f.quota(org["M"], date(2027, 1, 1), date(2027, 3, 31), 20000)
    settings = Settings(database_url=db.url)
    with db.engine.connect() as conn:
        max_, mia = viewer_by_email(conn, MAX), viewer_by_email(conn, "mia.lead@example.com")
    tokyo = preview_digest(db.engine, settings, max_, NEW_YEAR_EVE)
    la = preview_digest(db.engine, settings, mia, NEW_YEAR_EVE)
    assert tokyo.local_date == date(2027, 1, 1) and "Fri, Jan 1" in tokyo.answer.title
    assert (tokyo.figures["period"]["start"], tokyo.figures["pace"]) == ("2027-01-01", DAY_ONE_OF_90)
    assert la.local_date == date(2026, 12, 31) and "Thu, Dec 31" in la.answer.title
    assert (la.figures["period"]["start"], la.figures["pace"]) == ("2026-10-01", Decimal(1))


# --- changes since D -------------------------------------------------------------------------------------------


@pytest.fixture
def tokyo_rep(db):
    """Tess, a rep in Tokyo, whose deals were created at 2026-12-01 15:30 UTC = Wed 2 Dec, 00:30 in Tokyo."""
    f = Factory(db.engine)
    tess = f.rep("Tess Tokyo", timezone=TOKYO)
    created = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)

    def deals(n: int, amount_from: int = 1000) -> None:
        for i in range(n):
            opp = f.deal(tess, "Prospecting", amount_from + i, date(2027, 2, 1), history=False, created_at=created,
                         updated_at=created, stage_entered_at=created, name=f"Tokyo deal {i + 1:02d}")
            f.history(opp, created, stage="Prospecting", amount=Decimal(amount_from + i), close_date=date(2027, 2, 1))

    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, "tess.tokyo@example.com")
    return viewer, deals


def ask(db, viewer, question: str, now: datetime):
    return answer_text(db.engine, viewer, question, settings=Settings(database_url=db.url), now=now)


def test_changes_since_today_starts_at_midnight_on_the_askers_clock(db, tokyo_rep):
    """At 16:30 UTC on 1 Dec it is 01:30 on 2 Dec in Tokyo: "since today" is since 00:00 Tokyo (15:00 UTC), and
    the deal created at 00:30 Tokyo is in it. Midnight UTC on 2 Dec, the old reading, was still in the future."""
    viewer, deals = tokyo_rep
    deals(1)
    answer = ask(db, viewer, "/sales changes since today", datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    assert answer.kind == "list", answer.lines
    assert [row[0] for row in answer.table.rows] == ["Tokyo deal 01"]
    assert answer.title.startswith("What changed since Wed, Dec 2, 00:00 JST")


def test_a_changes_list_cut_at_its_limit_says_how_many_more(db, tokyo_rep):
    viewer, deals = tokyo_rep
    deals(22)
    answer = ask(db, viewer, "/sales changes since today", datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    assert len(answer.table.rows) == 15 and answer.table.total_rows == 22
    assert answer.table.rows[0][0] == "Tokyo deal 22"  # the biggest first
    assert "and 7 more" in answer_to_text(answer)


def test_nothing_changed_is_a_sentence_not_changes_zero(db, tokyo_rep):
    viewer, _ = tokyo_rep
    answer = ask(db, viewer, "/sales changes since yesterday", datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    shown = answer_to_text(answer)
    assert answer.kind == "list" and "Changes: 0" not in shown
    assert "Nothing changed since Tue, Dec 1, 00:00 JST" in shown


@pytest.mark.parametrize("question, sentence", [
    ("/sales changes since 2030-01-01", "Jan 1, 2030 has not started yet"),
    ("/sales changes since 1800-01-01", "1800 is outside the years this bot knows"),
    ("/sales changes since 9999-12", "Dec 9999 has not started yet"),
    ("/sales changes tomorrow", "has not started yet where you are"),
    ("/sales changes since tomorrow", "has not started yet"),
    ("/sales changes since 2026-02-30", "2026-02-30 is not a date"),
])
def test_future_or_impossible_dates_get_a_sentence(db, tokyo_rep, question, sentence):
    viewer, deals = tokyo_rep
    deals(1)
    answer = ask(db, viewer, question, datetime(2026, 12, 1, 16, 30, tzinfo=UTC))
    shown = answer_to_text(answer)
    assert answer.kind == "error" and answer.error_id is None, shown
    assert sentence in shown and "Changes: 0" not in shown and "Traceback" not in shown


def test_changes_since_yesterday_late_in_a_los_angeles_evening(db):
    """23:30 on 1 Dec in Los Angeles is 07:30 UTC on 2 Dec: "yesterday" is 30 Nov there, from 00:00 PST (08:00
    UTC). A deal created at 07:00 UTC on 30 Nov (29 Nov, 23:00 PST) is not since yesterday; one at 09:00 is."""
    f = Factory(db.engine)
    lee = f.rep("Lee Angeles", timezone=LOS_ANGELES)
    for name, when in (("before", datetime(2026, 11, 30, 7, tzinfo=UTC)), ("after", datetime(2026, 11, 30, 9,
                                                                                            tzinfo=UTC))):
        opp = f.deal(lee, "Prospecting", 500, date(2027, 2, 1), history=False, created_at=when, name=name)
        f.history(opp, when, stage="Prospecting", amount=Decimal(500), close_date=date(2027, 2, 1))
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, "lee.angeles@example.com")
    answer = ask(db, viewer, "what changed since yesterday", datetime(2026, 12, 2, 7, 30, tzinfo=UTC))
    assert [row[0] for row in answer.table.rows] == ["after"]
    assert "Mon, Nov 30, 00:00 PST" in answer.title


# --- velocity -------------------------------------------------------------------------------------------------


def test_zero_velocity_says_why(org, small_org_clock):
    """FY2030 has no open deal, but the org has won deals in the last 365 days: $0 a day, and the reason."""
    code, out, err = org["run"]("ask", "--as", "erin.exec@example.com", "sales velocity fy2030")
    assert (code, err) == (0, "")
    assert "Sales velocity: $0" in out
    assert "Velocity is $0 a day because no open deal closes in FY2030" in out
    code, out, _ = org["run"]("ask", "--as", "erin.exec@example.com", "/sales cycle fy2030")
    assert "Velocity is $0 a day because no open deal closes in FY2030" in out
    assert "No deal was won in FY2030, so there is no cycle to measure." in out


# --- metrics --explain with json and csv ----------------------------------------------------------------------


def test_explain_in_json_is_inside_the_json(org, db, small_org_clock):
    code, out, err = org["run"]("metrics", "pipeline", "--explain", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out, parse_float=Decimal)  # the whole output is one JSON value
    explain = data["explain"]
    assert explain["definition"] == "Σ amount of open deals closing in the period; omitted excluded"
    assert explain["period"] == "this quarter (Q4 FY2026) = 2026-10-01 .. 2026-12-31"
    [sql] = explain["sql"]
    with db.engine.connect() as conn:
        row = conn.execute(text(sql)).one()
    assert (Decimal(row.open_amount), row.open_count) == (Decimal("3300"), 3)
    assert data["rows"][0]["value"] == Decimal("3300")


def test_explain_with_csv_keeps_stdout_pure_csv(org, small_org_clock):
    code, out, err = org["run"]("metrics", "pipeline", "--by", "owner", "--explain", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["owner", "value", "open_count"]
    assert sorted(rows[1:]) == [["Ann Rep", "3000.00", "2"], ["Bob Rep", "300.00", "1"]]
    assert "definition: Σ amount of open deals closing in the period" in err and "-- query 1" in err
