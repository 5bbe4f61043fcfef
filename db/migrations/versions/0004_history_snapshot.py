"""the history snapshot: stage entries (stage conversion) and close-date pushes (a stalled rule)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_stage_entries",
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("advanced", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name=op.f("fk_bot_stage_entries_opportunity_id_opportunities"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("opportunity_id", "stage", name=op.f("pk_bot_stage_entries")),
    )
    op.create_index("ix_bot_stage_entries_entered", "bot_stage_entries",
                    ["entered_at", "stage", "advanced", "opportunity_id"], unique=False)
    op.create_table(
        "bot_close_date_pushes",
        sa.Column("history_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name=op.f("fk_bot_close_date_pushes_opportunity_id_opportunities"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_bot_close_date_pushes")),
    )
    op.create_index("ix_bot_close_date_pushes_changed", "bot_close_date_pushes",
                    ["changed_at", "opportunity_id", "from_date", "to_date"], unique=False)
    op.create_index("ix_bot_close_date_pushes_opportunity", "bot_close_date_pushes",
                    ["opportunity_id", "changed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bot_close_date_pushes_opportunity", table_name="bot_close_date_pushes")
    op.drop_index("ix_bot_close_date_pushes_changed", table_name="bot_close_date_pushes")
    op.drop_table("bot_close_date_pushes")
    op.drop_index("ix_bot_stage_entries_entered", table_name="bot_stage_entries")
    op.drop_table("bot_stage_entries")
