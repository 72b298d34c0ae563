"""Migrations: upgrade from empty, schema equals the models, downgrade and upgrade again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from incident_service.models import db
from incident_service.resources import alembic_config
from tests.conftest import build_app


@pytest.fixture
def empty_app(tmp_path, backend):
    yield from build_app(tmp_path, backend, create_tables=False)


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_does_upgrade_head_build_exactly_the_models_and_reverse_cleanly(empty_app):
    with empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        with db.engine.connect() as connection:
            assert _diff(connection) == []
            tables = set(sa.inspect(connection).get_table_names())
        assert {"reports", "statistical_records", "audit_log", "releases"} <= tables
        command.downgrade(alembic_config(), "base")
        with db.engine.connect() as connection:
            remaining = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        command.upgrade(alembic_config(), "head")
        with db.engine.connect() as connection:
            assert _diff(connection) == []


def test_can_every_revision_step_down_and_up_one_at_a_time(empty_app):
    from alembic.script import ScriptDirectory

    with empty_app.app_context():
        script = ScriptDirectory.from_config(alembic_config())
        revisions = list(reversed(list(script.walk_revisions())))
        for revision in revisions:
            command.upgrade(alembic_config(), revision.revision)
        for _ in revisions:
            command.downgrade(alembic_config(), "-1")
        command.upgrade(alembic_config(), "head")


def test_do_old_priorities_survive_as_sealed_choices_through_0002_and_0006(empty_app):
    """Before 0002 "still detained" was level 3 (it is 4 now, above children). Since 0006 no
    priority is stored in the clear: each stored level, a caseworker's choice included, is
    sealed as that report's override, and the queue reads the same order as before."""
    from pathlib import Path

    from incident_service.auth import teams
    from incident_service.cases import queue_index, triage
    from incident_service.models import Organisation, Report
    from tests.factories import submit

    with empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        teams.ensure_organisation()
        db.session.commit()
        detained = submit(outcome="DET").report_id
        ordinary = submit().report_id
        lowered = submit(outcome="DET").report_id
        db.session.commit()
        db.session.remove()
        command.downgrade(alembic_config(), "0001")
        levels = dict(db.session.execute(sa.text("SELECT id, priority FROM reports")).all())
        assert levels == {detained: 1, ordinary: 1, lowered: 1}  # nothing to restore from
        db.session.execute(
            sa.text("UPDATE reports SET priority = 3 WHERE id = :i"), {"i": detained}
        )
        db.session.execute(sa.text("UPDATE reports SET priority = 0 WHERE id = :i"), {"i": lowered})
        db.session.commit()
        db.session.remove()
        command.upgrade(alembic_config(), "head")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("reports")}
        assert "priority" not in columns
        assert "report_facets" not in sa.inspect(db.engine).get_table_names()
        queue_index.CACHE.clear()
        organisation = db.session.scalars(sa.select(Organisation)).one()
        team_key = teams.load_bootstrap_key(organisation, Path(empty_app.config["KEYS_DIR"]))
        found = {
            report_id: triage.case_priority(
                report=db.session.get_one(Report, report_id), team_key=team_key
            )
            for report_id in (detained, ordinary, lowered)
        }
        assert found == {detained: 4, ordinary: 1, lowered: 0}
        db.session.remove()


def test_does_0005_keep_old_messages_readable_and_refuse_to_drop_bound_ones(empty_app):
    """Messages written before 0005 were bound to their report only: after the upgrade they
    carry version 0 and still open; a message written since binds author and day, and going
    back down refuses while one exists (code before 0005 could not open it)."""
    import json
    from pathlib import Path

    from incident_service.auth import teams
    from incident_service.cases import messaging
    from incident_service.constants import MessageAuthor
    from incident_service.crypto import seal
    from incident_service.models import Organisation, Report
    from tests.factories import submit

    with empty_app.app_context():
        # The report is filed at head (today's models), then the schema steps down to the
        # revision before 0005, where the old message is written.
        command.upgrade(alembic_config(), "head")
        organisation = teams.ensure_organisation()
        db.session.commit()
        report_id = submit(narrative="SYNTHETIC thread across 0005").report_id
        report = db.session.get_one(Report, report_id)
        recipients = [teams.team_public_key(organisation), messaging.reporter_public_key(report)]
        db.session.remove()
        command.downgrade(alembic_config(), "0010")  # the revision before 0005
        old = seal(
            json.dumps({"text": "sent before 0005"}).encode(),
            context=f"report/{report_id}/message".encode(),
            recipients=recipients,
        )
        db.session.execute(
            sa.text(
                "INSERT INTO messages (report_id, author, sent_on, sealed, read) "
                "VALUES (:r, 'reporter', :d, :s, :f)"
            ),
            {"r": report_id, "d": "2024-05-14", "s": old, "f": False},
        )
        db.session.commit()
        db.session.remove()
        command.upgrade(alembic_config(), "head")
        report = db.session.get_one(Report, report_id)
        messaging.post_message(report, author=MessageAuthor.CASEWORKER, text="sent after 0005")
        db.session.commit()
        team_key = teams.load_bootstrap_key(
            db.session.get_one(Organisation, report.organisation_id),
            Path(empty_app.config["KEYS_DIR"]),
        )
        texts = [m.text for m in messaging.read_thread(report, private_key=team_key)]
        assert texts == ["sent before 0005", "sent after 0005"]
        db.session.remove()
        # Down to 0005 first: on SQLite each step commits on its own, so the refusal is tested
        # on its own step rather than after later steps have already gone.
        command.downgrade(alembic_config(), "0005")
        with pytest.raises(RuntimeError, match="author and day bound"):
            command.downgrade(alembic_config(), "0010")
        db.session.remove()
        db.session.execute(sa.text("DELETE FROM messages WHERE binding_version = 1"))
        db.session.commit()
        db.session.remove()
        command.downgrade(alembic_config(), "0010")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("messages")}
        assert "binding_version" not in columns
