"""CRM sync from Salesforce: the real connector over real HTTP to a local fake Salesforce, on both databases.

Every figure is checked against pandas over the fake CRM's own records, never against the sync's output.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

import bot
from config import load_settings
from crm.cli import status_lines
from crm.engine import SyncFailed, sync
from crm.http import CrmHttp
from crm.mapping import crm_mapping
from crm.salesforce import SalesforceConnector
from db.engine import create_raw_engine, upgrade
from db.schema import accounts, activities, bot_sync_rejects, opportunities, opportunity_history, reps
from metrics.cache import ResultCache
from metrics.changes import changes_since
from metrics.evaluate import evaluate
from metrics.integrity import owner_inactive
from metrics.periods import Period
from metrics.scopes import Scope
from metrics.stalled import stalled_deals
from tests.fakecrm.org import TODAY, seed_org
from tests.fakecrm.salesforce import FakeSalesforce

ROOT = Path(__file__).resolve().parent.parent
ORG = Scope("org", "the whole org")
Q4 = Period(date(2026, 10, 1), date(2026, 12, 31), "Q4 FY2026", "quarter")
YEAR = Period(date(2026, 1, 1), date(2026, 12, 31), "FY2026", "year")


@pytest.fixture
def fake():
    with FakeSalesforce(page_size=20) as server:
        yield server
    assert not server.errors, server.errors


def connector(fake: FakeSalesforce, **env) -> SalesforceConnector:
    return SalesforceConnector(load_settings(fake.env(**env)).crm, CrmHttp(backoff=0.001, max_wait=0.01))


def run_sync(engine, fake, **kw):
    return sync(engine, connector(fake), crm_mapping("salesforce"), **kw)


# --- independent figures from the fake's own records -------------------------------------------------------


def crm_frames(fake: FakeSalesforce) -> tuple[pd.DataFrame, dict]:
    deals = pd.DataFrame(fake.live("Opportunity"))
    stages = {s["MasterLabel"]: s for s in fake.live("OpportunityStage")}
    users = {u["Id"]: u["Name"] for u in fake.live("User")}
    deals["closed"] = deals.StageName.map(lambda s: stages[s]["IsClosed"])
    deals["won"] = deals.StageName.map(lambda s: stages[s]["IsWon"])
    deals["owner"] = deals.OwnerId.map(users)
    deals["close"] = pd.to_datetime(deals.CloseDate).dt.date
    return deals, users


def pandas_pipeline_by_owner(fake, period: Period) -> dict[str, Decimal]:
    deals, _ = crm_frames(fake)
    open_ = deals[~deals.closed & (deals.ForecastCategoryName != "Omitted")
                  & deals.close.between(period.start, period.end)]
    return {owner: sum(group.Amount, Decimal(0)) for owner, group in open_.groupby("owner")}


def pandas_won(fake, period: Period) -> tuple[Decimal, int, int]:
    deals, _ = crm_frames(fake)
    closed = deals[deals.closed & deals.close.between(period.start, period.end)]
    won = closed[closed.won]
    return sum(won.Amount, Decimal(0)), len(won), len(closed)


def layer(db, metric: str, period: Period, by=()):
    with db.engine.connect() as conn:
        return evaluate(conn, metric, period, ORG, by=by, today=TODAY, cache=ResultCache(0))


def dump(engine) -> dict[str, list[tuple]]:
    """The sales tables by CRM ids (surrogate ids replaced), for comparing two databases."""
    with engine.connect() as conn:
        rep_ext = dict(conn.execute(select(reps.c.id, reps.c.external_id)).all())
        acc_ext = dict(conn.execute(select(accounts.c.id, accounts.c.external_id)).all())
        opp_ext = dict(conn.execute(select(opportunities.c.id, opportunities.c.external_id)).all())

        def rows(table, refs):
            out = []
            for r in conn.execute(select(table)).mappings():
                d = {k: v for k, v in r.items() if k != "id"}
                for col, ext in refs.items():
                    d[col] = ext.get(d[col])
                out.append(tuple(sorted((k, str(v)) for k, v in d.items())))
            return sorted(out)

        return {"reps": rows(reps, {"manager_id": rep_ext}), "accounts": rows(accounts, {"owner_id": rep_ext}),
                "opportunities": rows(opportunities, {"owner_id": rep_ext, "account_id": acc_ext}),
                "history": rows(opportunity_history, {"opportunity_id": opp_ext}),
                "activities": rows(activities, {"opportunity_id": opp_ext, "account_id": acc_ext,
                                                "rep_id": rep_ext})}


def clean_sync_dump(fake, tmp_path) -> dict:
    engine = create_raw_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    upgrade(engine)
    run_sync(engine, fake)
    out = dump(engine)
    engine.dispose()
    return out


def history_count(engine, external_id: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(opportunity_history.c.id).join(opportunities)
                                .where(opportunities.c.external_id == external_id)).all())


# --- tests -------------------------------------------------------------------------------------------------


def test_a_full_sync_gives_the_crm_figures(db, fake):
    seed_org(fake, seed=3, reps=6, deals=80)
    report = run_sync(db.engine, fake)
    assert report.changes["opportunities"].created == len(fake.live("Opportunity")) == 80
    assert report.history_added == len(fake.live("OpportunityHistory"))
    assert report.changes["activities"].created == len(fake.live("Task"))
    pipeline = layer(db, "pipeline", Q4, by="owner")
    assert {r["owner"]: r["value"] for r in pipeline.rows} == pandas_pipeline_by_owner(fake, Q4)
    won, n_won, n_closed = pandas_won(fake, YEAR)
    assert layer(db, "closed_won", YEAR).rows[0]["value"] == won
    assert layer(db, "win_rate", YEAR).rows[0]["value"] == (Decimal(n_won) / n_closed).quantize(Decimal("0.0001"))
    again = run_sync(db.engine, fake)
    assert not again.wrote  # a second run changes nothing


def test_incremental_changes_reach_every_answer(db, fake):
    org = seed_org(fake, seed=5, reps=4, deals=40, tasks=0)
    run_sync(db.engine, fake)
    moved = next(o["Id"] for o in fake.live("Opportunity")
                 if o["StageName"] == "Qualification" and Q4.start <= date.fromisoformat(o["CloseDate"]) <= Q4.end)
    before = history_count(db.engine, moved)
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.update("Opportunity", moved, StageName="Negotiation", Probability=80, ForecastCategoryName="Commit",
                Amount=Decimal("123456.78"), CloseDate="2026-12-20")
    report = run_sync(db.engine, fake)
    assert report.history_added == 1 and history_count(db.engine, moved) == before + 1
    assert {r["owner"]: r["value"] for r in layer(db, "pipeline", Q4, by="owner").rows} == \
        pandas_pipeline_by_owner(fake, Q4)
    with db.engine.connect() as conn:
        changed = {c.record: c for c in changes_since(conn, since, period=Q4, scope=ORG)}
    assert (changed[moved].stage_before, changed[moved].stage_after) == ("Qualification", "Negotiation")
    assert changed[moved].amount_after == Decimal("123456.78")
    assert "advanced" in changed[moved].kinds

    settings = load_settings({})
    with db.engine.connect() as conn:
        quiet = {f.record for f in stalled_deals(conn, today=TODAY, settings=settings, rules={"no_activity"})}
    assert moved in quiet
    fake.add("Task", WhatId=moved, OwnerId=org["users"][0], TaskSubtype="Call", Subject="Call",
             ActivityDate=TODAY.isoformat())
    run_sync(db.engine, fake)
    with db.engine.connect() as conn:
        quiet = {f.record for f in stalled_deals(conn, today=TODAY, settings=settings, rules={"no_activity"})}
    assert moved not in quiet

    fake.delete("Opportunity", moved)
    report = run_sync(db.engine, fake)
    assert report.changes["opportunities"].deleted == 1
    with db.engine.connect() as conn:
        assert conn.execute(select(opportunities.c.id).where(opportunities.c.external_id == moved)).first() is None
    assert {r["owner"]: r["value"] for r in layer(db, "pipeline", Q4, by="owner").rows} == \
        pandas_pipeline_by_owner(fake, Q4)

    leaver = org["users"][1]
    fake.update("User", leaver, IsActive=False)
    run_sync(db.engine, fake)
    deals, users = crm_frames(fake)
    expected = set(deals[(deals.OwnerId == leaver) & ~deals.closed].Id)
    with db.engine.connect() as conn:
        assert {f.record for f in owner_inactive(conn)} == expected and expected


def test_rate_limits_errors_and_an_expired_token_mid_paging_lose_nothing(db, fake, tmp_path):
    seed_org(fake, seed=7, reps=5, deals=70)
    fake.fail("query", 429, times=3, retry_after="0")
    fake.fail("query", 500, times=2)
    fake.fail("query", 403, times=1, body=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "limit"}])
    sf = connector(fake)
    pages = sf.read

    def expiring(obj, fields, since):  # the session expires after the first page of opportunities
        for n, page in enumerate(pages(obj, fields, since)):
            yield page
            if obj == "Opportunity" and n == 0:
                fake.expire_tokens()

    sf.read = expiring
    sync(db.engine, sf, crm_mapping("salesforce"))
    assert sf.refreshes == 1 and fake.tokens_issued == 2
    assert sf.http.retried == 6
    assert dump(db.engine) == clean_sync_dump(fake, tmp_path)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sync_killed_at_a_random_point_resumes_to_the_same_database(db, fake, tmp_path, seed):
    seed_org(fake, seed=seed, reps=5, deals=60)
    fake.delay = 0.02
    env = {**os.environ, **fake.env(), "DATABASE_URL": db.url, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "sync"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_at = random.Random(seed).randint(3, 25)
    deadline = time.monotonic() + 60
    while len(fake.requests) < kill_at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    fake.delay = 0.0
    run_sync(db.engine, fake)
    assert dump(db.engine) == clean_sync_dump(fake, tmp_path)


def test_records_that_do_not_fit_are_rejected_and_the_rest_lands(db, fake):
    org = seed_org(fake, seed=9, reps=3, deals=10, tasks=0)
    ghost = fake.add("Opportunity", Name="Ghost owner", OwnerId="005000000000999", StageName="Prospecting",
                     Amount=Decimal(100), Probability=10, ForecastCategoryName="Pipeline", CloseDate="2026-12-10")
    odd = fake.add("Opportunity", Name="Odd stage", OwnerId=org["users"][0], StageName="Id. Decision Makers",
                   Amount=Decimal(100), Probability=10, ForecastCategoryName="Pipeline", CloseDate="2026-12-10")
    garbled = fake.add("Opportunity", Name="Garbled", OwnerId=org["users"][0], StageName="Prospecting",
                       Amount="12,3x", Probability=10, ForecastCategoryName="Pipeline", CloseDate="2026-12-10")
    report = run_sync(db.engine, fake)
    assert report.changes["opportunities"].created == 10 and report.changes["opportunities"].rejected == 3
    with db.engine.connect() as conn:
        rejects = {(r.object, r.record_id, r.field) for r in conn.execute(select(bot_sync_rejects))}
    assert {r for r in rejects if r[0] == "Opportunity"} == {
        ("Opportunity", ghost, "OwnerId"), ("Opportunity", odd, "StageName"), ("Opportunity", garbled, "Amount")}
    # their history rows wait for them (rejected with the reason), and land once the deal does
    waiting = {h["Id"] for h in fake.live("OpportunityHistory") if h["OpportunityId"] in (ghost, odd, garbled)}
    assert {r[1] for r in rejects if r[0] == "OpportunityHistory"} == waiting
    status = "\n".join(status_lines(db.engine, "salesforce"))
    assert ghost in status and "Garbled" not in status and "12,3x" in status
    fake.update("Opportunity", garbled, Amount=Decimal("12.30"))
    run_sync(db.engine, fake)
    with db.engine.connect() as conn:
        left = {r.record_id for r in conn.execute(select(bot_sync_rejects).where(
            bot_sync_rejects.c.object == "Opportunity"))}
        assert conn.execute(select(opportunities.c.amount).where(opportunities.c.external_id == garbled)
                            ).scalar_one() == Decimal("12.30")
    assert left == {ghost, odd}
    # the fixed deal's history: the fix's row lands; its first row, with the unreadable amount, stays rejected
    first, fix = sorted((h for h in fake.live("OpportunityHistory") if h["OpportunityId"] == garbled),
                        key=lambda h: h["CreatedDate"])
    with db.engine.connect() as conn:
        assert conn.execute(select(opportunity_history.c.external_id).join(opportunities)
                            .where(opportunities.c.external_id == garbled)).scalars().all() == [fix["Id"]]
        assert conn.execute(select(bot_sync_rejects.c.field).where(bot_sync_rejects.c.record_id == first["Id"])
                            ).scalars().all() == ["Amount"]


def test_fields_the_org_lacks_are_named_once_and_custom_fields_map_through_crm_mapping(db, fake, tmp_path):
    seed_org(fake, seed=4, reps=2, deals=6, tasks=0)
    fake.fields["Opportunity"].remove("NextStep")
    fake.fields["Opportunity"].append("Product_Line__c")
    for o in fake.live("Opportunity"):
        fake.update("Opportunity", o["Id"], Product_Line__c="Platform Plus")
    override = tmp_path / "crm.yml"
    override.write_text("files:\n  - object: Opportunity\n    entity: opportunities\n"
                        "    columns: {product: Product_Line__c}\n")
    report = sync(db.engine, connector(fake), crm_mapping("salesforce", str(override)))
    assert [n for n in report.notes if "NextStep" in n] == [
        "Opportunity.NextStep: this salesforce org has no such field; opportunities.next_step is left as it is."]
    with db.engine.connect() as conn:
        assert set(conn.execute(select(opportunities.c.product)).scalars()) == {"Platform Plus"}


def test_jwt_bearer_sign_in(db, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "key.pem").write_bytes(pem)
    with FakeSalesforce(public_key=public) as fake:
        seed_org(fake, seed=2, reps=2, deals=5, tasks=0)
        env = {"SALESFORCE_CLIENT_ID": fake.client_id, "SALESFORCE_USERNAME": fake.username,
               "SALESFORCE_PRIVATE_KEY_FILE": str(tmp_path / "key.pem"), "SALESFORCE_LOGIN_URL": fake.url}
        sf = SalesforceConnector(load_settings(env).crm, CrmHttp(backoff=0.001))
        report = sync(db.engine, sf, crm_mapping("salesforce"))
        assert report.changes["opportunities"].created == 5
        wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (tmp_path / "key.pem").write_bytes(wrong.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
        refused = SalesforceConnector(load_settings(env).crm, CrmHttp(backoff=0.001))
        with pytest.raises(SyncFailed, match="Salesforce refused to sign in"):
            sync(db.engine, refused, crm_mapping("salesforce"), full=True)


def test_the_sync_command_and_its_status(db, fake, monkeypatch, capsys):
    seed_org(fake, seed=6, reps=2, deals=8, tasks=3)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("CRM_MAX_RETRIES", "1")  # the failing run below gives up after one retry, half a second
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    assert bot.main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "opportunities: 8 created, 0 updated, 0 deleted, 0 rejected" in out
    assert "activities: 3 created" in out and "salesforce sync took" in out
    assert bot.main(["sync", "--status"]) == 0
    status = capsys.readouterr().out
    assert "Opportunity " in status and "just now" in status
    fake.fail("any", 500, times=100)
    assert bot.main(["sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The salesforce sync stopped at OpportunityStage") and "Traceback" not in err
    assert "after 1 retries" in err and fake.faults[-1].times == 98  # one try and one retry, CRM_MAX_RETRIES=1
    assert bot.main(["sync", "--status"]) == 0
    assert "1 failed run in a row" in capsys.readouterr().out
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-x")
    assert bot.main(["sync"]) == 1
    assert "Both Salesforce" in capsys.readouterr().err


def test_no_crm_configured_is_a_sentence(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    for name in ("SALESFORCE_CLIENT_ID", "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert bot.main(["sync"]) == 1
    assert capsys.readouterr().err.startswith("error: No CRM is configured")


def test_an_object_the_org_lacks_is_skipped_with_a_note(db, fake):
    seed_org(fake, seed=8, reps=2, deals=3, tasks=0)
    report = run_sync(db.engine, fake)
    assert "ForecastingQuota: not in this salesforce org; skipped." in report.notes
    assert replace(report).changes["reps"].created == 4
