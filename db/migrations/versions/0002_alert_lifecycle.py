"""alert lifecycle: nudge items, notification and actor columns on bot_alerts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acted_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "bot_nudge_items",
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name=op.f("fk_bot_nudge_items_opportunity_id_opportunities"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rep_id"], ["reps.id"], name=op.f("fk_bot_nudge_items_rep_id_reps"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rep_id", "period", "opportunity_id", name=op.f("pk_bot_nudge_items")),
    )
    with op.batch_alter_table("bot_nudge_items", schema=None) as batch_op:
        batch_op.create_index("ix_bot_nudge_items_opportunity_id", ["opportunity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_nudge_items", schema=None) as batch_op:
        batch_op.drop_index("ix_bot_nudge_items_opportunity_id")
    op.drop_table("bot_nudge_items")
    with op.batch_alter_table("bot_alerts", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("acted_by")
        batch_op.drop_column("notified_at")
