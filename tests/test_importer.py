"""`bot.py import`: the mapping importer, end to end on SQLite and PostgreSQL.

The fixtures in tests/fixtures/import are a small export in the Northwind (Salesforce-style) column format; each
test copies them to a temp folder and edits the copy.
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

import bot
from db.importer import import_mapping
from db.schema import SALES_TABLES, accounts, activities, opportunities, opportunity_history, quotas, reps, stages
from errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "import"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 27, 9, 0, tzinfo=UTC)
NORTHWIND_STAGES = {"Discovery", "Qualification", "Proposal", "Negotiation", "Verbal", "Closed Won", "Closed Lost"}


@pytest.fixture
def export(tmp_path) -> Path:
    """A writable copy of the fixture export; returns its mapping file."""
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES, folder)
    return folder / "mapping.yml"


def edit(path: Path, old: str, new: str) -> None:
    data = path.read_bytes()
    assert data.count(old.encode()) == 1, f"{old!r} must occur once in {path.name}"
    path.write_bytes(data.replace(old.encode(), new.encode()))


def dump(engine) -> dict[str, list[tuple]]:
    """Every row of every sales table, in a stable order."""
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in SALES_TABLES}


def table(engine, t, **where) -> list[dict]:
    stmt = select(t)
    for col, value in where.items():
        stmt = stmt.where(t.c[col] == value)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def opp(engine, external_id: str) -> dict:
    (row,) = table(engine, opportunities, external_id=external_id)
    return row


def history_of(engine, external_id: str) -> list[dict]:
    h = opportunity_history
    with engine.connect() as conn:
        oid = conn.execute(select(opportunities.c.id).where(opportunities.c.external_id == external_id)).scalar_one()
        rows = conn.execute(select(h).where(h.c.opportunity_id == oid).order_by(h.c.changed_at, h.c.id))
        return [dict(r._mapping) for r in rows]


def assert_history_consistent(engine) -> None:
    """The latest history row of every deal is the deal's current state."""
    tracked = ("stage", "amount", "close_date", "probability", "forecast_category")
    for row in table(engine, opportunities):
        hist = history_of(engine, row["external_id"])
        assert hist, f"{row['external_id']} has no history"
        assert {c: hist[-1][c] for c in tracked} == {c: row[c] for c in tracked}, row["external_id"]


def counts(report) -> dict[str, tuple[int, int, int, int]]:
    return {e: (c.inserted, c.updated, c.unchanged, c.rejected) for e, c in report.counts.items()}


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- a full import ----------------------------------------------------------------------------------------


def test_full_import_loads_every_entity(db, export):
    report = import_mapping(db.engine, export, now=NOW)

    assert counts(report) == {
        "stages": (2, 4, 1, 0),
        "reps": (5, 4, 0, 0),  # 4 from reps.csv + Morgan Vale; the opportunities file then adds their segment
        "accounts": (10, 0, 0, 0),
        "opportunities": (12, 0, 0, 0),
        "opportunity_history": (12, 0, 0, 0),
        "activities": (8, 0, 0, 0),
        "quotas": (4, 0, 0, 0),
    }
    assert report.counts["stages"].removed == 1  # Prospecting, unused
    assert {s["name"] for s in table(db.engine, stages)} == NORTHWIND_STAGES

    people = {r["external_id"]: r for r in table(db.engine, reps)}
    ids = {r["id"]: ext for ext, r in people.items()}
    # managers by external id, email and exact name; one known only by name is created with role manager
    assert {ext: ids.get(r["manager_id"]) for ext, r in people.items()} == {
        "rep_001": "rep_004", "rep_002": "rep_004", "rep_003": "rep_004", "rep_004": "Morgan Vale", "Morgan Vale": None,
    }
    assert people["Morgan Vale"]["role"] == "manager" and people["Morgan Vale"]["name"] == "Morgan Vale"
    assert people["rep_004"]["role"] == "manager"  # she manages people and the file gives no role
    assert people["rep_001"]["role"] == "rep"
    assert people["rep_003"]["segment"] == "Mid-Market" and people["rep_003"]["timezone"] == "Europe/London"
    assert people["rep_002"]["start_date"] == date(2023, 9, 18)

    firms = {r["id"]: r["name"] for r in table(db.engine, accounts)}
    o2 = opp(db.engine, "opp_0002")
    assert isinstance(o2["amount"], Decimal) and o2["amount"] == Decimal("1234.50")
    assert o2["forecast_category"] == "best_case" and o2["probability"] == 65 and o2["currency"] == "USD"
    assert opp(db.engine, "opp_0003")["amount"] == Decimal("12000")
    o4 = opp(db.engine, "opp_0004")
    assert o4["amount"] is None and o4["name"] == "opp_0004" and o4["next_step"] is None
    o8 = opp(db.engine, "opp_0008")
    assert firms[o8["account_id"]] == "Initech, Inc." and ids[o8["owner_id"]] == "rep_004"
    assert o8["created_at"] == datetime(2026, 3, 2, tzinfo=UTC) and o8["created_at"].tzinfo is not None
    assert o8["last_activity_at"] == datetime(2026, 5, 10, tzinfo=UTC)
    assert o8["stage_entered_at"] == o8["created_at"] and o8["closed_at"] is None and o8["updated_at"] == NOW
    won = opp(db.engine, "opp_0006")
    assert won["stage"] == "Closed Won" and won["closed_at"] == datetime(2026, 5, 11, 12, tzinfo=UTC)

    # one history row per new deal, at its created time, equal to the deal
    assert_history_consistent(db.engine)
    assert [h["changed_at"] for h in history_of(db.engine, "opp_0008")] == [o8["created_at"]]

    acts = {r["external_id"]: r for r in table(db.engine, activities)}
    assert acts["act_00008"]["subject"] == "Re: quote, v2" and acts["act_00008"]["kind"] == "email"
    assert acts["act_00008"]["account_id"] == o8["account_id"] and ids[acts["act_00008"]["rep_id"]] == "rep_004"
    assert acts["act_00005"]["opportunity_id"] is None and acts["act_00005"]["account_id"] is None
    assert acts["act_00001"]["occurred_at"] == datetime(2026, 4, 20, tzinfo=UTC)

    q = {ids[r["rep_id"]]: r for r in table(db.engine, quotas)}
    assert q["rep_001"]["amount"] == Decimal("500000.00") and isinstance(q["rep_001"]["amount"], Decimal)
    assert q["rep_003"]["period_start"] == date(2026, 4, 1) and set(q) == {"rep_001", "rep_002", "rep_003", "rep_004"}


