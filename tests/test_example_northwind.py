"""The shipped Northwind example imports as shipped, its people can log in, and its figures match pandas."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from db.importer import import_mapping
from db.schema import reps
from metrics.cache import ResultCache
from metrics.evaluate import evaluate
from metrics.periods import Period
from metrics.scopes import resolve_scope, viewer_by_email

NORTHWIND = Path(__file__).resolve().parent.parent / "examples" / "northwind"
ALL_OF_2026 = Period(date(2026, 1, 1), date(2026, 12, 31), "2026", "year")


def test_northwind_imports_as_shipped_with_logins_and_pandas_figures(db):
    report = import_mapping(db.engine, NORTHWIND / "mapping.yml")
    assert not report.rejects
    deals = pd.read_csv(NORTHWIND / "opportunities.csv")
    owners = pd.read_csv(NORTHWIND / "owners.csv", comment="#")
    with db.engine.connect() as conn:
        emails = {r.external_id: r.email for r in conn.execute(select(reps.c.external_id, reps.c.email))}
    assert emails == dict(zip(owners.owner_id, owners.email, strict=True))
    assert set(deals.owner_id) <= set(owners.owner_id)

    team = owners[owners.manager_email == "grace.holloway@northwind.example"].owner_id
    is_open = ~deals.is_closed & deals.close_date.between("2026-01-01", "2026-12-31")
    expected = deals[is_open & deals.owner_id.isin(team)].groupby("owner_id").amount.sum()
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, "grace.holloway@northwind.example")
        scope = resolve_scope(conn, viewer, "team")
        result = evaluate(conn, "pipeline", ALL_OF_2026, scope, by="owner", today=date(2026, 5, 20),
                          cache=ResultCache(0))
    by_name = dict(zip(owners.name, owners.owner_id, strict=True))
    got = {by_name[row["owner"]]: row["value"] for row in result.rows}
    assert got == {owner: Decimal(int(amount)) for owner, amount in expected.items()}

    again = import_mapping(db.engine, NORTHWIND / "mapping.yml")
    assert again.lines() == [f"{entity}: 0 inserted, 0 updated, {n} unchanged, 0 rejected" for entity, n in
                             (("stages", 7), ("reps", len(owners)), ("accounts", deals.account_name.nunique()),
                              ("opportunities", len(deals)), ("activities", 144))]
