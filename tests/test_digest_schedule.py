"""Who gets which digest at which UTC instant: time zones, daylight saving, weekends, per-person settings.

The digest job is called directly with a chosen `now` against the fake Slack (and through `answer_text` for
`/sales digest …`). US clocks go forward on Sun 8 Mar 2026, EU clocks on Sun 29 Mar 2026.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from assistant.service import answer_text
from config import load_settings
from db.schema import bot_delivery_ledger, bot_slack_identities, bot_subscriptions
from errors import UserError
from handlers.app import web_client
from i18n import use_locale
from metrics.scopes import viewer_by_id
from scheduler import digests as digests_module
from scheduler.context import JobContext
from scheduler.digest_schedule import (
    Subscription,
    parse_digest_command,
    parse_hhmm,
    plan_slot,
    send_instant,
)
from scheduler.digests import plan, run_digests
from scheduler.ledger import Delivery, DeliveryLedger
from scheduler.sender import SlackSender
from tests.factories import Factory

FRI_BEFORE_US = date(2026, 3, 6)  # PST (UTC-8)
MON_AFTER_US = date(2026, 3, 9)  # PDT (UTC-7); Berlin still CET (UTC+1)
FRI_BEFORE_EU = date(2026, 3, 27)  # CET
MON_AFTER_EU = date(2026, 3, 30)  # CEST (UTC+2)
LA, BERLIN, SINGAPORE, NEW_YORK = (ZoneInfo(z) for z in
                                   ("America/Los_Angeles", "Europe/Berlin", "Asia/Singapore", "America/New_York"))


def utc(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def make_ctx(engine, fake, **overrides) -> JobContext:
    settings = replace(load_settings({}), slack_bot_token="xoxb-test", slack_api_url=fake.api_url, **overrides)
    client = web_client(settings)  # the bot's client: retries 429 after Retry-After, 5xx with backoff
    return JobContext(engine, settings, SlackSender(client, per_channel_interval=0), DeliveryLedger(engine))


def build_org(engine, fake=None) -> dict[str, int]:
    """exec Erin (New York); managers Lars (Los Angeles), Berta (Berlin), Sia (Singapore, under Berta); reps
    Ann (Lars), Bob (Berta), Sam (Sia); Nora, a manager whose Slack account (found by email) says Tokyo while
    the database says UTC; ops Olly and rep Ann get no digest."""
    f = Factory(engine)
    erin = f.rep("Erin Exec", role="exec", timezone="America/New_York", slack_user_id="UERIN")
    lars = f.rep("Lars Lead", role="manager", manager=erin, team="West", timezone="America/Los_Angeles",
                 slack_user_id="ULARS")
    berta = f.rep("Berta Boss", role="manager", manager=erin, team="EMEA", timezone="Europe/Berlin",
                  slack_user_id="UBERTA")
    sia = f.rep("Sia Sub", role="manager", manager=berta, team="APAC", timezone="Asia/Singapore",
                slack_user_id="USIA")
    nora = f.rep("Nora North", role="manager", manager=erin, team="North", timezone="UTC")
    ann = f.rep("Ann Rep", manager=lars, team="West", timezone="America/Los_Angeles", slack_user_id="UANN")
    bob = f.rep("Bob Rep", manager=berta, team="EMEA", timezone="Europe/Berlin", slack_user_id="UBOB")
    sam = f.rep("Sam Rep", manager=sia, team="APAC", timezone="Asia/Singapore", slack_user_id="USAM")
    f.rep("Olly Ops", role="ops", slack_user_id="UOLLY")
    acme = f.account("Acme", segment="Enterprise")
    f.deal(ann, "Negotiation", 20000, date(2026, 3, 12), created=date(2026, 1, 10), name="Ann big", account_id=acme)
    f.deal(ann, "Closed Won", 15000, date(2026, 2, 20), created=date(2026, 1, 5), name="Ann won")
    f.deal(bob, "Proposal", 8000, date(2026, 3, 31), created=date(2026, 2, 1), name="Bob open")
    f.deal(bob, "Closed Won", 12000, date(2026, 3, 2), created=date(2026, 1, 20), name="Bob won")
    f.deal(sam, "Qualification", 5000, date(2026, 3, 13), created=date(2026, 2, 10), name="Sam open")
    f.deal(sam, "Closed Won", 7000, date(2026, 1, 30), created=date(2026, 1, 2), name="Sam won")
    for rep, amount in ((ann, 50000), (bob, 40000), (sam, 30000)):
        f.quota(rep, date(2026, 1, 1), date(2026, 3, 31), amount)
    if fake is not None:
        for uid, email, name, tz in (("UERIN", "erin.exec@example.com", "Erin Exec", "America/New_York"),
                                     ("ULARS", "lars.lead@example.com", "Lars Lead", "America/Los_Angeles"),
                                     ("UBERTA", "berta.boss@example.com", "Berta Boss", "Europe/Berlin"),
                                     ("USIA", "sia.sub@example.com", "Sia Sub", "Asia/Singapore"),
                                     ("UNORA", "nora.north@example.com", "Nora North", "Asia/Tokyo")):
            fake.add_user(uid, email, name, tz=tz)
    return {"erin": erin, "lars": lars, "berta": berta, "sia": sia, "nora": nora, "ann": ann, "bob": bob,
            "sam": sam}


def due_names(ctx, now, **kw) -> set[str]:
    todo, _ = plan(ctx, now, **kw)
    return {item.person.name.split()[0] for item in todo}


def dm_posts(fake, user: str) -> list:
    return [m for m in fake.messages(kind="message") if m.channel == f"D{user}"]


# ---------------------------------------------------------------------------------------------------------------
# pure timing


def test_local_send_instants_follow_daylight_saving():
    eight = time(8, 0)
    assert send_instant(FRI_BEFORE_US, eight, LA) == utc(FRI_BEFORE_US, 16)
    assert send_instant(MON_AFTER_US, eight, LA) == utc(MON_AFTER_US, 15)
    assert send_instant(FRI_BEFORE_EU, eight, BERLIN) == utc(FRI_BEFORE_EU, 7)
    assert send_instant(MON_AFTER_EU, eight, BERLIN) == utc(MON_AFTER_EU, 6)
    assert send_instant(MON_AFTER_US, eight, BERLIN) == utc(MON_AFTER_US, 7)  # the weeks between the changes
    assert send_instant(MON_AFTER_US, eight, SINGAPORE) == utc(MON_AFTER_US, 0)
    # a time inside the spring-forward gap (02:30 on 8 Mar in Los Angeles) is read as 03:30 PDT
    assert send_instant(date(2026, 3, 8), time(2, 30), LA) == utc(date(2026, 3, 8), 10, 30)


def test_weekdays_pauses_and_off_in_plan_slot():
    settings = load_settings({})
    monday_0815 = utc(MON_AFTER_US, 7, 15)  # 08:15 in Berlin
    on = plan_slot(1, "digest", BERLIN, Subscription(), settings, monday_0815)
    assert on.due and on.key.period == "2026-03-09" and on.send_at == utc(MON_AFTER_US, 7)
    saturday = plan_slot(1, "digest", BERLIN, Subscription(), settings, utc(date(2026, 3, 7), 9))
    assert saturday.skip == "weekend"
    assert plan_slot(1, "exec_digest", BERLIN, Subscription(), settings, utc(date(2026, 3, 10), 9)).skip == (
        "not a Monday")
    assert plan_slot(1, "digest", BERLIN, Subscription(enabled=False), settings, monday_0815).skip == "turned off"
    paused = plan_slot(1, "digest", BERLIN, Subscription(paused_until=date(2026, 3, 13)), settings, monday_0815)
    assert paused.skip.startswith("paused until")
    assert not plan_slot(1, "digest", BERLIN, Subscription(send_time="09:00"), settings, monday_0815).due
    late_night = plan_slot(1, "digest", BERLIN, Subscription(), settings, utc(MON_AFTER_US, 20, 30))  # 21:30
    assert late_night.skip == "late and inside quiet hours"
    afternoon = plan_slot(1, "digest", BERLIN, Subscription(), settings, utc(MON_AFTER_US, 13))  # 14:00
    assert afternoon.due  # catch-up after downtime: still the same day, outside quiet hours
    assert plan_slot(1, "digest", BERLIN, Subscription(), settings, utc(MON_AFTER_US, 20, 30), whenever=True).due


def test_parse_times_and_digest_commands():
    assert parse_hhmm("07:30") == time(7, 30)
    assert parse_hhmm("7am") == time(7, 0)
    assert parse_hhmm("7:45 pm") == time(19, 45)
    assert parse_hhmm("12am") == time(0, 0)
    for bad in ("25:00", "7:61", "13pm", "noonish", ""):
        with pytest.raises(UserError):
            parse_hhmm(bad)
    today = date(2026, 3, 9)
    assert parse_digest_command("pause 5d", today).paused_until == date(2026, 3, 13)
    assert parse_digest_command("pause 2w", today).paused_until == date(2026, 3, 22)
    assert parse_digest_command("pause until", today, until=date(2026, 3, 20)).paused_until == date(2026, 3, 19)
    assert parse_digest_command("time 07:30", today).at == time(7, 30)
    assert [parse_digest_command(w, today).action for w in ("", "off", "on", "preview", "resume")] == [
        "status", "off", "on", "preview", "on"]
    for bad in ("pause", "pause 0d", "pause forever", "time", "sometimes"):
        with pytest.raises(UserError):
            parse_digest_command(bad, today)


# ---------------------------------------------------------------------------------------------------------------
# who is due when (planning against the database)


def test_who_is_due_across_time_zones_and_the_us_change(db, fake_slack):
    build_org(db.engine)
    ctx = make_ctx(db.engine, fake_slack)
    assert due_names(ctx, utc(date(2026, 3, 8), 23, 59)) == set()  # Monday 07:59 in Singapore; Sunday elsewhere
    assert due_names(ctx, utc(MON_AFTER_US, 0)) == {"Sia"}  # Monday 08:00 in Singapore
    assert due_names(ctx, utc(MON_AFTER_US, 6, 59)) == {"Sia"}
    assert due_names(ctx, utc(MON_AFTER_US, 7)) == {"Sia", "Berta"}  # 08:00 CET
    assert due_names(ctx, utc(MON_AFTER_US, 8)) == {"Sia", "Berta", "Nora"}  # Nora: 08:00 UTC (database zone)
    assert due_names(ctx, utc(MON_AFTER_US, 11, 59)) == {"Sia", "Berta", "Nora"}  # 19:59 in Singapore
    # 08:00 EDT: Erin's weekly digest; Sia's (never sent: the bot was "down") is held: 20:00 is quiet hours there
    assert due_names(ctx, utc(MON_AFTER_US, 12)) == {"Berta", "Nora", "Erin"}
    assert due_names(ctx, utc(MON_AFTER_US, 14, 59)) == {"Berta", "Nora", "Erin"}
    assert due_names(ctx, utc(MON_AFTER_US, 15)) == {"Berta", "Nora", "Erin", "Lars"}  # 08:00 PDT
    # the Friday before the change: Los Angeles is UTC-8, so 15:00 UTC is only 07:00 there
    assert "Lars" not in due_names(ctx, utc(FRI_BEFORE_US, 15))
    assert "Lars" in due_names(ctx, utc(FRI_BEFORE_US, 16))
    assert "Erin" not in due_names(ctx, utc(FRI_BEFORE_US, 16))  # the exec digest is Mondays only


def test_the_eu_change_moves_berlin_by_an_hour_in_utc(db, fake_slack):
    build_org(db.engine)
    ctx = make_ctx(db.engine, fake_slack)
    assert "Berta" not in due_names(ctx, utc(FRI_BEFORE_EU, 6, 59))
    assert "Berta" in due_names(ctx, utc(FRI_BEFORE_EU, 7))  # 08:00 CET
    assert "Berta" not in due_names(ctx, utc(MON_AFTER_EU, 5, 59))
    assert "Berta" in due_names(ctx, utc(MON_AFTER_EU, 6))  # 08:00 CEST


def test_weekends_get_nothing(db, fake_slack):
    build_org(db.engine)
    ctx = make_ctx(db.engine, fake_slack)
    saturday_start = utc(date(2026, 3, 7), 8)  # Saturday 00:00 in Los Angeles … Sunday 23:59 in Singapore
    for hours in range(0, 32, 2):
        assert due_names(ctx, saturday_start + timedelta(hours=hours)) == set()
    # `--all` for a Saturday: still nobody (weekends are skipped, not just out of hours)
    todo, skipped = plan(ctx, utc(date(2026, 3, 7), 12), whenever=True)
    assert todo == [] and {s.reason for s in skipped} == {"weekend", "not a Monday"}


# ---------------------------------------------------------------------------------------------------------------
# the job, sending through the fake Slack


def test_the_job_sends_each_digest_at_its_local_time_once(db, fake_slack):
    org = build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    monday = MON_AFTER_US
    first = run_digests(ctx, utc(monday, 0, 5))
    # Nora's Slack account (looked up by email) says Tokyo: 09:05 there, so hers went out too
    assert {o.name for o in first["outcomes"] if o.status == "sent"} == {"Sia Sub", "Nora North"}
    assert len(dm_posts(fake_slack, "USIA")) == 1 and len(dm_posts(fake_slack, "UNORA")) == 1
    with db.engine.connect() as conn:
        tz = conn.execute(select(bot_slack_identities.c.tz).where(bot_slack_identities.c.rep_id == org["nora"]))
        assert tz.scalar() == "Asia/Tokyo"
    again = run_digests(ctx, utc(monday, 0, 10))
    assert again["sent"] == 0 and again["due"] == 0
    run_digests(ctx, utc(monday, 7, 5))
    run_digests(ctx, utc(monday, 12, 5))
    run_digests(ctx, utc(monday, 15, 5))
    run_digests(ctx, utc(monday, 15, 10))
    for user in ("USIA", "UNORA", "UBERTA", "UERIN", "ULARS"):
        posts = dm_posts(fake_slack, user)
        assert len(posts) == 1, user
    sia = dm_posts(fake_slack, "USIA")[0]
    assert sia.metadata == {"event_type": "salesbot_delivery",
                            "event_payload": {"kind": "digest", "recipient": str(org["sia"]),
                                              "period": "2026-03-09"}}
    erin = dm_posts(fake_slack, "UERIN")[0]
    assert erin.metadata["event_payload"]["kind"] == "exec_digest"
    uploads = [u for u in fake_slack.uploads() if u.completed]
    assert len(uploads) == 5 and all(u.is_png for u in uploads)
    assert {u.channel_id for u in uploads} == {"DUSIA", "DUNORA", "DUBERTA", "DUERIN", "DULARS"}
    # nothing for reps or ops
    assert not dm_posts(fake_slack, "UANN") and not dm_posts(fake_slack, "UOLLY")


def test_the_same_day_is_never_sent_twice_but_the_next_weekday_is(db, fake_slack):
    build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    run_digests(ctx, utc(MON_AFTER_US, 9))
    run_digests(ctx, utc(MON_AFTER_US, 10), whenever=True)  # `--all` later that day: already sent
    assert len(dm_posts(fake_slack, "UBERTA")) == 1
    run_digests(ctx, utc(MON_AFTER_US + timedelta(days=1), 9))
    assert len(dm_posts(fake_slack, "UBERTA")) == 2


def test_time_pause_off_and_on_are_honoured(db, fake_slack, monkeypatch):
    org = build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    settings = ctx.settings
    with db.engine.connect() as conn:
        berta = viewer_by_id(conn, org["berta"])
    berta = replace(berta, timezone="Europe/Berlin")

    def say(text: str, now: datetime) -> str:
        answer = answer_text(db.engine, berta, "/sales digest " + text, settings=settings, now=now)
        assert answer.kind == "info", answer
        return " ".join(answer.lines)

    sunday = utc(date(2026, 3, 8), 18)
    assert "07:30" in say("time 07:30", sunday)
    assert "Berta" not in due_names(ctx, utc(MON_AFTER_US, 6, 29))
    assert "Berta" in due_names(ctx, utc(MON_AFTER_US, 6, 30))  # 07:30 CET

    assert "paused through Fri, Mar 13" in say("pause 5d", utc(MON_AFTER_US, 5))
    for day in range(9, 14):
        assert "Berta" not in due_names(ctx, utc(date(2026, 3, day), 10))
    assert "Berta" in due_names(ctx, utc(date(2026, 3, 16), 10))

    assert "is off" in say("off", utc(date(2026, 3, 16), 5))
    assert "Berta" not in due_names(ctx, utc(date(2026, 3, 16), 10))
    run_digests(ctx, utc(date(2026, 3, 16), 10))
    assert not dm_posts(fake_slack, "UBERTA")
    assert "is on" in say("on", utc(date(2026, 3, 16), 11))
    assert "Berta" in due_names(ctx, utc(date(2026, 3, 16), 11))
    with db.engine.connect() as conn:
        row = conn.execute(select(bot_subscriptions).where(bot_subscriptions.c.rep_id == org["berta"])).one()
    assert (row.kind, row.enabled, row.send_time, row.paused_until) == ("digest", True, "07:30", None)
    status = say("", utc(date(2026, 3, 16), 11))
    assert "weekdays at 07:30 (Europe/Berlin)" in status and "Next one: Tue, Mar 17 at 07:30 CET" in status


def test_digest_settings_in_indonesian_and_italian(db, fake_slack):
    """Berta's digest set with Indonesian and Italian words, answered in that language: the same subscription rows
    as the English words give."""
    org = build_org(db.engine, fake_slack)
    settings = make_ctx(db.engine, fake_slack).settings
    with db.engine.connect() as conn:
        berta = replace(viewer_by_id(conn, org["berta"]), timezone="Europe/Berlin")

    def say(lang: str, text: str, now: datetime) -> tuple[str, tuple]:
        with use_locale(lang):
            answer = answer_text(db.engine, berta, text, settings=settings, now=now)
        assert answer.kind == "info", answer
        with db.engine.connect() as conn:
            row = conn.execute(select(bot_subscriptions).where(bot_subscriptions.c.rep_id == org["berta"])).one()
        return " ".join([answer.title, *answer.lines]), (row.enabled, row.send_time, row.paused_until)

    monday = utc(MON_AFTER_US, 5)  # Monday 2026-03-09
    said, row = say("it", "/sales riepilogo alle 7:15", monday)
    assert "Fatto" in said and "07:15" in said and row == (True, "07:15", None)
    said, row = say("it", "/sales riepilogo pausa 2 settimane", monday)
    assert "in pausa" in said and row == (True, "07:15", date(2026, 3, 22))
    said, row = say("id", "/sales ringkasan jeda 5 hari", monday)
    assert "dijeda" in said and "Jum, 13 Mar" in said and row == (True, "07:15", date(2026, 3, 13))
    said, row = say("id", "/sales ringkasan jeda sampai 20/3", monday)
    assert row == (True, "07:15", date(2026, 3, 19))  # "until the 20th": the 20th has a digest again
    said, row = say("it", "/sales riepilogo pausa fino al 20/3", monday)
    assert row == (True, "07:15", date(2026, 3, 19))
    said, row = say("id", "/sales ringkasan matikan", monday)
    assert "mati" in said and row[0] is False
    said, row = say("it", "/sales riepilogo riattiva", monday)
    assert row == (True, "07:15", None)
    said, _row = say("it", "/sales riepilogo", monday)
    assert "Il prossimo: lun 9 mar alle 07:15 CET" in said, said
    with use_locale("it"), pytest.raises(UserError, match="Per quanto"):
        parse_digest_command("pausa sempre", date(2026, 3, 9))


def test_a_rep_or_ops_person_has_no_digest_to_set(db, fake_slack):
    org = build_org(db.engine)
    with db.engine.connect() as conn:
        ann = viewer_by_id(conn, org["ann"])
    answer = answer_text(db.engine, ann, "/sales digest off", settings=load_settings({}),
                         now=utc(MON_AFTER_US, 9))
    assert answer.kind == "info" and "managers" in answer.lines[0]
    with db.engine.connect() as conn:
        assert conn.execute(select(bot_subscriptions)).first() is None


def test_a_failed_send_is_retried_with_backoff_and_reported_after_the_last_attempt(db, fake_slack):
    org = build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    fake_slack.fail("chat.postMessage", error="channel_not_found", times=1)
    now = utc(MON_AFTER_US, 7, 5)
    first = run_digests(ctx, now, emails=["berta.boss@example.com"])
    assert first["failed"] == 1 and not dm_posts(fake_slack, "UBERTA")
    soon = run_digests(ctx, now + timedelta(minutes=2), emails=["berta.boss@example.com"])
    assert soon["due"] == 0 and soon["skipped"] == {"retry_later": 1}
    later = run_digests(ctx, now + timedelta(minutes=6), emails=["berta.boss@example.com"])
    assert later["sent"] == 1 and len(dm_posts(fake_slack, "UBERTA")) == 1

    # a manager Slack never accepts a message for: failed on every tick, then given up, and visible to ops
    fake_slack.fail("chat.postMessage", error="channel_not_found", times=10)
    at = now
    for _ in range(8):
        run_digests(ctx, at, emails=["sia.sub@example.com"])
        at += timedelta(minutes=45)
    key = ("digest", str(org["sia"]), "2026-03-09")
    with db.engine.connect() as conn:
        row = conn.execute(select(bot_delivery_ledger).where(bot_delivery_ledger.c.kind == key[0],
                                                             bot_delivery_ledger.c.recipient == key[1])).one()
    assert (row.status, row.attempts) == ("failed", 5) and "channel_not_found" in row.error
    failures = DeliveryLedger(db.engine).failures(now - timedelta(days=1))
    assert [(f.kind, f.recipient) for f in failures] == [key[:2]]
    assert not dm_posts(fake_slack, "USIA")


def test_a_person_missing_from_slack_is_a_reported_failure_not_a_crash(db, fake_slack):
    org = build_org(db.engine)  # no Slack users at all in the fake
    ctx = make_ctx(db.engine, fake_slack)
    digests_module._NOT_IN_SLACK.clear()
    out = run_digests(ctx, utc(MON_AFTER_US, 8, 5), emails=["nora.north@example.com"])
    assert out["failed"] == 1
    reason = next(o.reason for o in out["outcomes"] if o.rep_id == org["nora"])
    assert "no Slack account" in reason
    lookups = len(fake_slack.calls("users.lookupByEmail"))
    run_digests(ctx, utc(MON_AFTER_US, 8, 30), emails=["nora.north@example.com"])
    assert len(fake_slack.calls("users.lookupByEmail")) == lookups  # not asked again for a while
    digests_module._NOT_IN_SLACK.clear()


def test_an_abandoned_send_is_recovered_from_slack_not_repeated(db, fake_slack, monkeypatch):
    """A replica died after Slack took the message but before the ledger recorded it: the next run finds the
    message by its metadata (conversations.history) and records it instead of sending again."""
    build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    now = utc(MON_AFTER_US, 7, 5)
    crashed_at = now - timedelta(minutes=10)
    ledger = DeliveryLedger(db.engine, now=lambda: crashed_at)
    key = plan(ctx, now, emails=["berta.boss@example.com"])[0][0].slot.key
    assert ledger.claim(key) == "claimed"
    ref = ctx.sender.post("UBERTA", {"text": "the digest, sent before the crash"}, key)
    out = run_digests(ctx, now, emails=["berta.boss@example.com"])
    assert out["already_sent"] == 1 and out["sent"] == 0
    assert len(dm_posts(fake_slack, "UBERTA")) == 1
    assert DeliveryLedger(db.engine).sent_ref(key) == ref
    assert [u.channel_id for u in fake_slack.uploads() if u.completed] == ["DUBERTA"]  # the chart still came
    history = fake_slack.calls("conversations.history")
    assert history and history[0].params["channel"] == "DUBERTA"


def test_a_frozen_clock_drives_the_job_like_the_scheduler_does(db, fake_slack):
    build_org(db.engine, fake_slack)
    ctx = make_ctx(db.engine, fake_slack)
    with time_machine.travel(utc(MON_AFTER_EU, 6, 2), tick=False):
        out = run_digests(ctx)  # now = the (frozen) current time
    assert {o.name for o in out["outcomes"]} >= {"Berta Boss", "Sia Sub"}
    assert "Lars Lead" not in {o.name for o in out["outcomes"]}
    assert len(dm_posts(fake_slack, "UBERTA")) == 1


def test_a_slow_send_keeps_its_claim_so_no_one_else_sends_it(db, fake_slack, monkeypatch):
    """Slack rate-limits the first send (the client sleeps Retry-After): the claim is older than STALE_AFTER by
    the time a second run looks, but the sender's heartbeat keeps it fresh, so the second run leaves it alone."""
    import threading
    import time as time_module

    from scheduler import ledger as ledger_module

    build_org(db.engine, fake_slack)
    monkeypatch.setattr(ledger_module, "STALE_AFTER", timedelta(seconds=0.3))
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    now = utc(MON_AFTER_US, 7, 5)
    emails = ["berta.boss@example.com"]
    results = {}
    first = threading.Thread(target=lambda: results.update(a=run_digests(make_ctx(db.engine, fake_slack), now,
                                                                         emails=emails)))
    first.start()
    started = time_module.monotonic()
    while not fake_slack.attempts("chat.postMessage") and time_module.monotonic() - started < 10:
        time_module.sleep(0.02)
    time_module.sleep(0.6)  # the claim is now twice STALE_AFTER old, and the client is still sleeping
    later = now + timedelta(seconds=time_module.monotonic() - started)
    second = run_digests(make_ctx(db.engine, fake_slack), later, emails=emails)
    first.join(30)
    assert second["sent"] == 0 and second["skipped"] == {"busy": 1}
    assert results["a"]["sent"] == 1
    assert len(dm_posts(fake_slack, "UBERTA")) == 1


