"""Alembic environment: migrates the database the application is configured for."""

from __future__ import annotations

from alembic import context
from flask import has_app_context
from sqlalchemy.engine import Connection

from incident_service.models import db


def _run(connection: Connection) -> None:
    """Run the migrations; on SQLite with foreign keys off while they run.

    Batch mode alters a SQLite table by copying it and dropping the original, and with foreign
    keys on, dropping `reports` deletes every message, note and evidence row that cascades from
    it. SQLite ignores the pragma inside a transaction, so it is set before the migrations
    begin theirs; a foreign key check afterwards refuses to commit a broken reference.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            render_as_batch=True,  # SQLite needs batch mode to alter tables
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    given: Connection | None = context.config.attributes.get("connection")
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
