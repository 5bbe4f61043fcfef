"""Freshness everywhere: every answer's context line and every digest say how old the CRM data is; `/sales status`
shows per-object sync health to ops and execs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from assistant.service import answer_text
from config import load_settings
from crm.engine import SyncFailed, sync
from crm.http import CrmHttp
from crm.mapping import crm_mapping
from crm.salesforce import SalesforceConnector
from crm.state import DELETIONS, RUN, ObjectState, save_state
from metrics.scopes import viewer_by_email
from tests.fakecrm.org import seed_org
from tests.fakecrm.salesforce import FakeSalesforce
from tests.orgs import build_small_org
from tests.test_slack_bot import all_text, ask, check_limits

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
OBJECTS = ("OpportunityStage", "User", "Account", "Opportunity", "OpportunityHistory", "Task", "Event")
WITH_CRM = replace(load_settings({}), crm=load_settings({"SALESFORCE_INSTANCE_URL": "http://127.0.0.1:9",
                                                          "SALESFORCE_ACCESS_TOKEN": "t"}).crm)
assert WITH_CRM.crm.sync_minutes == 15  # three intervals: 45 minutes


@pytest.fixture
def org(db):
    return build_small_org(db.engine)


def asked(db, email: str, text: str, settings=WITH_CRM, now: datetime = NOW):
    with db.engine.connect() as conn:
        viewer = viewer_by_email(conn, email)
    return answer_text(db.engine, viewer, text, settings=settings, now=now)


def synced(db, ages: dict[str, timedelta], failures: dict[str, int] | None = None) -> None:
    """Sync state as a scheduler would leave it: each object's last success `age` before NOW."""
    with db.engine.begin() as conn:
        for obj, age in ages.items():
            fails = (failures or {}).get(obj, 0)
            save_state(conn, ObjectState("salesforce", obj, watermark=NOW - age, last_success_at=NOW - age,
                                         last_attempt_at=NOW, rows_seen=10, consecutive_failures=fails,
                                         last_error="Salesforce refused the Opportunity query (500)." if fails
                                         else None))


def test_a_fresh_sync_says_its_age_from_the_oldest_object(db, org):
    ages = dict.fromkeys(OBJECTS, timedelta(minutes=4))
    ages["Task"] = timedelta(minutes=9, seconds=50)  # the oldest part of the answer: 9 whole minutes
    ages["Opportunity" + DELETIONS] = timedelta(days=5)  # not an object of its own
    ages[RUN] = timedelta(days=5)
    synced(db, ages)
    for text in ("/sales pipeline", "/sales quota", "/sales stalled", "/sales settings"):
        answer = asked(db, "ann.rep@example.com", text)
        assert answer.context[-1] == "CRM synced 9 min ago", (text, answer.context)
    digest = asked(db, "max.manager@example.com", "/sales digest preview")
    assert "CRM synced 9 min ago" in digest.context


def test_a_sync_at_three_intervals_is_still_fresh_and_past_it_stale(db, org):
    synced(db, dict.fromkeys(OBJECTS, timedelta(minutes=45)))
    assert asked(db, "ann.rep@example.com", "/sales pipeline").context[-1] == "CRM synced 45 min ago"
    later = NOW + timedelta(minutes=1)
    assert asked(db, "ann.rep@example.com", "/sales pipeline", now=later).context[-1] == \
        "CRM data is 46 min old: no sync has run since"


def test_a_stale_sync_whose_last_runs_failed_says_so(db, org):
    ages = dict.fromkeys(OBJECTS, timedelta(minutes=3))
    ages["Opportunity"] = timedelta(hours=2, minutes=20)
    synced(db, ages, failures={"Opportunity": 9})
    answer = asked(db, "ann.rep@example.com", "/sales pipeline")
    assert answer.context[-1] == "CRM data is 2 h old: the last syncs failed"
    digest = asked(db, "max.manager@example.com", "/sales digest preview")
    assert "CRM data is 2 h old: the last syncs failed" in digest.context


def test_an_object_that_never_synced_makes_the_data_incomplete(db, org):
    synced(db, dict.fromkeys(OBJECTS[:3], timedelta(minutes=2)))
    with db.engine.begin() as conn:
        save_state(conn, ObjectState("salesforce", "Opportunity", last_attempt_at=NOW, consecutive_failures=1,
                                     last_error="Salesforce refused the Opportunity query (500)."))
    assert asked(db, "ann.rep@example.com", "/sales pipeline").context[-1] == \
        "CRM data is incomplete: the last syncs failed"


def test_without_a_crm_the_line_is_the_time_of_the_answer(db, org):
    synced(db, dict.fromkeys(OBJECTS, timedelta(hours=5)))  # left from a CRM since disconnected
    answer = asked(db, "ann.rep@example.com", "/sales pipeline", settings=load_settings({}))
    assert answer.context[-1] == "as of Nov 25, 15:00 UTC"
    digest = asked(db, "max.manager@example.com", "/sales digest preview", settings=load_settings({}))
    assert "as of Nov 25, 15:00 UTC" in digest.context


