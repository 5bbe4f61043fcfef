from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from db.engine import current_revision, downgrade, get_engine, head_revision, upgrade
from db.schema import DEFAULT_STAGES, metadata, stages


def test_migrations_create_the_schema_and_default_stages(db):
    engine = get_engine(db.url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        rows = conn.execute(select(stages).order_by(stages.c.position)).mappings().all()
    assert diff == []
    assert [(r["name"], r["probability"], r["forecast_category"]) for r in rows] == [
        (s["name"], s["probability"], s["forecast_category"]) for s in DEFAULT_STAGES
    ]


def test_migrations_go_down_to_empty_and_up_again(db):
    downgrade(db.engine, "base")
    assert current_revision(db.engine) is None
    assert not set(inspect(db.engine).get_table_names()) & set(metadata.tables)
    upgrade(db.engine)
    assert current_revision(db.engine) == head_revision()
    assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
