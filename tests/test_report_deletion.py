"""A reporter's deletion request, carried out by a supervisor: the statistics go first, then
the report with everything sealed to it, and the audit trail says who and when, nothing more."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from incident_service.cases import messaging
from incident_service.constants import MessageAuthor, Role, StatisticsState
from incident_service.models import (
    AuditEntry,
    CaseNote,
    Message,
    Report,
    StatisticalRecord,
    db,
)
from incident_service.pipeline import dispatch
from incident_service.pipeline.anonymise import withdrawal_tag
from tests.factories import submit
from tests.staff import login, make_staff, post_form

CASE_LINK = re.compile(r'href="/cases/([0-9a-f]{32})(?:\?[^"]*)?"')
NARRATIVE = "SYNTHETIC deletion narrative 7431"


def _has_record(report_id: str) -> bool:
    tag = withdrawal_tag(report_id)
    found = db.session.scalar(
        sa.select(StatisticalRecord.id).where(StatisticalRecord.withdrawal_tag == tag)
    )
    return found is not None


def _count(model, report_id: str) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.report_id == report_id)
        )
        or 0
    )


def _filed(app):
    with app.app_context():
        result = submit(narrative=NARRATIVE)
        report = db.session.get_one(Report, result.report_id)
        messaging.post_message(report, author=MessageAuthor.REPORTER, text="please delete")
        db.session.commit()
        assert _has_record(result.report_id)
    return result.report_id, result.receipt


def _supervisor(app):
    with app.app_context():
        account = make_staff(role=Role.SUPERVISOR)
    client = app.test_client()
    login(client, account)
    return client


def _delete(client, report_id, *, confirm=True):
    data = {"confirm": "y"} if confirm else {}
    return post_form(client, f"/cases/{report_id}/delete", data, form_page=f"/cases/{report_id}")


def test_can_a_supervisor_carry_out_a_reporters_deletion_request(app):
    report_id, receipt = _filed(app)
    kept_id, _ = _filed(app)
    reporter = app.test_client()
    reporter.post(
        "/status",
        data={"receipt": receipt, "action": "delete", "confirm": "y"},
        follow_redirects=True,
    )
    with app.app_context():
        # The request alone withdraws the statistics at once.
        assert not _has_record(report_id)
        assert db.session.get_one(Report, report_id).statistics_state == "withdrawn"
    client = _supervisor(app)
    pending = CASE_LINK.findall(client.get("/cases/?deletion=1").get_data(as_text=True))
    assert pending == [report_id]
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "Delete the report" in page

    response = _delete(client, report_id)
    assert response.status_code == 303
    assert "deletion=1" in response.headers["Location"]
    assert CASE_LINK.findall(client.get("/cases/?deletion=1").get_data(as_text=True)) == []
    assert client.get(f"/cases/{report_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Report, report_id) is None
        for model in (Message, CaseNote):
            assert _count(model, report_id) == 0
        assert not _has_record(report_id)
        assert db.session.get(Report, kept_id) is not None and _has_record(kept_id)
        entries = list(
            db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "report.delete"))
        )
        assert len(entries) == 1
        assert entries[0].object_id == report_id
        assert json.loads(entries[0].detail or "{}") == {}
        assert NARRATIVE not in entries[0].detail
    # The receipt now opens nothing.
    gone = reporter.post("/status", data={"receipt": receipt}, follow_redirects=True)
    assert 'id="status"' not in gone.get_data(as_text=True)
    assert NARRATIVE not in gone.get_data(as_text=True)
    assert "please delete" not in gone.get_data(as_text=True)


def test_is_nothing_deleted_without_the_confirmation_box(app):
    report_id, receipt = _filed(app)
    app.test_client().post("/status", data={"receipt": receipt, "action": "delete", "confirm": "y"})
    client = _supervisor(app)
    response = _delete(client, report_id, confirm=False)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Report, report_id) is not None


def test_is_a_report_nobody_asked_to_delete_kept(app):
    report_id, _ = _filed(app)
    client = _supervisor(app)
    assert "Delete the report" not in client.get(f"/cases/{report_id}").get_data(as_text=True)
    _delete(client, report_id)
    with app.app_context():
        assert db.session.get(Report, report_id) is not None
        assert _has_record(report_id)


def test_may_a_caseworker_not_delete_a_report(app):
    report_id, receipt = _filed(app)
    app.test_client().post("/status", data={"receipt": receipt, "action": "delete", "confirm": "y"})
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    assert "Delete the report" not in client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert client.post(f"/cases/{report_id}/delete", data={"confirm": "y"}).status_code == 403
    with app.app_context():
        assert db.session.get(Report, report_id) is not None


def _requested_but_still_counted(app, report_id):
    """The reporter asked, but the withdraw message was lost: the record is still there."""
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        report.deletion_requested = True
        db.session.commit()
        assert report.statistics_state == StatisticsState.RECORDED.value
        assert _has_record(report_id)


def test_is_a_report_kept_with_a_clear_message_when_its_statistics_cannot_be_withdrawn(
    app, monkeypatch
):
    report_id, _ = _filed(app)
    _requested_but_still_counted(app, report_id)
    client = _supervisor(app)
    monkeypatch.setattr(dispatch, "enqueue", lambda *args: False)
    response = _delete(client, report_id)
    assert response.status_code == 303
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "Nothing was deleted" in page and "worker cannot be reached" in page
    with app.app_context():
        # Not deleted, so the sweep can still find and withdraw the record later.
        assert db.session.get(Report, report_id) is not None
        assert _has_record(report_id)


def test_does_the_deletion_wait_while_the_worker_withdraws_the_statistics(app, monkeypatch):
    report_id, _ = _filed(app)
    _requested_but_still_counted(app, report_id)
    client = _supervisor(app)
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda *args: sent.append(args) or True)
    _delete(client, report_id)
    assert sent == [(dispatch.TASK_PIPELINE_WITHDRAW, report_id)]
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "being withdrawn first" in page
    with app.app_context():
        assert db.session.get(Report, report_id) is not None
    monkeypatch.undo()
    # In the embedded mode the withdraw task runs in this process: the retry deletes.
    assert _delete(client, report_id).status_code == 303
    with app.app_context():
        assert db.session.get(Report, report_id) is None
        assert not _has_record(report_id)


def test_can_an_operator_delete_a_requested_report_from_the_command_line(app, runner):
    report_id, _ = _filed(app)
    kept_id, _ = _filed(app)
    _requested_but_still_counted(app, report_id)
    refused = runner.invoke(args=["reports", "delete", kept_id])
    assert refused.exit_code == 1
    result = runner.invoke(args=["reports", "delete", report_id])
    assert result.exit_code == 0, result.output
    assert "report deleted" in result.output
    with app.app_context():
        assert db.session.get(Report, report_id) is None
        assert not _has_record(report_id)
        assert db.session.get(Report, kept_id) is not None and _has_record(kept_id)
        (entry,) = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "report.delete")
        )
        assert entry.actor_id is None and entry.object_id == report_id
