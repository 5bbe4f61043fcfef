"""SQLite: timestamps the demo wrote as '2026-10-01T09:00:00.000000' rewritten as SQLAlchemy writes them
('2026-10-01 09:00:00.000000'). SQLite compares them as text, and 'T' sorts after ' ': an as-of question at
23:59 on a day read none of that day's history rows. PostgreSQL stores timestamptz and needs nothing.

Revision ID: 0010_perf_asof
Revises: 0009_snapshots
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_perf_asof"
down_revision = "0009_snapshots"
branch_labels = None
depends_on = None

# The timestamp columns the demo's SQLite writer fills (db/demo.py, kind TS).
DEMO_TIMESTAMPS = {
    "accounts": ("created_at",),
    "opportunities": ("created_at", "closed_at", "stage_entered_at", "last_activity_at", "updated_at"),
    "opportunity_history": ("changed_at",),
    "activities": ("occurred_at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in DEMO_TIMESTAMPS.items():
        for column in columns:
            op.execute(sa.text(f"UPDATE {table} SET {column} = replace({column}, 'T', ' ') "
                               f"WHERE {column} LIKE '%T%'"))


def downgrade() -> None:
    pass  # the space-separated text is what SQLAlchemy writes and reads: nothing to undo
