"""A mapping with several bad columns reports every one in one run (issue 10, item 8): the mapping's own problems
(a target column that does not exist) and its files' (source columns the CSV lacks) together, nothing written."""

from __future__ import annotations

from textwrap import dedent

import pytest
from sqlalchemy import func, select

from db.importer import import_mapping
from db.schema import reps
from errors import UserError


def test_a_bad_target_and_missing_source_columns_are_all_reported(db, tmp_path):
    (tmp_path / "reps.csv").write_text("Id,Name\nr1,Ann Lee\n", encoding="utf-8")
    (tmp_path / "accounts.csv").write_text("Id,Account\na1,Acme\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(dedent("""\
        files:
          - path: reps.csv
            entity: reps
            key: Id
            columns:
              name: Name
              emial: Email
              team: Team Name
              region: Region
          - path: accounts.csv
            entity: accounts
            key: Id
            columns:
              name: Account
              segment: Segment
        """), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        import_mapping(db.engine, mapping)
    message = str(caught.value)
    assert message.startswith("The import did not start (nothing was written): 4 problems in 3 files.")
    problems = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(problems) == 4
    assert "line 7" in problems[0] and "reps have no column `emial`" in problems[0]
    assert [p.split(", ")[0] for p in problems[1:]] == ["  - reps.csv", "  - reps.csv", "  - accounts.csv"]
    assert [p.split('column ')[1].split(":")[0] for p in problems[1:]] == ['"Team Name"', '"Region"', '"Segment"']
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(reps)).scalar_one() == 0