def test_status_shows_each_objects_health_to_ops_and_execs_only(db, org):
    with FakeSalesforce(page_size=10) as fake:
        seed_org(fake, seed=21, reps=2, deals=6, tasks=3)
        fake.add("Opportunity", Name="Ghost owner", OwnerId="005000000000999", StageName="Prospecting",
                 Amount=1, Probability=10, ForecastCategoryName="Pipeline", CloseDate="2026-12-10")
        settings = replace(WITH_CRM, crm=load_settings(fake.env()).crm)
        connector = SalesforceConnector(settings.crm, CrmHttp(retries=1, backoff=0.001, max_wait=0.01))
        sync(db.engine, connector, crm_mapping("salesforce"), now=NOW - timedelta(minutes=20))
        fake.fail("query", 500, times=2)  # the next run stops at its first query
        with pytest.raises(SyncFailed):
            sync(db.engine, connector, crm_mapping("salesforce"), now=NOW - timedelta(minutes=5))
    answer = asked(db, "olly.ops@example.com", "/sales status", settings=settings)
    assert answer.kind == "list" and answer.title == "CRM sync · salesforce"
    rows = {r[0]: r[1:] for r in answer.table.rows}
    # every object the org has (no ForecastingQuota in the fake): last success, rows read, rejects, last error
    assert set(rows) == set(OBJECTS)
    assert rows["Opportunity"][:3] == ["20 min ago", 7, 1]  # six deals and the ghost-owned one, rejected
    assert rows["OpportunityHistory"][2] == 1  # the ghost-owned deal's history row waits for it
    assert rows["User"][:3] == ["20 min ago", 4, 0]  # the boss, the manager and two reps
    assert rows["Task"][:3] == ["20 min ago", 3, 0]
    assert rows["OpportunityStage"][0] == "20 min ago"
    assert rows["OpportunityStage"][3].startswith("1 failed run in a row: the CRM kept refusing (500 on ")
    assert answer.context[-1] == "CRM synced 20 min ago"
    assert {f.label: f.value for f in answer.figures} == {"Rejected records": 2}
    assert asked(db, "erin.exec@example.com", "/sales status", settings=settings).title == "CRM sync · salesforce"
    for who in ("ann.rep@example.com", "max.manager@example.com"):
        refused = asked(db, who, "/sales status", settings=settings)
        assert refused.kind == "error" and refused.table is None
        assert refused.lines == ["Sync health is for sales ops and execs. Every answer says how fresh its data is."]


def test_status_without_a_crm_says_where_the_data_comes_from(db, org):
    answer = asked(db, "olly.ops@example.com", "/sales status", settings=load_settings({}))
    assert answer.lines[0].startswith("No CRM is connected: the data comes from CSV imports")


def test_status_through_the_real_bot(running_bot):
    bot = running_bot
    with FakeSalesforce() as fake:
        seed_org(fake, seed=22, reps=2, deals=5, tasks=2)
        bot.deps.settings = replace(bot.deps.settings, crm=load_settings(fake.env()).crm)
        sync(bot.deps.engine, SalesforceConnector(bot.deps.settings.crm), crm_mapping("salesforce"))
    ops = ask(bot, "UOLLY", "status", name="ops")
    check_limits(ops)
    text = all_text(ops)
    assert "CRM sync · salesforce" in text and "OpportunityHistory" in text and "CRM synced just now" in text
    bot.fake.reset()
    rep = ask(bot, "UANN", "status", name="rep")
    assert "Sync health is for sales ops and execs" in all_text(rep) and "OpportunityHistory" not in all_text(rep)
    bot.fake.reset()
    pipeline = ask(bot, "UANN", "pipeline", name="pipeline")
    assert "CRM synced just now" in all_text(pipeline)


@pytest.mark.parametrize("text", ["/sales pipeline as of {moment}", "/sales waterfall as of {moment}"])
def test_an_as_of_answer_carries_the_freshness_line_only_when_the_sync_is_older_than_its_moment(db, org, text):
    """An as-of answer states its moment once ("figures as of …") and the CRM's age only when the last sync is
    older than that moment (so changes up to it may be missing); a sync after the moment has all it needs."""
    synced(db, dict.fromkeys(OBJECTS, timedelta(minutes=30)))  # last synced at 14:30 UTC
    before = asked(db, "max.manager@example.com", text.format(moment="2026-11-25T14:00:00+00:00"))
    after = asked(db, "max.manager@example.com", text.format(moment="2026-11-25T14:50:00+00:00"))
    assert before.kind == after.kind == "metric"
    assert not any("CRM" in line for line in before.context), before.context
    assert after.context[-1] == "CRM synced 30 min ago"
    if "pipeline" in text:
        assert [c for c in before.context if "as of" in c] == ["figures as of 25 Nov 2026 14:00 UTC"]
        assert not before.understood
