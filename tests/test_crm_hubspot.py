"""CRM sync from HubSpot: the real connector over real HTTP to a local fake HubSpot, on both databases.

Every figure is checked against pandas over the fake portal's own records, never against the sync's output.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest
import requests
from sqlalchemy import select

import bot
from config import load_settings
from crm.engine import SyncFailed, sync
from crm.http import CrmHttp
from crm.hubspot import HubSpotConnector
from crm.mapping import crm_mapping
from db.engine import create_raw_engine, upgrade
from db.schema import opportunities, opportunity_history
from metrics.changes import changes_since
from metrics.integrity import owner_inactive
from metrics.periods import Period
from metrics.stalled import stalled_deals
from tests.fakecrm.hubspot import FakeHubSpot, hs_time
from tests.fakecrm.hubspot_org import TODAY, add_engagement, seed_portal
from tests.test_crm_salesforce import ORG, Q4, YEAR, dump, layer

HISTORY = ("dealstage", "amount", "closedate")


@pytest.fixture
def fake():
    with FakeHubSpot() as server:
        yield server
    assert not server.errors, server.errors


def connector(fake: FakeHubSpot, sleep=None, **kw) -> HubSpotConnector:
    http = CrmHttp(backoff=0.001, max_wait=30 if sleep else 0.01, **({"sleep": sleep} if sleep else {}))
    return HubSpotConnector(load_settings(fake.env()).crm, http, **kw)


def run_sync(engine, fake, **kw):
    return sync(engine, connector(fake), crm_mapping("hubspot"), **kw)


def clean_sync_dump(fake, tmp_path, **kw) -> dict:
    engine = create_raw_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    upgrade(engine)
    sync(engine, connector(fake, **kw), crm_mapping("hubspot"))
    out = dump(engine)
    engine.dispose()
    return out


# --- independent figures from the fake portal's own records -------------------------------------------------


def portal_deals(fake: FakeHubSpot) -> pd.DataFrame:
    deals = pd.DataFrame(fake.live("deals"))
    meta = {s["id"]: s["metadata"] for p in fake.pipelines for s in p["stages"]}
    owners = {o["id"]: f"{o['firstName']} {o['lastName']}" for o in fake.owners.values()}
    deals["closed"] = deals.dealstage.map(lambda s: meta[s]["isClosed"] == "true")
    deals["won"] = deals.closed & deals.dealstage.map(lambda s: Decimal(meta[s]["probability"]) == 1)
    deals["owner"] = deals.hubspot_owner_id.map(owners)
    deals["close"] = pd.to_datetime(deals.closedate).dt.date
    deals["money"] = deals.amount.map(Decimal)
    return deals


def pandas_pipeline_by_owner(fake, period: Period) -> dict[str, Decimal]:
    deals = portal_deals(fake)
    open_ = deals[~deals.closed & (deals.hs_manual_forecast_category != "OMIT")
                  & deals.close.between(period.start, period.end)]
    return {owner: sum(group.money, Decimal(0)) for owner, group in open_.groupby("owner")}


def pandas_won(fake, period: Period) -> tuple[Decimal, int, int]:
    deals = portal_deals(fake)
    closed = deals[deals.closed & deals.close.between(period.start, period.end)]
    won = closed[closed.won]
    return sum(won.money, Decimal(0)), len(won), len(closed)


def portal_history_rows(fake) -> int:
    """One row per distinct change time of a live deal's stage, amount or close date."""
    return sum(len({e["timestamp"] for p in HISTORY for e in r["history"].get(p, [])})
               for r in fake.records["deals"].values() if not r["archived"])


def pipeline_by_owner(db) -> dict[str, Decimal]:
    return {r["owner"]: r["value"] for r in layer(db, "pipeline", Q4, by="owner").rows}


def history_count(engine, deal_id: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(opportunity_history.c.id).join(opportunities)
                                .where(opportunities.c.external_id == deal_id)).all())


def deal_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(opportunities.c.external_id)).scalars())


# --- tests -------------------------------------------------------------------------------------------------


def test_a_full_sync_gives_the_portal_figures(db, fake):
    seed_portal(fake, seed=3, owners=6, deals=80, engagements=50)
    report = run_sync(db.engine, fake)
    assert report.changes["opportunities"].created == len(fake.live("deals")) == 80
    assert report.changes["reps"].created == len(fake.owners) == 7
    assert report.changes["activities"].created == 50
    assert report.history_added == portal_history_rows(fake)
    assert pipeline_by_owner(db) == pandas_pipeline_by_owner(fake, Q4)
    won, n_won, n_closed = pandas_won(fake, YEAR)
    assert n_won and n_closed > n_won  # the seed has won and lost deals in the year
    assert layer(db, "closed_won", YEAR).rows[0]["value"] == won
    assert layer(db, "win_rate", YEAR).rows[0]["value"] == (Decimal(n_won) / n_closed).quantize(Decimal("0.0001"))
    again = run_sync(db.engine, fake)
    assert not again.wrote  # a second run changes nothing


