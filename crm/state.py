"""Per connector and object: the watermark, the last success and failure (bot_sync_state); rejected records
(bot_sync_rejects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from db.schema import bot_sync_rejects, bot_sync_state

DELETIONS = "#deleted"  # suffix of the state row that tracks an object's deletions
RUN = "(scheduled runs)"  # the scheduled job's own row: its last good run and its failed runs in a row


def is_object(name: str) -> bool:
    """A CRM object's own row (not its deletions' row, nor the scheduled job's)."""
    return name != RUN and not name.endswith(DELETIONS)


@dataclass
class ObjectState:
    connector: str
    object: str
    watermark: datetime | None = None
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    rows_seen: int = 0
    consecutive_failures: int = 0


def read_states(conn: Connection, connector: str | None = None) -> list[ObjectState]:
    stmt = select(bot_sync_state).order_by(bot_sync_state.c.connector, bot_sync_state.c.object)
    if connector:
        stmt = stmt.where(bot_sync_state.c.connector == connector)
    return [ObjectState(**r._mapping) for r in conn.execute(stmt)]


def read_state(conn: Connection, connector: str, obj: str) -> ObjectState:
    row = conn.execute(select(bot_sync_state).where(bot_sync_state.c.connector == connector,
                                                    bot_sync_state.c.object == obj)).first()
    return ObjectState(**row._mapping) if row else ObjectState(connector, obj)


def save_state(conn: Connection, state: ObjectState) -> None:
    values = {k: v for k, v in vars(state).items() if k not in ("connector", "object")}
    t = bot_sync_state
    where = (t.c.connector == state.connector) & (t.c.object == state.object)
    if conn.execute(update(t).where(where).values(values)).rowcount == 0:
        conn.execute(insert(t).values(connector=state.connector, object=state.object, **values))


def replace_rejects(conn: Connection, connector: str, obj: str, record_ids: list[str],
                    rejects: list[tuple[str, str, str, str]], now: datetime) -> None:
    """The page's records' rejects replace what was recorded for them: a record that now lands is cleared. So do
    the problems of no one record (a stage the CRM dropped that deals still use, record id ""): each page of the
    object reports them afresh."""
    t = bot_sync_rejects
    record_ids = ["", *record_ids]
    for i in range(0, len(record_ids), 500):
        conn.execute(delete(t).where(t.c.connector == connector, t.c.object == obj,
                                     t.c.record_id.in_(record_ids[i:i + 500])))
    seen = set()
    rows = []
    for record_id, field, value, reason in rejects:
        if (record_id, field) in seen:
            continue
        seen.add((record_id, field))
        rows.append({"connector": connector, "object": obj, "record_id": record_id, "field": field[:200],
                     "value": value, "reason": reason, "seen_at": now})
    if rows:
        conn.execute(insert(t), rows)


def rejected_ids(conn: Connection, connector: str, obj: str) -> list[str]:
    t = bot_sync_rejects
    return sorted(set(conn.execute(select(t.c.record_id).where(t.c.connector == connector, t.c.object == obj))
                      .scalars()))


def reject_counts(conn: Connection, connector: str) -> dict[str, int]:
    t = bot_sync_rejects
    return dict(conn.execute(select(t.c.object, func.count()).where(t.c.connector == connector)
                             .group_by(t.c.object)).all())


def recent_rejects(conn: Connection, connector: str, limit: int = 10) -> list[dict]:
    t = bot_sync_rejects
    return [dict(r._mapping) for r in conn.execute(select(t).where(t.c.connector == connector)
                                                    .order_by(t.c.seen_at.desc(), t.c.id.desc()).limit(limit))]
