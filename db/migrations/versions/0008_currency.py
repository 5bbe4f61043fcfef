"""currencies: exchange_rates, dated rates to the org currency (DESIGN §3a)

Revision ID: 0008_currency
Revises: 0008_comp
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_currency"
down_revision = "0008_comp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rates_rate")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_exchange_rates_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
        sa.UniqueConstraint("currency", "valid_from", name="uq_exchange_rates_currency_from"),
        sa.UniqueConstraint("external_id", name=op.f("uq_exchange_rates_external_id")),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