def test_reimporting_the_same_files_changes_nothing(db, export):
    import_mapping(db.engine, export, now=NOW)
    before = dump(db.engine)

    report = import_mapping(db.engine, export, now=LATER)

    assert dump(db.engine) == before  # same rows, same updated_at, no new history
    assert all(c.inserted == c.updated == c.rejected == c.removed == 0 for c in report.counts.values())
    assert counts(report)["opportunities"] == (0, 0, 12, 0)
    assert report.rejects_path is None


def test_a_changed_export_updates_rows_and_appends_history(db, export):
    import_mapping(db.engine, export, now=NOW)
    opps = export.parent / "opportunities.csv"
    edit(opps, "424500,Proposal,3,40,Pipeline", "424500,Negotiation,4,65,Commit")  # opp_0001 moves on
    edit(opps, '"1,234.50"', '"2,000.00"')  # opp_0002's amount changes
    edit(opps, "Book discovery call", "Book second call")  # opp_0010: not a tracked field
    edit(opps, "150000,Negotiation,4,65,Commit,2026-06-20", "150000,Closed Won,6,100,Closed,2026-05-25")
    with opps.open("a") as f:
        f.write("opp_0013,Initech - Add-on,\"Initech, Inc.\",rep_004,Lena Ortiz,Mid-Market,7000,Discovery,1,10,"
                "Pipeline,2026-12-01,2026-05-21,,,,False,False\n")

    report = import_mapping(db.engine, export, now=LATER)

    assert counts(report)["opportunities"] == (1, 4, 8, 0)
    assert counts(report)["opportunity_history"] == (4, 0, 0, 0)  # opp_0001, opp_0002, opp_0009, opp_0013
    assert_history_consistent(db.engine)
    h1 = history_of(db.engine, "opp_0001")
    assert [(h["stage"], h["changed_at"]) for h in h1] == [("Proposal", datetime(2026, 4, 19, tzinfo=UTC)),
                                                          ("Negotiation", LATER)]
    o1 = opp(db.engine, "opp_0001")
    assert o1["stage_entered_at"] == LATER and o1["updated_at"] == LATER and o1["forecast_category"] == "commit"
    assert [h["amount"] for h in history_of(db.engine, "opp_0002")] == [Decimal("1234.50"), Decimal("2000.00")]
    assert opp(db.engine, "opp_0002")["stage_entered_at"] == datetime(2026, 3, 25, tzinfo=UTC)  # stage unchanged
    o9 = opp(db.engine, "opp_0009")
    assert o9["closed_at"] == datetime(2026, 5, 25, 12, tzinfo=UTC) and o9["stage_entered_at"] == LATER
    o10 = opp(db.engine, "opp_0010")
    assert o10["next_step"] == "Book second call" and o10["updated_at"] == LATER
    assert len(history_of(db.engine, "opp_0010")) == 1
    assert opp(db.engine, "opp_0003")["updated_at"] == NOW  # untouched
    assert [h["changed_at"] for h in history_of(db.engine, "opp_0013")] == [datetime(2026, 5, 21, tzinfo=UTC)]