def test_the_fake_slack_history_honours_oldest_and_metadata(fake_slack):
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-test", base_url=fake_slack.api_url)
    meta = {"event_type": "salesbot_delivery", "event_payload": {"kind": "digest", "recipient": "1", "period": "d"}}
    first = client.chat_postMessage(channel="UX", text="one", metadata=meta)
    second = client.chat_postMessage(channel="UX", text="two")
    plain = client.conversations_history(channel="DUX")["messages"]
    assert [m["text"] for m in plain] == ["two", "one"] and "metadata" not in plain[1]
    tagged = client.conversations_history(channel="DUX", include_all_metadata=True)["messages"]
    assert tagged[1]["metadata"] == meta
    newer = client.conversations_history(channel="DUX", oldest=first["ts"], include_all_metadata=True)
    assert [m["ts"] for m in newer["messages"]] == [second["ts"]]
    page = client.conversations_history(channel="DUX", limit=1)
    assert page["has_more"] and page["response_metadata"]["next_cursor"]


def test_a_run_whose_claim_was_taken_over_meanwhile_does_not_send_it_too(db, fake_slack):
    """Run A claims Berta's digest and then stalls before its post (a paused VM, a heartbeat that could not reach
    the database): ten minutes later run B finds the claim abandoned, takes it over and sends the digest. A, going
    on, finds its claim no longer its own and sends nothing, so Berta gets one message and one chart."""
    build_org(db.engine, fake_slack)
    now = utc(MON_AFTER_US, 7, 5)
    emails = ["berta.boss@example.com"]
    takeover: dict = {}

    def open_dm(params: dict, _call) -> dict:
        if not takeover:  # run A, between its claim and its post: run B goes first (deterministically, here)
            takeover["b"] = None
            takeover["b"] = run_digests(make_ctx(db.engine, fake_slack), now + timedelta(minutes=10), emails=emails)
        return {"channel": {"id": f"D{params['users']}"}}

    fake_slack.on("conversations.open", open_dm)
    first = run_digests(make_ctx(db.engine, fake_slack), now, emails=emails)
    assert takeover["b"]["sent"] == 1
    assert first["sent"] == 0 and first["busy"] == 1
    assert len(dm_posts(fake_slack, "UBERTA")) == 1
    assert [u.channel_id for u in fake_slack.uploads() if u.completed] == ["DUBERTA"]
    with db.engine.connect() as conn:
        row = conn.execute(select(bot_delivery_ledger).where(bot_delivery_ledger.c.kind == "digest")).one()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_failure_after_the_claim_was_taken_over_leaves_the_new_claim_alone(db):
    """Run A's send fails after run B took A's stale claim over: A records no failure over B's claim."""
    key = Delivery("digest", "7", "2026-03-09")
    at = utc(MON_AFTER_US, 7, 5)
    run_a = DeliveryLedger(db.engine, now=lambda: at)
    run_b = DeliveryLedger(db.engine, now=lambda: at + timedelta(minutes=10))

    def send(claim: Delivery):
        assert run_b.claim(key) == "stale"
        raise RuntimeError("Slack timed out")

    assert run_a.deliver(key, send) == "failed"
    row = run_b.row(key)
    assert (row.status, row.attempts, row.error) == ("sending", 2, None)
