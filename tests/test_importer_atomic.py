"""A re-import that would change existing deals is all or nothing: one bad row, or the database failing on a
row halfway through the writes, leaves every row of every table as it was (README: "One transaction").

The database failure is real: a trigger that raises when one particular new activity row is inserted (SQLite
RAISE(ABORT); a PL/pgSQL RAISE EXCEPTION on PostgreSQL). Activities are written after reps, accounts,
opportunities and history, so by then the run has updated deals and appended history inside its transaction.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

import bot
from db.importer import import_mapping
from db.schema import BOT_TABLES, SALES_TABLES, opportunities
from errors import UserError
from metrics.history_snapshot import SNAPSHOT_AFTER_LOAD
from tests.test_importer import FIXTURES, edit

FIRST = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
AGAIN = datetime(2026, 5, 27, 9, 0, tzinfo=UTC)
FAILING_ROW = "act_00011"  # the second of two new activities in the re-import


@pytest.fixture
def imported(db, tmp_path) -> Path:
    """The fixture export imported once; returns its (writable) mapping file."""
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES, folder)
    mapping = folder / "mapping.yml"
    import_mapping(db.engine, mapping, now=FIRST, after_load=SNAPSHOT_AFTER_LOAD)
    return mapping


def everything(engine) -> dict[str, list[tuple]]:
    """Every row of every sales and bot table (history snapshot included), every column, in a stable order."""
    with engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                for t in (*SALES_TABLES, *BOT_TABLES)}


def change_the_export(mapping: Path) -> None:
    """Edits that update three existing deals (stage, amount, next step) and add two activities."""
    folder = mapping.parent
    opps = folder / "opportunities.csv"
    edit(opps, "424500,Proposal,3,40,Pipeline", "424500,Negotiation,4,65,Commit")  # opp_0001 moves on
    edit(opps, '"1,234.50"', '"2,000.00"')  # opp_0002's amount
    edit(opps, "Book discovery call", "Book second call")  # opp_0010's next step
    with (folder / "activities.csv").open("a") as f:
        f.write("act_00010,Call,Follow-up,Aisha Okonkwo,opp_0001,2026-05-25,2026-05-25,Completed\n")
        f.write(f"{FAILING_ROW},Email,Quote v3,Aisha Okonkwo,opp_0002,2026-05-26,2026-05-26,Completed\n")


def test_the_changes_alone_would_update_the_deals(db, imported):
    """The control for the tests below: without the bad row or the failure, the same re-import does write."""
    change_the_export(imported)
    report = import_mapping(db.engine, imported, now=AGAIN, after_load=SNAPSHOT_AFTER_LOAD)
    assert (report.counts["opportunities"].updated, report.counts["activities"].inserted) == (3, 2)
    with db.engine.connect() as conn:
        stage = conn.execute(select(opportunities.c.stage).where(opportunities.c.external_id == "opp_0001"))
        assert stage.scalar_one() == "Negotiation"


def test_a_reimport_with_one_bad_row_changes_nothing(db, imported):
    before = everything(db.engine)
    change_the_export(imported)
    edit(imported.parent / "opportunities.csv", "45000,Qualification", "45k,Qualification")  # opp_0011, line 12

    with pytest.raises(UserError) as err:
        import_mapping(db.engine, imported, now=AGAIN, after_load=SNAPSHOT_AFTER_LOAD)

    message = str(err.value)
    assert message.startswith("The import was refused (nothing was written)")
    assert 'opportunities.csv, line 12, column "amount", value "45k"' in message
    assert everything(db.engine) == before


@pytest.fixture
def failing_insert(db):
    """A trigger that makes the database refuse the insert of activity FAILING_ROW; dropped afterwards (the
    PostgreSQL database outlives the test)."""
    if db.backend == "sqlite":
        create = [f"CREATE TRIGGER fail_one_activity BEFORE INSERT ON activities "
                  f"WHEN NEW.external_id = '{FAILING_ROW}' BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
        drop = ["DROP TRIGGER IF EXISTS fail_one_activity"]
    else:
        create = [f"CREATE FUNCTION fail_one_activity() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                  f"IF NEW.external_id = '{FAILING_ROW}' THEN RAISE EXCEPTION 'disk full'; END IF; "
                  f"RETURN NEW; END $$",
                  "CREATE TRIGGER fail_one_activity BEFORE INSERT ON activities FOR EACH ROW "
                  "EXECUTE FUNCTION fail_one_activity()"]
        drop = ["DROP TRIGGER IF EXISTS fail_one_activity ON activities",
                "DROP FUNCTION IF EXISTS fail_one_activity()"]
    with db.engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_a_database_error_mid_write_rolls_the_whole_import_back(db, imported, failing_insert):
    before = everything(db.engine)
    change_the_export(imported)

    with pytest.raises(UserError) as err:
        import_mapping(db.engine, imported, now=AGAIN, after_load=SNAPSHOT_AFTER_LOAD)

    message = str(err.value)
    assert "nothing was written" in message and "disk full" in message
    assert everything(db.engine) == before


def test_the_command_line_says_so_in_one_line(db, imported, failing_insert, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)  # where an unexpected error's trace would be written
    before = everything(db.engine)
    change_the_export(imported)

    assert bot.main(["import", str(imported)]) == 1

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: The import stopped on a database error")
    assert "nothing was written" in err and "disk full" in err and "Traceback" not in err
    assert everything(db.engine) == before