def test_last_activity_comes_from_activities_when_the_mapping_does_not_give_it(db, export):
    edit(export, "      last_activity_at: last_activity_date\n", "")
    report = import_mapping(db.engine, export, now=NOW)

    assert opp(db.engine, "opp_0003")["last_activity_at"] == datetime(2026, 5, 2, tzinfo=UTC)
    assert opp(db.engine, "opp_0001")["last_activity_at"] == datetime(2026, 4, 20, tzinfo=UTC)
    assert opp(db.engine, "opp_0004")["last_activity_at"] is None
    assert any("last_activity_at" in note for note in report.notes)
    before = dump(db.engine)
    import_mapping(db.engine, export, now=LATER)
    assert dump(db.engine) == before


def test_a_history_file_is_imported_and_kept_consistent(db, export):
    (export.parent / "history.csv").write_text(
        "opportunity_id,changed,stage,amount,close_date,probability,forecast_category\n"
        "opp_0001,2026-04-19T08:00:00Z,Discovery,400000,2026-06-30,10,Pipeline\n"
        "opp_0001,2026-05-01 16:30,Proposal,\"424,500\",2026-06-27,40,Pipeline\n"
    )
    with export.open("a") as f:
        f.write("  - path: history.csv\n    entity: opportunity_history\n"
                "    columns: {opportunity: opportunity_id, changed_at: changed, stage: stage, amount: amount,\n"
                "              close_date: close_date, probability: probability,\n"
                "              forecast_category: forecast_category}\n")

    report = import_mapping(db.engine, export, now=NOW)

    # the file's two rows, and for the 11 other deals one row each; opp_0001's latest file row matches the deal
    assert counts(report)["opportunity_history"] == (13, 0, 0, 0)
    h1 = history_of(db.engine, "opp_0001")
    assert [(h["stage"], h["changed_at"]) for h in h1] == [
        ("Discovery", datetime(2026, 4, 19, 8, tzinfo=UTC)), ("Proposal", datetime(2026, 5, 1, 16, 30, tzinfo=UTC))]
    assert_history_consistent(db.engine)
    before = dump(db.engine)
    import_mapping(db.engine, export, now=LATER)
    assert dump(db.engine) == before


# --- bad input: each case names file, line, column and value, and writes nothing ------------------------------


def _missing_file(m: Path):
    edit(m, "path: quotas.csv", "path: quota.csv")
    return ["quota.csv", "does not exist"]


def _missing_column(m: Path):
    edit(m, "period_end: quarter_end", "period_end: quarter_stop")
    return ['quotas.csv, line 1, column "quarter_stop"', "has no such column"]


def _unknown_stage(m: Path):
    edit(m.parent / "opportunities.csv", "98000,Verbal,", "98000,Verbalish,")
    return ['opportunities.csv, line 6, column "stage", value "Verbalish"', "is not a stage"]


def _bad_date(m: Path):
    edit(m.parent / "opportunities.csv", "Closed,2026-05-05,", "Closed,2026-13-05,")
    return ['opportunities.csv, line 8, column "close_date", value "2026-13-05"', "is not a date"]


def _bad_amount(m: Path):
    edit(m.parent / "opportunities.csv", "45000,Qualification", "45k,Qualification")
    return ['opportunities.csv, line 12, column "amount", value "45k"', "is not an amount"]


def _duplicate_key(m: Path):
    with (m.parent / "opportunities.csv").open("a") as f:
        f.write("opp_0012,Globex - Renewal 2,Globex,rep_004,Lena Ortiz,Mid-Market,1,Discovery,1,10,Pipeline,"
                "2026-09-01,2026-05-01,,,,False,False\n")
    return ['opportunities.csv, line 14, column "id", value "opp_0012"', "appears again (first at line 13)"]


def _nobody(m: Path):
    edit(m.parent / "activities.csv", "Check-in,Aisha Okonkwo", "Check-in,Nobody Atall")
    return ['activities.csv, line 9, column "owner", value "Nobody Atall"', "no rep has"]


def _unknown_entity(m: Path):
    edit(m, "entity: quotas", "entity: quota")
    return [f'mapping.yml, line {line_of(m, "entity: quota")}, column "files[1].entity", value "quota"',
            "unknown entity"]


