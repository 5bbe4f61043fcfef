"""The sales database: schema, engine, migrations, demo-data generator and importers."""
