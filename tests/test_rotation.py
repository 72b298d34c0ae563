"""Team key rotation: after it, the new key opens everything and the old key opens nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from incident_service.auth import rotation, teams
from incident_service.cases import events, messaging, triage
from incident_service.constants import MessageAuthor, Section
from incident_service.crypto import NoMatchingRecipient, RecipientPrivateKey, SuiteId
from incident_service.crypto.bindings import report_section as section_context
from incident_service.crypto.envelopes import open_envelope, recipients_of
from incident_service.intake.storage import Destination
from incident_service.models import (
    Act,
    CaseNote,
    Event,
    Intervention,
    Message,
    Report,
    StaffSession,
    TeamKeyGrant,
    db,
)
from tests.factories import submit
from tests.staff import logged_in_client, make_staff


def _bootstrap(app) -> RecipientPrivateKey:
    organisation = teams.ensure_organisation()
    key = teams.load_bootstrap_key(organisation, Path(app.config["KEYS_DIR"]))
    assert key is not None
    return key


def _every_envelope() -> list[bytes]:
    blobs: list[bytes] = []
    for report in db.session.scalars(select(Report)):
        blobs += [report.statistical_section, report.private_section]
    blobs += [m.sealed for m in db.session.scalars(select(Message))]
    blobs += [n.sealed for n in db.session.scalars(select(CaseNote))]
    blobs += [
        i.sealed_note for i in db.session.scalars(select(Intervention)) if i.sealed_note is not None
    ]
    blobs += [e.sealed for e in db.session.scalars(select(Event))]
    blobs += [a.sealed for a in db.session.scalars(select(Act))]
    return blobs


def _case_with_everything(account) -> tuple[str, str]:
    filed = submit(narrative="SYNTHETIC rotation test")
    report = db.session.get_one(Report, filed.report_id)
    triage.add_note(report=report, text="SYNTHETIC note", actor_id=account.user_id)
    triage.add_intervention(
        report=report, kind="LEG", on_date=dt.date(2024, 6, 1), note="lawyer", actor_id=1
    )
    messaging.post_message(report, author=MessageAuthor.CASEWORKER, text="SYNTHETIC question")
    event = events.create_event(
        organisation_id=account.organisation_id,
        title="SYNTHETIC event",
        description="",
        persons_affected=30,
        actor_id=account.user_id,
    )
    events.add_act(
        event=event, code="BRD.02", victims=30, perpetrator="BRD", actor_id=account.user_id
    )
    db.session.commit()
    return filed.report_id, filed.receipt


def test_does_the_new_key_open_everything_and_the_old_key_nothing(app):
    """Can the case team still read every case after rotation, and is the old key useless?"""
    with app.app_context():
        worker = make_staff()
        report_id, receipt = _case_with_everything(worker)
        old = _bootstrap(app)
        organisation = teams.ensure_organisation()
        result = rotation.rotate_team_key(
            organisation=organisation,
            held_keys=[old],
            suite=SuiteId.MLKEM768_X25519,
            wait=lambda _seconds: None,
        )
        assert result.envelopes_moved == len(_every_envelope()) == 7
        assert result.grants_renewed == 1
        new_key_id = bytes.fromhex(result.new_key_id)
        for blob in _every_envelope():
            assert old.key_id not in recipients_of(blob)
            assert new_key_id in recipients_of(blob)
        report = db.session.get_one(Report, report_id)
        with pytest.raises(NoMatchingRecipient):
            open_envelope(
                report.private_section,
                context=section_context(report.id, Section.PRIVATE),
                private_key=old,
            )
        # The statistics key and the reporter's receipt still open what they opened before.
        statistics = app.extensions["incident_keys"].require_statistics_private()
        assert open_envelope(
            report.statistical_section,
            context=section_context(report.id, Section.STATISTICAL),
            private_key=statistics,
        )
        reporter_key = messaging.reporter_private_key(report, receipt)
        assert messaging.read_thread(report, private_key=reporter_key)[0].text.startswith(
            "SYNTHETIC"
        )
        grants = db.session.scalars(select(TeamKeyGrant)).all()
        assert [g.user_id for g in grants] == [worker.user_id]
    # The caseworker logs in again and reads the case with the new key.
    client = logged_in_client(app, worker)
    page = client.get(f"/cases/{report_id}")
    assert page.status_code == 200 and b"SYNTHETIC rotation test" in page.data


def test_are_sessions_holding_the_old_key_ended(app):
    with app.app_context():
        worker = make_staff()
    logged_in_client(app, worker)
    with app.app_context():
        assert db.session.scalars(select(StaffSession)).all()
        rotation.switch_team_key(
            organisation=teams.ensure_organisation(),
            current_team_key=_bootstrap(app),
            suite=SuiteId.X25519,
            actor_id=None,
        )
        assert db.session.scalars(select(StaffSession)).all() == []


def test_is_a_report_sealed_to_the_old_key_during_the_switch_moved_too(app):
    """Another web process may seal to the old key for a few seconds after the switch."""
    with app.app_context():
        old = _bootstrap(app)
        organisation = teams.ensure_organisation()
        late: list[str] = []

        def another_process_still_on_the_old_key(_seconds: float) -> None:
            app.extensions.setdefault("incident_destinations", {})["default"] = (
                float("inf"),
                Destination(organisation.id, old.public),
            )
            late.append(submit().report_id)
            app.extensions["incident_destinations"].clear()

        result = rotation.rotate_team_key(
            organisation=organisation,
            held_keys=[old],
            suite=SuiteId.MLKEM768_X25519,
            wait=another_process_still_on_the_old_key,
        )
        report = db.session.get_one(Report, late[0])
        assert recipients_of(report.private_section) == [bytes.fromhex(result.new_key_id)]


def test_is_a_key_that_is_not_current_refused(app):
    with app.app_context(), pytest.raises(rotation.RotationRefused):
        rotation.switch_team_key(
            organisation=teams.ensure_organisation(),
            current_team_key=RecipientPrivateKey.generate(SuiteId.X25519),
            suite=SuiteId.X25519,
            actor_id=None,
        )


def test_does_the_command_rotate_with_the_bootstrap_file_and_remove_it(app, monkeypatch):
    monkeypatch.setattr(rotation.time, "sleep", lambda _seconds: None)
    with app.app_context():
        submit()
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "2 envelopes re-sealed" in result.output
    assert not (Path(app.config["KEYS_DIR"]) / "team-default.key").exists()
    again = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert again.exit_code != 0 and "--supervisor" in again.output


def test_does_the_command_open_the_key_with_a_supervisors_passphrase(app, monkeypatch):
    from incident_service.constants import Role

    monkeypatch.setattr(rotation.time, "sleep", lambda _seconds: None)
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
    runner = app.test_cli_runner()
    wrong = runner.invoke(
        args=["keys", "rotate", "--supervisor", supervisor.email], input="not it\n"
    )
    assert wrong.exit_code != 0 and "could not open the team key" in wrong.output
    right = runner.invoke(
        args=["keys", "rotate", "--supervisor", supervisor.email],
        input=f"{supervisor.passphrase}\n",
    )
    assert right.exit_code == 0, right.output
    assert "1 holders granted" in right.output


def test_does_rotation_survive_many_batches_and_finish_a_rotation_cut_short(app, monkeypatch):
    """Committing between batches must not lose the rows still to be read (PostgreSQL closes
    a streaming cursor at commit), and a rotation interrupted after the switch must be
    completed by the next one, not strand envelopes on a retired key."""
    monkeypatch.setattr(rotation, "BATCH", 3)
    with app.app_context():
        for _ in range(7):
            submit()
        first = _bootstrap(app)
        organisation = teams.ensure_organisation()
        # Cut short: switched and granted, but no envelope moved yet.
        second, _ = rotation.switch_team_key(
            organisation=organisation,
            current_team_key=first,
            suite=SuiteId.X25519,
            actor_id=None,
        )
        result = rotation.rotate_team_key(
            organisation=organisation,
            held_keys=[first, second],
            suite=SuiteId.X25519,
            wait=lambda _seconds: None,
        )
        assert result.envelopes_moved == 14
        newest = bytes.fromhex(result.new_key_id)
        for blob in _every_envelope():
            assert recipients_of(blob)[0] == newest
        assert db.session.scalars(select(TeamKeyGrant)).all() == []  # nobody held them


def test_do_evidence_files_move_to_the_new_key_with_the_evidence_key_kept(app):
    """Content keys, metadata, removed metadata and the reporter's summary move; the evidence
    worker and the reporter still open what they opened."""
    from incident_service.evidence.cleaning import make_clean_copies, open_removed_metadata
    from incident_service.evidence.intake import open_metadata, read_file
    from incident_service.models import EvidenceFile
    from tests import evidence_samples
    from tests.evidence_helpers import receive

    with app.app_context():
        data = evidence_samples.jpeg_with_gps()
        row_id = receive(data).file_id
        make_clean_copies()
        old = _bootstrap(app)
        result = rotation.rotate_team_key(
            organisation=teams.ensure_organisation(),
            held_keys=[old],
            suite=SuiteId.X25519,
            wait=lambda _seconds: None,
        )
        assert result.envelopes_moved == 2 + 4  # the report's sections and the file's four
        row = db.session.get_one(EvidenceFile, row_id)
        new_key_id = bytes.fromhex(result.new_key_id)
        blobs = (
            row.content_key_envelope,
            row.sealed_metadata,
            row.removed_metadata,
            row.reporter_summary,
        )
        for blob in blobs:
            assert old.key_id not in recipients_of(blob) and new_key_id in recipients_of(blob)
        with pytest.raises(NoMatchingRecipient):
            open_metadata(row, team_private_key=old)
        with pytest.raises(NoMatchingRecipient):
            open_removed_metadata(row, team_private_key=old)
        evidence = app.extensions["incident_keys"].require_evidence_private()
        assert b"".join(read_file(row, team_private_key=evidence)) == data
