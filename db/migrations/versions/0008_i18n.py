"""Languages: the Slack locale cached with each Slack identity

Revision ID: 0008_i18n
Revises: 0008_calls
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_i18n"
down_revision = "0008_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_slack_identities") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_slack_identities") as batch:
        batch.drop_column("locale")