def test_incremental_changes_reach_every_answer(db, fake):
    portal = seed_portal(fake, seed=5, owners=4, deals=40, engagements=0)
    run_sync(db.engine, fake)
    _, qualified, _, contract = portal["stages"][:4]
    moved = next(d["id"] for d in fake.live("deals") if d["dealstage"] == qualified
                 and d["hs_manual_forecast_category"] != "OMIT"
                 and Q4.start <= date.fromisoformat(d["closedate"][:10]) <= Q4.end)
    before_rows, before_pipeline = history_count(db.engine, moved), pipeline_by_owner(db)
    since = datetime.fromisoformat(fake.now())  # the fake's clock runs ahead of the real one while it seeds
    fake.update("deals", moved, dealstage=contract, amount="123456.78", closedate=hs_time(date(2026, 12, 20)))
    report = run_sync(db.engine, fake)
    assert report.history_added == 1 and history_count(db.engine, moved) == before_rows + 1
    assert pipeline_by_owner(db) == pandas_pipeline_by_owner(fake, Q4) != before_pipeline
    with db.engine.connect() as conn:
        changed = {c.record: c for c in changes_since(conn, since, period=Q4, scope=ORG)}
    assert (changed[moved].stage_before, changed[moved].stage_after) == ("Qualified To Buy", "Contract Sent")
    assert changed[moved].amount_after == Decimal("123456.78")
    assert "advanced" in changed[moved].kinds

    settings = load_settings({})

    def quiet() -> set[str]:
        with db.engine.connect() as conn:
            return {f.record for f in stalled_deals(conn, today=TODAY, settings=settings, rules={"no_activity"})}

    assert moved in quiet()
    add_engagement(fake, "calls", moved, portal["owners"][0], TODAY)
    assert run_sync(db.engine, fake).changes["activities"].created == 1
    assert moved not in quiet()

    fake.archive("deals", moved)
    report = run_sync(db.engine, fake)
    assert report.changes["opportunities"].deleted == 1
    assert moved not in deal_ids(db.engine) and moved not in quiet()
    assert pipeline_by_owner(db) == pandas_pipeline_by_owner(fake, Q4)
    with db.engine.connect() as conn:
        assert moved not in {c.record for c in changes_since(conn, since, period=Q4, scope=ORG)}

    leaver = portal["owners"][1]
    fake.owners[leaver]["archived"] = True
    run_sync(db.engine, fake)
    deals = portal_deals(fake)
    expected = set(deals[(deals.hubspot_owner_id == leaver) & ~deals.closed].id)
    with db.engine.connect() as conn:
        assert {f.record for f in owner_inactive(conn)} == expected and expected


def test_a_search_window_over_the_ceiling_still_returns_every_deal(db):
    with FakeHubSpot(ceiling=25) as fake:
        seed_portal(fake, seed=8, owners=3, deals=120, engagements=30)
        report = sync(db.engine, connector(fake, ceiling=25), crm_mapping("hubspot"))
        assert max(fake.search_totals) > 25  # over the ceiling: one search paged by `after` could not read it all
        assert not fake.refused  # and no page went past the ceiling
        assert deal_ids(db.engine) == {d["id"] for d in fake.live("deals")}
        assert report.changes["activities"].created == 30
        assert report.history_added == portal_history_rows(fake)
        for d in fake.live("deals")[:60]:  # an incremental run over the ceiling too
            fake.update("deals", d["id"], amount="777.00")
        report = sync(db.engine, connector(fake, ceiling=25), crm_mapping("hubspot"))
        assert report.changes["opportunities"].updated == 60 and report.history_added == 60
        assert not fake.refused and not fake.errors
        with db.engine.connect() as conn:
            assert conn.execute(select(opportunities.c.amount).where(opportunities.c.amount == Decimal("777.00"))
                                ).all().__len__() == 60


