"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 19:24:01.439505
"""

from alembic import op
import sqlalchemy as sa

# A frozen copy: the migration must keep creating this set even if the code's default changes later.
DEFAULT_STAGES = [
    {"name": "Prospecting", "position": 1, "probability": 10, "forecast_category": "pipeline", "is_closed": False, "is_won": False},
    {"name": "Qualification", "position": 2, "probability": 20, "forecast_category": "pipeline", "is_closed": False, "is_won": False},
    {"name": "Proposal", "position": 3, "probability": 50, "forecast_category": "best_case", "is_closed": False, "is_won": False},
    {"name": "Negotiation", "position": 4, "probability": 80, "forecast_category": "commit", "is_closed": False, "is_won": False},
    {"name": "Closed Won", "position": 5, "probability": 100, "forecast_category": "closed", "is_closed": True, "is_won": True},
    {"name": "Closed Lost", "position": 6, "probability": 0, "forecast_category": "omitted", "is_closed": True, "is_won": False},
]


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_delivery_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_delivery_ledger')),
    sa.UniqueConstraint('kind', 'recipient', 'period', name='uq_bot_delivery_ledger_key')
    )
    op.create_table('bot_integrity_findings',
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('record', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_bot_integrity_findings'))
    )
    op.create_table('bot_settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_bot_settings'))
    )
    op.create_table('reps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('slack_user_id', sa.String(length=32), nullable=True),
    sa.Column('role', sa.String(length=16), server_default='rep', nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('segment', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.CheckConstraint("role IN ('rep', 'manager', 'exec', 'ops')", name=op.f('ck_reps_role')),
    sa.ForeignKeyConstraint(['manager_id'], ['reps.id'], name=op.f('fk_reps_manager_id_reps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reps')),
    sa.UniqueConstraint('email', name=op.f('uq_reps_email')),
    sa.UniqueConstraint('external_id', name=op.f('uq_reps_external_id'))
    )
    with op.batch_alter_table('reps', schema=None) as batch_op:
        batch_op.create_index('ix_reps_manager_id', ['manager_id'], unique=False)

    op.create_table('stages',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('forecast_category', sa.String(length=16), nullable=False),
    sa.Column('is_closed', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('is_won', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('expected_days', sa.Integer(), nullable=True),
    sa.CheckConstraint("forecast_category IN ('pipeline', 'best_case', 'commit', 'omitted', 'closed')", name=op.f('ck_stages_forecast_category')),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_stages_probability')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stages'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('segment', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['reps.id'], name=op.f('fk_accounts_owner_id_reps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('external_id', name=op.f('uq_accounts_external_id'))
    )
    op.create_table('bot_slack_identities',
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('tz', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_bot_slack_identities_rep_id_reps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('slack_user_id', name=op.f('pk_bot_slack_identities'))
    )
    op.create_table('bot_subscriptions',
    sa.Column('rep_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('send_time', sa.String(length=5), nullable=True),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_bot_subscriptions_rep_id_reps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rep_id', 'kind', name=op.f('pk_bot_subscriptions'))
    )
    op.create_table('quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_quotas_period')),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_quotas_rep_id_reps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotas')),
    sa.UniqueConstraint('rep_id', 'period_start', 'period_end', name='uq_quotas_rep_period')
    )
    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('probability', sa.Integer(), nullable=True),
    sa.Column('forecast_category', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('product', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('loss_reason', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_opportunities_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['reps.id'], name=op.f('fk_opportunities_owner_id_reps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage'], ['stages.name'], name=op.f('fk_opportunities_stage_stages'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities')),
    sa.UniqueConstraint('external_id', name=op.f('uq_opportunities_external_id'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_opportunities_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_opportunities_close_date', ['close_date'], unique=False)
        batch_op.create_index('ix_opportunities_owner_close', ['owner_id', 'close_date'], unique=False)
        batch_op.create_index('ix_opportunities_stage', ['stage'], unique=False)
        batch_op.create_index('ix_opportunities_updated_at', ['updated_at'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('call', 'email', 'meeting', 'task', 'note')", name=op.f('ck_activities_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_activities_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_activities_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_activities_rep_id_reps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('external_id', name=op.f('uq_activities_external_id'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_opp_occurred', ['opportunity_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_activities_rep_id', ['rep_id'], unique=False)

    op.create_table('bot_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('snoozed_until', sa.Date(), nullable=True),
    sa.Column('snooze_reason', sa.Text(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_state', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_bot_alerts_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], name=op.f('fk_bot_alerts_rep_id_reps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_alerts')),
    sa.UniqueConstraint('rule', 'opportunity_id', name='uq_bot_alerts_rule_opp')
    )
    with op.batch_alter_table('bot_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_bot_alerts_rep_status', ['rep_id', 'status'], unique=False)

    op.create_table('opportunity_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stage', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('probability', sa.Integer(), nullable=True),
    sa.Column('forecast_category', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_history_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_history'))
    )
    with op.batch_alter_table('opportunity_history', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_history_changed_at', ['changed_at'], unique=False)
        batch_op.create_index('ix_opportunity_history_opp_changed', ['opportunity_id', 'changed_at'], unique=False)


    stages = sa.table(
        "stages",
        sa.column("name", sa.String), sa.column("position", sa.Integer), sa.column("probability", sa.Integer),
        sa.column("forecast_category", sa.String), sa.column("is_closed", sa.Boolean), sa.column("is_won", sa.Boolean),
    )
    op.bulk_insert(stages, DEFAULT_STAGES)


def downgrade() -> None:
    with op.batch_alter_table('opportunity_history', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_history_opp_changed')
        batch_op.drop_index('ix_opportunity_history_changed_at')

    op.drop_table('opportunity_history')
    with op.batch_alter_table('bot_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_alerts_rep_status')

    op.drop_table('bot_alerts')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_rep_id')
        batch_op.drop_index('ix_activities_opp_occurred')

    op.drop_table('activities')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunities_updated_at')
        batch_op.drop_index('ix_opportunities_stage')
        batch_op.drop_index('ix_opportunities_owner_close')
        batch_op.drop_index('ix_opportunities_close_date')
        batch_op.drop_index('ix_opportunities_account_id')

    op.drop_table('opportunities')
    op.drop_table('quotas')
    op.drop_table('bot_subscriptions')
    op.drop_table('bot_slack_identities')
    op.drop_table('accounts')
    op.drop_table('stages')
    with op.batch_alter_table('reps', schema=None) as batch_op:
        batch_op.drop_index('ix_reps_manager_id')

    op.drop_table('reps')
    op.drop_table('bot_settings')
    op.drop_table('bot_integrity_findings')
    op.drop_table('bot_delivery_ledger')