def _unknown_target(m: Path):
    edit(m, "subject: subject", "topic: subject")
    return ['column "files[0].columns.topic", value "topic"', "activities have no column `topic`"]


def _yaml_syntax(m: Path):
    edit(m, "    entity: quotas\n", "    entity: quotas\n   columns: [oops\n")
    return ["mapping.yml, line", "not valid YAML"]


def _missing_key(m: Path):
    edit(m, "    key: id\n", "")
    return ['column "files[2].key"', "opportunities need `key:`"]


BAD_INPUT = [_missing_file, _missing_column, _unknown_stage, _bad_date, _bad_amount, _duplicate_key, _nobody,
             _unknown_entity, _unknown_target, _yaml_syntax, _missing_key]


@pytest.mark.parametrize("breakage", BAD_INPUT, ids=[f.__name__.strip("_") for f in BAD_INPUT])
def test_bad_input_is_reported_and_nothing_is_written(db, export, breakage):
    expected = breakage(export)
    before = dump(db.engine)

    with pytest.raises(UserError) as err:
        import_mapping(db.engine, export, now=NOW)

    message = str(err.value)
    assert "nothing was written" in message
    for part in expected:
        assert part in message
    assert dump(db.engine) == before


def test_a_problem_with_the_files_aborts_even_with_skip_bad(db, export):
    _missing_column(export)
    before = dump(db.engine)
    with pytest.raises(UserError, match="--skip-bad cannot skip"):
        import_mapping(db.engine, export, skip_bad=True, now=NOW)
    assert dump(db.engine) == before


def test_many_bad_rows_are_capped_and_listed_in_full_in_a_csv(db, export, tmp_path):
    with (export.parent / "opportunities.csv").open("a") as f:
        for i in range(25):
            f.write(f"opp_1{i:03d},Deal {i},Globex,rep_004,Lena Ortiz,Mid-Market,{i}oops,Discovery,1,10,Pipeline,"
                    "2026-09-01,2026-05-01,,,,False,False\n")
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(UserError) as err:
        import_mapping(db.engine, export, now=NOW, rejects_path=rejects)
    message = str(err.value)
    assert "25 problems in 1 file" in message and f"and 5 more (all of them are listed in {rejects})" in message
    assert message.count("\n  - ") == 20
    assert len(list(csv.reader(rejects.open()))) == 26
    assert table(db.engine, opportunities) == []


def test_skip_bad_writes_the_good_rows_and_the_rejects(db, export, tmp_path):
    _unknown_stage(export)  # opp_0005, line 6
    _bad_amount(export)  # opp_0011, line 12; and act_00004 (line 6 of activities.csv) is about opp_0005
    rejects = tmp_path / "rejects.csv"

    report = import_mapping(db.engine, export, skip_bad=True, now=NOW, rejects_path=rejects)

    assert counts(report)["opportunities"] == (10, 0, 0, 2)
    assert counts(report)["activities"] == (7, 0, 0, 1)
    assert report.rejects_path == rejects
    assert any(str(rejects) in line for line in report.lines())
    rows = sorted(csv.DictReader(rejects.open()), key=lambda r: (r["file"], int(r["line"])))
    assert [(r["file"], r["line"], r["column"], r["value"]) for r in rows] == [
        ("activities.csv", "6", "related_opportunity_id", "opp_0005"),
        ("opportunities.csv", "6", "stage", "Verbalish"),
        ("opportunities.csv", "12", "amount", "45k"),
    ]
    assert "was itself rejected (opportunities.csv line 6)" in rows[0]["reason"]
    assert {r["external_id"] for r in table(db.engine, opportunities)} == {
        f"opp_{i:04d}" for i in range(1, 13)} - {"opp_0005", "opp_0011"}
    assert_history_consistent(db.engine)


def test_repeated_rows_must_agree_when_distinct(db, export):
    edit(export.parent / "opportunities.csv", "rep_001,Aisha Okonkwo,Enterprise,\"1,234.50\"",
         "rep_001,Aisha O.,Enterprise,\"1,234.50\"")
    with pytest.raises(UserError) as err:
        import_mapping(db.engine, export, now=NOW)
    assert 'opportunities.csv, line 3, column "owner_name", value "Aisha O."' in str(err.value)
    assert "must agree" in str(err.value)