def deal_amounts(engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        return dict(conn.execute(select(opportunities.c.external_id, opportunities.c.amount)).all())


def portal_amounts(fake) -> dict[str, Decimal]:
    return {d["id"]: Decimal(d["amount"]) for d in fake.live("deals")}


def test_a_deal_changed_while_the_search_is_paged_skips_nothing(db, fake):
    """HubSpot's `after` is an offset: a deal on page one that changes before page two is asked for moves to the
    end of the results and every later deal one place up, so paging by `after` skips one, for good."""
    seed_portal(fake, seed=9, owners=2, deals=14, engagements=0)
    first_page = sorted(fake.live("deals"), key=lambda d: d["hs_lastmodifieddate"])[:5]
    pages_asked: list[dict] = []

    def change_on_page_two(obj: str, body: dict) -> None:
        if obj == "deals" and body.get("limit") == 5:
            pages_asked.append(body)
            if len(pages_asked) == 2:
                fake.update("deals", first_page[1]["id"], amount="4242.00")

    fake.on_search = change_on_page_two
    report = sync(db.engine, connector(fake, page_size=5), crm_mapping("hubspot"))
    assert len(pages_asked) > 2 and portal_amounts(fake)[first_page[1]["id"]] == Decimal("4242.00")
    assert deal_amounts(db.engine) == portal_amounts(fake)  # every deal, the changed one as it is now
    assert report.history_added == portal_history_rows(fake)

    # a dozen deals changed at one millisecond: more than a page at one modification time, paged all the same
    fake.on_search = None
    moved = [d["id"] for d in fake.live("deals")[:12]]
    for i, deal in enumerate(moved):
        fake.update("deals", deal, amount=f"{1000 + i}.00")
    same_moment = fake.now()
    for deal in moved:
        fake.records["deals"][deal]["properties"]["hs_lastmodifieddate"] = same_moment
    report = sync(db.engine, connector(fake, page_size=5), crm_mapping("hubspot"))
    assert report.changes["opportunities"].updated == 12 and report.history_added == 12
    assert deal_amounts(db.engine) == portal_amounts(fake)
    assert not fake.refused and not fake.errors


def test_a_429_storm_and_the_ten_second_window_lose_nothing_and_double_nothing(db, fake, tmp_path):
    seed_portal(fake, seed=7, owners=5, deals=70, engagements=40)
    expected = clean_sync_dump(fake, tmp_path)
    fake.window = (8, 10.0)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        fake.sleep(seconds)

    # another app of the portal has used up the window: the first answer is a 429 without Retry-After
    for _ in range(8):
        requests.get(f"{fake.url}/crm/v3/pipelines/deals", headers={"Authorization": f"Bearer {fake.token}"},
                     timeout=5)
    fake.fail("search", 429, times=4, retry_after="2")
    fake.fail("batch", 429, times=3, retry_after="1")
    fake.fail("associations", 500, times=2)
    refused_before = len(fake.refused)
    report = sync(db.engine, connector(fake, sleep=sleep), crm_mapping("hubspot"))
    assert dump(db.engine) == expected
    assert report.history_added == portal_history_rows(fake)
    refused = [status for status, _ in fake.refused[refused_before:]]
    # one 429 from the spent window, the injected ones, and none after: the connector kept to the window
    assert sorted(refused) == [429] * 8 + [500] * 2
    assert waits[0] == 10.0 and waits.count(2.0) == 4 and waits.count(1.0) == 3
    assert waits.count(10.0) > 1  # it waited out the window whenever HubSpot said none of it was left


def test_a_revoked_token_stops_the_sync_with_a_sentence_and_the_next_run_completes(db, fake, tmp_path):
    seed_portal(fake, seed=4, owners=3, deals=30, engagements=10)
    hub = connector(fake)
    pages = hub.read

    def revoking(obj, fields, since):  # the token is revoked once the deals have landed
        yield from pages(obj, fields, since)
        if obj == "deals":
            fake.token = "pat-na1-new"

    hub.read = revoking
    with pytest.raises(SyncFailed, match="stopped at deals: HubSpot refused the access token .401.; check "
                                         "HUBSPOT_ACCESS_TOKEN"):
        sync(db.engine, hub, crm_mapping("hubspot"))
    assert len(deal_ids(db.engine)) == 30 and history_count_all(db.engine) == 0
    run_sync(db.engine, fake)
    assert dump(db.engine) == clean_sync_dump(fake, tmp_path)
    assert history_count_all(db.engine) == portal_history_rows(fake)


def history_count_all(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(opportunity_history.c.id)).all())


def test_the_sync_command_with_hubspot_credentials(db, fake, monkeypatch, capsys):
    seed_portal(fake, seed=6, owners=2, deals=8, engagements=3)
    monkeypatch.setenv("DATABASE_URL", db.url)
    for name in ("SALESFORCE_CLIENT_ID", "SALESFORCE_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    assert bot.main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "opportunities: 8 created, 0 updated, 0 deleted, 0 rejected" in out
    assert "activities: 3 created" in out and "hubspot sync took" in out
    assert bot.main(["sync", "--status"]) == 0
    status = capsys.readouterr().out
    assert "deal_history " in status and "just now" in status
    assert bot.main(["sync", "salesforce"]) == 1
    assert "the credentials set are hubspot's" in capsys.readouterr().err
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong")
    assert bot.main(["sync", "hubspot"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The hubspot sync stopped at pipelines: HubSpot refused the access token")
    assert "Traceback" not in err


def test_a_missing_scope_is_named(db, fake):
    seed_portal(fake, seed=2, owners=2, deals=5, engagements=2)
    fake.fail("properties", 403, body={
        "status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
        "category": "MISSING_SCOPES",
        "errors": [{"message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": ["crm.objects.companies.read"]}}]})
    with pytest.raises(SyncFailed, match="stopped at companies: HubSpot's private app may not read the companies "
                                         "properties: give it the scope crm.objects.companies.read"):
        run_sync(db.engine, fake)
