"""Alembic environment: runs against the engine leadrelay hands it (see leadrelay.db)."""
from alembic import context
from sqlmodel import SQLModel

import leadrelay.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
