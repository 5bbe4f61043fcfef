"""CRM sync: per-object sync state, rejected records, and CRM ids on history rows

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opportunity_history") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_opportunity_history_external_id"), ["external_id"])
    op.create_table(
        "bot_sync_state",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("object", sa.String(length=100), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("rows_seen", sa.Integer(), server_default="0", nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("connector", "object", name=op.f("pk_bot_sync_state")),
    )
    op.create_table(
        "bot_sync_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("object", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_sync_rejects")),
        sa.UniqueConstraint("connector", "object", "record_id", "field", name="uq_bot_sync_rejects_record"),
    )


def downgrade() -> None:
    op.drop_table("bot_sync_rejects")
    op.drop_table("bot_sync_state")
    with op.batch_alter_table("opportunity_history") as batch:
        batch.drop_constraint(op.f("uq_opportunity_history_external_id"), type_="unique")
        batch.drop_column("external_id")
