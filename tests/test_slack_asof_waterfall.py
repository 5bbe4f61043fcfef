"""As-of answers and the pipeline waterfall in Slack (issue 13), through the real bot and the fake Slack.

The small org (tests/orgs.py) gets a history on top: what its deals looked like before they became what they are
now. As of 1 Oct 2026 (the end of that day, DEFAULT_TIMEZONE = UTC here) and from the start of Q4 to now (the clock
held at 1 Dec 15:00 UTC), Max's team (Ann, and Bob under Mia) moved like this, deal by deal:

| deal (now)                    | as of Oct 1                | since                    | waterfall                |
| Ann Proposal 1,000 30 Nov     | Proposal 800 30 Nov        | amount up on Nov 2       | start 800, increased 200 |
| Ann Negotiation 2,000 15 Dec  | Proposal 1,500 20 Jan 2027 | into Q4 on Nov 10        | pulled_in 2,000          |
| Ann Closed Won 3,000 10 Oct   | Negotiation 3,000 10 Oct   | won on Oct 10            | start, won 3,000         |
| Ann Closed Lost 500 20 Oct    | Proposal 500 20 Oct        | lost on Oct 20           | start, lost 500          |
| Ann Prospecting 4,000 15 Jan  | Prospecting 4,000 20 Dec   | to January on Nov 15     | start, pushed_out 4,000  |
| Ann Qualification 700 omitted | Qualification 700 1 Nov    | omitted on Oct 15        | start, other_out 700     |
| Bob Closed Won 1,000 1 Nov    | (created Oct 2)            | won                      | created, won 1,000       |
| Bob Closed Won 2,000 5 Nov    | Proposal 2,000 5 Nov       | won on Nov 5             | start, won 2,000         |
| Bob Prospecting 300 1 Dec     | the same                   |                          | start, end 300           |

start 11,300 + created 1,000 + pulled_in 2,000 + increased 200 − decreased 0 − pushed_out 4,000 − won 6,000
− lost 500 − other_out 700 = end 3,300. Ann's pipeline as of Oct 1: 800 + 3,000 + 500 + 4,000 + 700 = 9,000.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from assistant.followup import read_followup
from assistant.grammar import parse_request
from assistant.request_codec import decode, encode
from db.schema import opportunities, opportunity_history, reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import Scope
from render.format import money
from tests.asof_oracle import History, figures_at, waterfall_by_deal
from tests.asof_oracle import money as money_sum
from tests.factories import Factory, at
from tests.fakeslack import dm_message, post_block_action, post_event, post_slash_command
from tests.slackbot import SECRET
from tests.test_slack_bot import all_text, check_limits, fields

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
END_OF_OCT_1 = datetime(2026, 10, 1, 23, 59, 59, 999999, tzinfo=UTC)
START_OF_Q4 = datetime(2026, 10, 1, tzinfo=UTC)
TEAM_WATERFALL = {"start": 11300, "created": 1000, "pulled_in": 2000, "increased": 200, "decreased": 0,
                  "pushed_out": 4000, "won": 6000, "lost": 500, "other_out": 700, "end": 3300}


TOKYO = ZoneInfo("Asia/Tokyo")
OCT_1_TOKYO = datetime(2026, 10, 1, 23, 59, 59, 999999, tzinfo=TOKYO)  # the end of Oct 1 where the org is


@pytest.mark.parametrize(("text", "intent", "moment"), [
    ("/sales pipeline as of oct 1", "pipeline", OCT_1_TOKYO),
    ("what was my forecast on 2026-10-01?", "forecast", OCT_1_TOKYO),
    ("where did we stand on 1 oct", "help", OCT_1_TOKYO),
    ("win rate as of 2026-10-01T09:30:00+02:00 by owner", "winrate", datetime(2026, 10, 1, 7, 30, tzinfo=UTC)),
    ("/sales waterfall my team q4 as of nov 1", "waterfall", datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=TOKYO)),
    ("pipeline as of now", "pipeline", None),
    ("what was closed on oct 1", "metric", None),  # what happened on a day is no moment
])
def test_the_moment_is_read_from_the_question(text, intent, moment):
    """A date is the end of that day where the org is (here Tokyo); a timestamp is as given; the reading keeps it
    through a button or a stored conversation, and a follow-up ("and as of sep 1?") changes only the moment."""
    request = parse_request(text, date(2026, 12, 1), 1, TOKYO)
    assert request.intent == intent and not request.unknown and request.problem is None
    assert request.as_of == moment
    assert decode(encode(request))[0].as_of == moment
    if intent == "pipeline" and moment is not None:
        later = read_followup("and as of sep 1?", request, date(2026, 12, 1), 1, TOKYO)
        assert (later.intent, later.as_of.astimezone(TOKYO).date()) == ("pipeline", date(2026, 9, 1))


def _deal(conn, owner: int, amount: int) -> int:
    return conn.execute(select(opportunities.c.id).where(opportunities.c.owner_id == owner,
                                                         opportunities.c.amount == amount)).scalar_one()


def add_history(engine, org: dict) -> None:
    """The rows that make the table in the module docstring (each deal's creation row says what it is now)."""
    f = Factory(engine)
    with engine.connect() as conn:
        ids = {key: _deal(conn, org[owner], amount) for key, owner, amount in (
            ("a1000", "A", 1000), ("a2000", "A", 2000), ("a3000", "A", 3000), ("a500", "A", 500),
            ("a4000", "A", 4000), ("a700", "A", 700), ("b2000", "B", 2000))}
    with engine.begin() as conn:  # the deals created in September got their creation row then, as they are now
        conn.execute(update(opportunity_history).where(opportunity_history.c.opportunity_id.in_(
            [ids["a3000"], ids["b2000"]])).values(stage="Negotiation"))
    rows = [
        ("a1000", date(2026, 9, 1), "Proposal", 800, date(2026, 11, 30), None),
        ("a1000", date(2026, 11, 2), "Proposal", 1000, date(2026, 11, 30), None),
        ("a2000", date(2026, 9, 20), "Proposal", 1500, date(2027, 1, 20), None),
        ("a2000", date(2026, 11, 10), "Negotiation", 2000, date(2026, 12, 15), None),
        ("a3000", date(2026, 10, 10), "Closed Won", 3000, date(2026, 10, 10), None),
        ("a500", date(2026, 9, 1), "Proposal", 500, date(2026, 10, 20), None),
        ("a500", date(2026, 10, 20), "Closed Lost", 500, date(2026, 10, 20), None),
        ("a4000", date(2026, 9, 1), "Prospecting", 4000, date(2026, 12, 20), None),
        ("a4000", date(2026, 11, 15), "Prospecting", 4000, date(2027, 1, 15), None),
        ("a700", date(2026, 9, 1), "Qualification", 700, date(2026, 11, 1), None),
        ("a700", date(2026, 10, 15), "Qualification", 700, date(2026, 11, 1), "omitted"),
        ("b2000", date(2026, 11, 5), "Closed Won", 2000, date(2026, 11, 5), None),
    ]
    for key, when, stage, amount, close, category in rows:
        f.history(ids[key], at(when), stage=stage, amount=Decimal(amount), close_date=close,
                  forecast_category=category)


@pytest.fixture
def bot(running_bot):
    add_history(running_bot.deps.engine, running_bot.org)
    return running_bot


def ask(bot, user: str, text: str, name: str = "r"):
    url = bot.fake.response_url(name)
    before = len(bot.fake.messages(kind="response_url"))
    status, _ = post_slash_command(bot.url, SECRET, text, user, response_url=url)
    assert status == 200
    return bot.fake.wait_for_messages(before + 1, kind="response_url", timeout=15)[-1]


def context_texts(message) -> list[str]:
    return [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]


def test_as_of_answers_match_the_history_rebuilt_by_pandas(bot):
    """Ann's pipeline as of Oct 1 (hand-worked 9,000 over 5 deals) and Max's team forecast on Oct 1 (asked in a
    DM), against the pandas rebuild; the context line states the moment, once; Ann cannot read Bob's."""
    with bot.deps.engine.connect() as conn:
        states = History(conn).states(END_OF_OCT_1)
    ann = figures_at(states, Q4.start, Q4.end, {bot.org["A"]})
    team = figures_at(states, Q4.start, Q4.end, {bot.org[k] for k in ("M", "M2", "A", "B")})
    assert ann["pipeline"] == Decimal("9000.00")  # now: 3,000
    assert team["closed_won"] == Decimal("0.00")  # now: 6,000 (Ann 3,000 won Oct 10, Bob 1,000 and 2,000 in Nov)

    msg = ask(bot, "UANN", "pipeline as of oct 1", "ann")
    assert fields(msg) == {"Pipeline": money(ann["pipeline"]), "Weighted": money(ann["weighted_pipeline"]),
                           "Open deals": "5"}
    assert "figures as of 1 Oct 2026" in context_texts(msg)
    assert all_text(msg).count("1 Oct 2026") == 1  # the moment stated once; no "as of <now>" freshness beside it
    assert "I read this as" not in all_text(msg)
    check_limits(msg)

    assert post_event(bot.url, SECRET, dm_message("UMAX", "what was my team's forecast on oct 1?")).status == 200
    msg = bot.fake.wait_for_messages(1, kind="message", timeout=15)[-1]
    shown = fields(msg)
    assert (shown["Closed"], shown["Commit"]) == (money(team["closed_won"]), money(team["commit"]))
    assert "figures as of 1 Oct 2026" in context_texts(msg)

    refused = ask(bot, "UANN", "pipeline bob as of oct 1", "peek")
    assert refused.response_type == "ephemeral" and "$" not in all_text(refused)
    assert "can't see" in all_text(refused)

    ask(bot, "UANN", "settings language it", "it")  # the moment in the asker's language
    assert "cifre al 1 ott 2026" in context_texts(ask(bot, "UANN", "pipeline as of oct 1", "ann-it"))


@pytest.mark.parametrize(("text", "said"), [
    ("pipeline as of 2027-03-01", "2027-03-01 is in the future"),
    ("pipeline as of blorp", "I couldn't read “blorp” as a date after “as of”."),
    ("deals as of oct 1", "I can't answer “deals” as of a past date yet."),
    ("waterfall next quarter", "has not started yet, so its pipeline has not moved"),
    ("waterfall q4 as of sep 1", "The waterfall runs from the start of Q4 FY2026; “as of” must come after that."),
    ("velocity as of oct 1", "Sales velocity can't be read as of a past date"),
])
def test_dates_that_cannot_be_answered_get_a_sentence(running_bot, text, said):
    msg = ask(running_bot, "UMAX", text)
    assert said in all_text(msg) and "error id" not in all_text(msg) and "$" not in all_text(msg)


def test_waterfall_adds_up_ties_to_the_metric_layer_and_charts_privately(bot):
    with bot.deps.engine.connect() as conn:
        layer = evaluate(conn, "waterfall", Q4, Scope("tree", "Max's team", rep_id=bot.org["M"]),
                         today=date(2026, 12, 1), as_of=(START_OF_Q4, datetime.now(UTC)), cache=ResultCache())
    buckets = {r["bucket"]: r["value"] for r in layer.rows}
    assert buckets == {k: Decimal(v).quantize(Decimal("0.01")) for k, v in TEAM_WATERFALL.items()}

    msg = ask(bot, "UMAX", "waterfall my team this quarter", "w")
    text = all_text(msg)
    steps = [("Start", "start"), ("+ Created", "created"), ("+ Pulled in", "pulled_in"),
             ("+ Increased", "increased"), ("\u2212 Decreased", "decreased"), ("\u2212 Pushed out", "pushed_out"),
             ("\u2212 Won", "won"), ("\u2212 Lost", "lost"), ("\u2212 Other out", "other_out"), ("= End", "end")]
    table = next(t for b in msg.blocks if "```" in (t := (b.get("text") or {}).get("text", "")))
    lines = table.strip("`\n").splitlines()[2:]
    assert [line.rsplit("  ", 1)[0].strip() for line in lines] == [label for label, _ in steps]
    assert [line.rsplit(" ", 1)[1] for line in lines] == [money(buckets[b]) for _, b in steps]
    assert fields(msg)["Net change"] == money(buckets["end"] - buckets["start"])
    assert "from the start of 1 Oct 2026 to 1 Dec 2026 15:" in text
    check_limits(msg)

    chart_value = next(e["value"] for b in msg.blocks if b["type"] == "actions" for e in b["elements"]
                       if e["action_id"].startswith("sales_chart"))
    status, _ = post_block_action(bot.url, SECRET, "UMAX", "sales_chart", value=chart_value,
                                  response_url=bot.fake.response_url("chart"), channel_id="C5", ephemeral=True)
    assert status == 200
    bot.fake.wait_for("files.completeUploadExternal", timeout=15)
    [upload] = bot.fake.uploads()
    assert upload.is_png and upload.channel_id == "DUMAX"
    assert upload.alt_txt == ("Pipeline waterfall · Max Manager's team · this quarter (Q4 FY2026): "
                              "Start $11.3K, Created $1K, Pulled in $2K, Increased $200, Decreased $0, "
                              "Pushed out −$4K, Won −$6K, Lost −$500, Other out −$700, End $3.3K")


@pytest.mark.parametrize(("by", "key"), [("stage", "stage"), ("owner", "owner")])
def test_waterfall_by_a_dimension_shows_a_small_waterfall_per_group(bot, by, key):
    """`/sales waterfall my team by stage`: a row per group with every step (the message and the CSV file, each
    amount against the pandas rebuild from the history rows, grouped by the deal's state at the end), the
    figures and the chart the team's total."""
    now = datetime.now(UTC)
    with bot.deps.engine.connect() as conn:
        history = History(conn)
        names = dict(conn.execute(select(reps.c.id, reps.c.name)).all())
    team = {bot.org[k] for k in ("M", "M2", "A", "B")}
    moved = waterfall_by_deal(history.states(START_OF_Q4), history.states(now), Q4.start, Q4.end, team)
    moved["owner"] = [names[i] for i in moved["owner_id"]]
    expected = {group: {b: money_sum(rows[b]) for b in TEAM_WATERFALL} for group, rows in moved.groupby(key)}
    if by == "stage":  # the pandas rebuild against the module docstring's table, by hand
        assert {b: int(v) for b, v in expected["Closed Won"].items() if v} == {"start": 5000, "created": 1000,
                                                                             "won": 6000}
        assert {b: int(v) for b, v in expected["Prospecting"].items() if v} == {"start": 4300, "pushed_out": 4000,
                                                                              "end": 300}

    msg = ask(bot, "UMAX", f"waterfall my team this quarter by {by} csv chart", by)
    assert fields(msg)["Start"] == money(Decimal(TEAM_WATERFALL["start"]))  # the figures are the total
    assert "I ignored" not in all_text(msg)
    table = next(t for b in msg.blocks if "```" in (t := (b.get("text") or {}).get("text", "")))
    header, _rule, *lines = table.strip("`\n").splitlines()
    assert header.split()[0] == by and len(lines) == len(expected)
    bot.fake.wait_for("files.completeUploadExternal", count=2, timeout=15)
    uploads = {u.filename.rsplit(".", 1)[1]: u for u in bot.fake.uploads()}
    rows = list(csv.reader(io.StringIO(uploads["csv"].data.decode())))
    assert rows[0] == [by, "Start", "Created", "Pulled in", "Increased", "Decreased", "Pushed out", "Won", "Lost",
                       "Other out", "End"]
    got = {row[0]: dict(zip(TEAM_WATERFALL, (Decimal(v) for v in row[1:]), strict=True)) for row in rows[1:]}
    assert got == expected
    assert uploads["png"].alt_txt.startswith("Pipeline waterfall · Max Manager's team · this quarter (Q4 FY2026): "
                                             "Start $11.3K, Created $1K,")  # the chart stays the total


def test_waterfall_of_a_finished_quarter_runs_to_its_end(bot):
    msg = ask(bot, "UERIN", "waterfall q3")
    assert "from the start of 1 Jul 2026 to 30 Sep 2026" in all_text(msg)
    assert msg.blocks[0]["text"]["text"] == "Pipeline waterfall · the whole org"
