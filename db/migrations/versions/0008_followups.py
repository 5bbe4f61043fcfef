"""Follow-ups: the last question of each conversation (bot_conversations)

Revision ID: 0008_followups
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_followups"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_conversations",
        sa.Column("conversation", sa.String(length=255), nullable=False),
        sa.Column("reading", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation", name=op.f("pk_bot_conversations")),
    )
    op.create_index("ix_bot_conversations_updated_at", "bot_conversations", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_bot_conversations_updated_at", table_name="bot_conversations")
    op.drop_table("bot_conversations")
