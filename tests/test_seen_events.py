"""The seen-event table on its own: ids expire after an hour, the purge is occasional, and a process without its
database still answers each event once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.engine import create_raw_engine
from db.schema import bot_seen_events
from handlers.seen_events import SeenEvents

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(bot_seen_events.c.event_id)).scalars())


def test_an_event_id_is_taken_once_across_instances_and_forgotten_after_an_hour(db):
    clock = [T0]
    replica = SeenEvents(db.engine, now=lambda: clock[0])  # keeps ids 1 h, purges at most every 10 min
    other = SeenEvents(db.engine, now=lambda: clock[0])
    assert replica.first_time({"event_id": "Ev1"})
    assert not replica.first_time({"event_id": "Ev1"})
    assert not other.first_time({"event_id": "Ev1"})  # another replica on the same database
    clock[0] = T0 + timedelta(minutes=59)
    assert replica.first_time({"event_id": "Ev2"})  # purges what is older than 14:59: nothing
    assert not other.first_time({"event_id": "Ev1"})
    clock[0] = T0 + timedelta(minutes=65)
    assert replica.first_time({"event_id": "Ev3"})  # the last purge was 6 minutes ago: none now
    assert stored_ids(db.engine) == {"Ev1", "Ev2", "Ev3"}
    clock[0] = T0 + timedelta(minutes=70)
    assert replica.first_time({"event_id": "Ev4"})  # purges what is older than 15:10: Ev1 (15:00)
    assert stored_ids(db.engine) == {"Ev2", "Ev3", "Ev4"}
    assert other.first_time({"event_id": "Ev1"})  # long past Slack's retries: a new event as far as we know


def test_a_body_without_an_event_id_is_always_answered(db):
    seen = SeenEvents(db.engine)
    assert seen.first_time({}) and seen.first_time({"event_id": None})
    assert stored_ids(db.engine) == set()


def test_without_its_database_a_process_still_answers_each_event_once(tmp_path):
    unreachable = create_raw_engine(f"sqlite:///{tmp_path / 'no such directory' / 'sales.db'}")
    seen = SeenEvents(unreachable)
    try:
        assert seen.first_time({"event_id": "Ev1"})
        assert not seen.first_time({"event_id": "Ev1"})
        assert seen.first_time({"event_id": "Ev2"})
    finally:
        unreachable.dispose()
