"""The warehouse: schema, migrations, connection and loads."""
