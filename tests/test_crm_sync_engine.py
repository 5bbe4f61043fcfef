"""The sync engine's edges: objects read whole that span several pages, problems that belong to no one record,
and a sync that loads only what each page names (a real fake Salesforce over HTTP, both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from crm.engine import TableStatistics, sync
from crm.mapping import crm_mapping
from db.schema import bot_sync_rejects, opportunities, opportunity_history, stages
from tests.fakecrm.org import STAGES, large_org, seed_org
from tests.fakecrm.salesforce import FakeSalesforce
from tests.test_crm_salesforce import connector, dump


def rejects(db) -> list[tuple]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(select(bot_sync_rejects.c.object, bot_sync_rejects.c.record_id,
                                          bot_sync_rejects.c.field, bot_sync_rejects.c.value)).all())


def test_stages_on_several_pages_are_one_set(db):
    with FakeSalesforce(page_size=4) as fake:  # six stages: two pages
        seed_org(fake, seed=31, reps=3, deals=30, tasks=0)
        report = sync(db.engine, connector(fake), crm_mapping("salesforce"))
    with db.engine.connect() as conn:
        assert set(conn.execute(select(stages.c.name)).scalars()) == {s[0] for s in STAGES}
        assert len(conn.execute(select(opportunities.c.id)).all()) == 30
    assert report.changes["opportunities"].rejected == 0 and rejects(db) == []


def test_a_stage_the_crm_dropped_while_deals_use_it_is_one_reject_run_after_run(db):
    with FakeSalesforce(page_size=50) as fake:
        seed_org(fake, seed=32, reps=3, deals=30, tasks=0)
        sync(db.engine, connector(fake), crm_mapping("salesforce"))
        in_it = [o for o in fake.live("Opportunity") if o["StageName"] == "Qualification"]
        assert in_it
        fake.objects["OpportunityStage"] = {k: v for k, v in fake.objects["OpportunityStage"].items()
                                            if v["MasterLabel"] != "Qualification"}
        for _ in range(3):  # the second run used to fail on the reject already recorded
            sync(db.engine, connector(fake), crm_mapping("salesforce"))
            assert rejects(db) == [("OpportunityStage", "", "MasterLabel", "Qualification")]
        with db.engine.connect() as conn:
            assert "Qualification" in set(conn.execute(select(stages.c.name)).scalars())  # kept: deals use it


@pytest.mark.parametrize("page_size", [7, 500])
def test_a_large_org_page_by_page_equals_one_page(db, tmp_path, page_size):
    """Each page loads only the rows it names; the result does not depend on where pages break."""
    from tests.test_crm_salesforce import clean_sync_dump

    with FakeSalesforce(page_size=page_size) as fake:
        counts = large_org(fake, 120, seed=5)
        sync(db.engine, connector(fake), crm_mapping("salesforce"))
        fake.page_size = 100_000
        assert dump(db.engine) == clean_sync_dump(fake, tmp_path)
    assert counts["Opportunity"] == 120 and rejects(db) == []


def test_the_sync_bench_runs_and_refuses_a_database_with_data(db, tmp_path, monkeypatch, capsys):
    import json

    import bot

    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert bot.main(["bench", "--sync", "--deals", "60", "--output", str(tmp_path)]) == 0
    result = json.loads(next(tmp_path.glob("bench-sync-*-60.json")).read_text())
    assert 0 < result["changed"] <= 60  # every open deal of the 60 moved (fewer than 1,000 are open)
    with db.engine.connect() as conn:
        assert len(conn.execute(select(opportunities.c.id)).all()) == result["counts"]["Opportunity"] == 60
        # each moved deal has one history row more than the org had
        assert len(conn.execute(select(opportunity_history.c.id)).all()) == \
            result["counts"]["OpportunityHistory"] + result["changed"]
    assert {"first_sync_s", "incremental_s", "peak_rss_mb"} <= set(result)
    capsys.readouterr()
    assert bot.main(["bench", "--sync", "--deals", "60", "--output", str(tmp_path)]) == 1
    assert "already has opportunities" in capsys.readouterr().err


def _estimated_rows(conn, table: str) -> float:
    return conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar_one()


@pytest.mark.postgresql
def test_tables_a_sync_grows_are_analysed_as_they_double(db):
    """A first sync with stale statistics plans its look-ups by external id as growing sequential scans (100k
    deals took over 10 minutes): each grown table is analysed when its added rows have doubled since the last."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL statistics")
    with FakeSalesforce(page_size=500) as fake:
        large_org(fake, 60, seed=8)
        report = sync(db.engine, connector(fake), crm_mapping("salesforce"))  # below the first analysis: none
    created = {e: c.created for e, c in report.changes.items()}
    statistics = TableStatistics(db.engine, first=100)
    with db.engine.connect() as conn:
        assert _estimated_rows(conn, "activities") == -1  # never analysed
        statistics.after_page(report)
        actual = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("activities", "opportunity_history", "reps")}
        assert _estimated_rows(conn, "activities") == actual["activities"] == created["activities"]
        assert _estimated_rows(conn, "opportunity_history") == actual["opportunity_history"]
        assert created["reps"] < 100 and _estimated_rows(conn, "reps") == -1  # not grown enough yet
    assert statistics.analysed_at == {e: n for e, n in {**created, "opportunity_history": report.history_added}
                                      .items() if n >= 100}
    report.changes["activities"].created = 2 * created["activities"] - 1
    before = dict(statistics.analysed_at)
    statistics.after_page(report)  # not yet doubled
    assert statistics.analysed_at == before
    report.changes["activities"].created += 1
    statistics.after_page(report)
    assert statistics.analysed_at["activities"] == 2 * created["activities"]
