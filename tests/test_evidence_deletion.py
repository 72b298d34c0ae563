"""Deleting evidence: a reporter's deletion request and the retention purge remove both copies
of every file (and any unfinished upload) from the store; the commitments stay in the log."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from incident_service.cases.deletion import DeletionOutcome, delete_requested_report
from incident_service.constants import Role
from incident_service.evidence.cleaning import make_clean_copies
from incident_service.evidence.store import current_store
from incident_service.models import (
    AuditEntry,
    EvidenceFile,
    EvidenceLogLeaf,
    EvidenceUpload,
    Report,
    db,
    today,
)
from incident_service.pipeline.retention import purge_expired_reports
from tests import evidence_samples as samples
from tests.evidence_helpers import new_report, receive
from tests.factories import report_payload
from tests.staff import make_staff
from tests.test_evidence_uploads import _create, _patch


def _objects() -> set[str]:
    root = current_store().root  # type: ignore[attr-defined]
    return {path.name for path in root.iterdir() if not path.name.startswith(".")}


def _report_with_files() -> tuple[str, set[str], set[bytes]]:
    report_id = new_report()
    for make in (samples.jpeg_with_gps, samples.pdf_with_metadata):
        receive(make(), report_id=report_id)
    make_clean_copies()
    rows = db.session.scalars(
        sa.select(EvidenceFile).where(EvidenceFile.report_id == report_id)
    ).all()
    names = {row.original_object for row in rows} | {row.working_object for row in rows}
    assert None not in names and len(names) == 4
    return report_id, names, {row.commitment for row in rows}  # type: ignore[return-value]


def test_does_a_deletion_request_remove_both_copies_and_keep_the_commitments(app):
    with app.app_context():
        report_id, names, commitments = _report_with_files()
        kept_id, kept_names, _ = _report_with_files()
        supervisor = make_staff(role=Role.SUPERVISOR)
        report = db.session.get_one(Report, report_id)
        report.deletion_requested = True
        report.statistics_state = "withdrawn"
        db.session.commit()
        assert names <= _objects()
        outcome = delete_requested_report(report_id=report_id, actor_id=supervisor.user_id)
        assert outcome is DeletionOutcome.DELETED
        assert not names & _objects(), "a copy of a deleted report's file is still stored"
        assert kept_names <= _objects()
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(EvidenceFile)
                .where(EvidenceFile.report_id == report_id)
            )
            == 0
        )
        logged = set(db.session.scalars(sa.select(EvidenceLogLeaf.commitment)))
        assert commitments <= logged, "the log is append-only"
        deleted = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "evidence.deleted")
        ).all()
        assert len(deleted) == 2
        assert all(entry.actor_id == supervisor.user_id for entry in deleted)
        assert {json.loads(entry.detail)["reason"] for entry in deleted} == {"deletion_request"}
        assert db.session.get(Report, kept_id) is not None


def test_does_the_retention_purge_remove_files_and_unfinished_uploads(app):
    client = app.test_client()
    receipt = client.post("/api/v1/reports", json=report_payload()).get_json()["receipt"]
    data = samples.wav(frames=100_000)
    location = _create(client, receipt, len(data)).headers["Location"]
    assert _patch(client, location, 0, data[:150_000]).status_code == 204
    with app.app_context():
        old_id = db.session.scalars(sa.select(Report.id)).one()
        for make in (samples.jpeg_with_gps, samples.ogg):
            receive(make(), report_id=old_id)
        make_clean_copies()
        names = _objects()
        assert len(names) >= 5  # two files in two copies, and the upload's segment
        report = db.session.get_one(Report, old_id)
        report.status = "closed"
        report.statistics_state = "not_consented"
        report.consent_statistics = False
        report.closed_on = today() - dt.timedelta(days=app.config["RETENTION_DAYS"] + 1)
        db.session.commit()
        recent_id, recent_names, _ = _report_with_files()
        result = purge_expired_reports()
        assert result.deleted == 1
        assert _objects() == recent_names
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceUpload)) == 0
        reasons = {
            json.loads(entry.detail)["reason"]
            for entry in db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "evidence.deleted")
            )
        }
        assert reasons == {"retention"}
        assert db.session.get(Report, recent_id) is not None
