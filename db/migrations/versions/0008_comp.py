"""Compensation plans: every loaded version of the plans file

Revision ID: 0008_comp
Revises: 0008_followups
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_comp"
down_revision = "0008_followups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_comp_plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_comp_plan_versions")),
    )
    op.create_index("ix_bot_comp_plan_versions_effective", "bot_comp_plan_versions", ["effective_from", "id"])


def downgrade() -> None:
    op.drop_index("ix_bot_comp_plan_versions_effective", table_name="bot_comp_plan_versions")
    op.drop_table("bot_comp_plan_versions")
