"""The embedded SQLite file on a shared laptop: only the service's account may read it, and a
deleted report leaves no ciphertext in the file's free pages."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_service import create_app
from incident_service.models import Report, _sqlite_pragmas, db
from incident_service.settings import Config
from tests.conftest import build_app
from tests.factories import submit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_is_the_embedded_database_created_0600_in_a_0700_directory(tmp_path):
    instance = tmp_path / "instance"
    app = create_app(Config.from_env({"INSTANCE_PATH": str(instance)}))
    with app.app_context():
        db.create_all()
        db.session.execute(sa.text("CREATE TABLE scratch (x)"))
        db.session.commit()
        database = Path(db.engine.url.database)
        assert database.parent == instance
        assert _mode(database) == 0o600
        assert _mode(instance) == 0o700
        for companion in ("-wal", "-shm"):
            sidecar = database.with_name(database.name + companion)
            if sidecar.exists():
                assert _mode(sidecar) == 0o600, companion
        db.engine.dispose()


def test_are_a_loose_instance_folder_and_database_tightened(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    (instance / "incident.db").touch()
    (instance / "incident.db").chmod(0o644)
    create_app(Config.from_env({"INSTANCE_PATH": str(instance)}))
    assert _mode(instance) == 0o700
    assert _mode(instance / "incident.db") == 0o600


def test_does_every_connection_ask_sqlite_to_overwrite_deleted_content():
    """Some SQLite builds overwrite by default, others do not: the service asks every time."""
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA secure_delete=OFF")
    _sqlite_pragmas(connection, None)
    assert connection.execute("PRAGMA secure_delete").fetchone() == (1,)


@pytest.fixture
def sqlite_app(tmp_path):
    yield from build_app(tmp_path, "sqlite")


def test_does_a_deleted_report_leave_no_ciphertext_in_the_file(sqlite_app, monkeypatch):
    """On a build that keeps deleted content by default (as official SQLite builds do), the
    sealed sections of a deleted report must not stay readable in free pages."""
    opened = sqlite3.connect

    def connect_as_such_a_build(*args, **kwargs):
        connection = opened(*args, **kwargs)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    # SQLAlchemy's driver opens connections through sqlite3.dbapi2.
    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect_as_such_a_build)
    with sqlite_app.app_context():
        engine = db.engine
        engine.dispose()  # every connection from here on is a new one
        report_id = submit(narrative="SYNTHETIC " + "held at the airport " * 200).report_id
        db.session.commit()
        sealed = db.session.get_one(Report, report_id).private_section
        needles = [sealed[i : i + 48] for i in range(64, len(sealed) - 48, 512)]
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
        database = Path(engine.url.database)
        assert any(n in database.read_bytes() for n in needles)  # it was there
        db.session.execute(sa.delete(Report).where(Report.id == report_id))
        db.session.commit()
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
        left = database.read_bytes()
        engine.dispose()
    assert not any(n in left for n in needles)