def test_a_stages_file_cannot_drop_a_stage_that_deals_use(db, export):
    import_mapping(db.engine, export, now=NOW)
    only_stages = export.parent / "stages.yml"
    text = export.read_text()
    only_stages.write_text("files:\n" + text[text.index("  - entity: stages"):].replace(
        "      - {name: Verbal,        probability: 85,  forecast_category: commit}\n", ""))
    before = dump(db.engine)

    with pytest.raises(UserError) as err:
        import_mapping(db.engine, only_stages, now=LATER)
    assert 'stages.yml (files[0].rows), column "name", value "Verbal"' in str(err.value)
    assert "1 opportunities are still in it" in str(err.value)
    assert dump(db.engine) == before

    report = import_mapping(db.engine, only_stages, skip_bad=True, now=LATER, rejects_path=export.parent / "r.csv")
    assert counts(report)["stages"] == (0, 2, 4, 1)  # Closed Won and Closed Lost move up a position
    assert {s["name"] for s in table(db.engine, stages)} == NORTHWIND_STAGES


# --- the shipped example and the command line ----------------------------------------------------------------


def test_the_hubspot_example_imports_as_shipped(db, tmp_path):
    report = import_mapping(db.engine, EXAMPLES / "hubspot" / "mapping.yml", now=NOW,
                            rejects_path=tmp_path / "rejects.csv")

    assert counts(report) == {"reps": (4, 0, 0, 0), "accounts": (8, 0, 0, 0), "opportunities": (10, 0, 0, 0),
                              "opportunity_history": (10, 0, 0, 0)}
    (dana,) = table(db.engine, reps, email="dana.whitfield@example.com")
    assert dana["role"] == "manager" and dana["name"] == "Dana Whitfield"
    (maya,) = table(db.engine, reps, email="maya.lindqvist@example.com")
    assert maya["name"] == "Maya Lindqvist" and maya["manager_id"] == dana["id"]
    deal = opp(db.engine, "9001004")
    assert deal["amount"] == Decimal("27300.50") and deal["stage"] == "Proposal" and deal["owner_id"] is not None
    assert deal["close_date"] == date(2026, 12, 18) and deal["source"] == "HubSpot"
    assert opp(db.engine, "9001001")["created_at"] == datetime(2026, 10, 2, 13, 15, tzinfo=UTC)  # 09:15 New York
    assert opp(db.engine, "9001001")["amount"] is None
    assert_history_consistent(db.engine)
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opportunities)
                            .where(opportunities.c.account_id.is_(None))).scalar_one() == 0


def test_the_northwind_example_mapping_reads_the_northwind_columns(db, export):
    """The fixtures have the Northwind export's columns, so the shipped mapping placed beside them must load them."""
    mapping = export.parent / "northwind.yml"
    shutil.copy(EXAMPLES / "northwind" / "mapping.yml", mapping)
    with open(export.parent / "opportunities.csv", newline="") as f:
        owners = {r["owner_id"]: (r["owner_name"], r["segment"]) for r in csv.DictReader(f)}
    with open(EXAMPLES / "northwind" / "owners.csv", newline="") as f:
        header = next(line for line in f if not line.startswith("#")).strip()
    with open(export.parent / "owners.csv", "w", newline="") as f:
        f.write(header + "\n")
        for owner_id, (name, segment) in owners.items():
            f.write(f"{owner_id},{name},{owner_id}@example.com,rep,,{segment},{segment},UTC\n")
    with open(export.parent / "activities.csv", newline="") as f:
        activity_owners = {r["owner"] for r in csv.DictReader(line for line in f if not line.startswith("#"))}
    assert activity_owners <= {name for name, _ in owners.values()}

    report = import_mapping(db.engine, mapping, now=NOW)

    assert counts(report) == {"stages": (2, 4, 1, 0), "reps": (len(owners), 0, 0, 0), "accounts": (10, 0, 0, 0),
                              "opportunities": (12, 0, 0, 0), "opportunity_history": (12, 0, 0, 0),
                              "activities": (8, 0, 0, 0)}
    assert opp(db.engine, "opp_0005")["stage"] == "Verbal" and opp(db.engine, "opp_0003")["stage"] == "Discovery"
    assert {r["segment"] for r in table(db.engine, reps)} == {"Enterprise", "Mid-Market"}
    before = dump(db.engine)
    assert all(c.inserted == c.updated == 0 for c in import_mapping(db.engine, mapping, now=LATER).counts.values())
    assert dump(db.engine) == before


def test_the_command_line(db, export, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    assert bot.main(["import", str(export)]) == 0
    out = capsys.readouterr().out
    assert "opportunities: 12 inserted, 0 updated, 0 unchanged, 0 rejected" in out

    _missing_file(export)
    assert bot.main(["import", str(export), "--skip-bad"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: The import did not start (nothing was written): ")
    assert "quota.csv" in err
