"""Alembic environment: migrates the database the application is configured for."""

from __future__ import annotations

from alembic import context
from flask import has_app_context

from incident_service.models import db


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    if has_app_context():
        engine = db.engine
        with engine.begin() as connection:
            _run(connection)
        return
    from incident_service import create_app

    app = create_app()
    with app.app_context(), db.engine.begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
