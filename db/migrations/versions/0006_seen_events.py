"""Slack event ids already answered, shared by the replicas (de-duplication of redelivered events)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_seen_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_bot_seen_events")),
    )
    op.create_index("ix_bot_seen_events_seen_at", "bot_seen_events", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bot_seen_events_seen_at", table_name="bot_seen_events")
    op.drop_table("bot_seen_events")
