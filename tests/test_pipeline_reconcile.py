"""Lost withdraw and restore messages: the sweep brings every report's statistics in line.

The web commits a status change or a withdrawn consent first and only then sends the task; if
Redis is down at that moment the message is gone. These tests lose it for real (a broker that
cannot be reached) and check that the periodic sweep, on its own, withdraws or restores.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_service.constants import ReportStatus, Role, StatisticsState
from incident_service.models import MixingPoolEntry, Report, StatisticalRecord, db, today
from incident_service.pipeline import dispatch
from incident_service.pipeline.anonymise import withdrawal_tag
from incident_service.pipeline.flush import (
    flush,
)
from incident_service.pipeline.retention import purge_expired_reports
from incident_service.pipeline.status import status as pipeline_status
from incident_service.pipeline.sweep import sweep
from incident_service.pipeline.withdrawal import WithdrawalOutcome, withdraw_statistics
from tests.conftest import build_app
from tests.factories import report_payload, submit
from tests.staff import login, make_staff

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def lost_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    """The web as deployed (tasks go to a broker), with a broker nobody can reach: every task
    message is lost. The pipeline functions are called directly, as the worker would."""
    yield from build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL=UNREACHABLE_BROKER)


def _records() -> int:
    db.session.rollback()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(StatisticalRecord)) or 0)


def _has_record(report_id: str) -> bool:
    db.session.rollback()
    tag = withdrawal_tag(report_id)
    found = db.session.scalar(
        sa.select(StatisticalRecord.id).where(StatisticalRecord.withdrawal_tag == tag)
    )
    return found is not None


def _state(report_id: str) -> str:
    db.session.rollback()
    return db.session.get_one(Report, report_id).statistics_state


def _file_over_api(app: Flask) -> str:
    """File a report through the partner API, as a reporter's app would; returns the receipt."""
    body = report_payload()
    response = app.test_client().post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    receipt: str = response.get_json()["receipt"]
    return receipt


def _only_report_id() -> str:
    return db.session.scalars(sa.select(Report.id)).one()


def test_does_the_sweep_withdraw_a_record_whose_withdraw_message_was_lost(lost_app):
    """The reviewer's case: a reporter withdraws consent while Redis is down, is told it is
    done, and the record would have counted for ever."""
    receipt = _file_over_api(lost_app)
    with lost_app.app_context():
        flush(force=True)  # the worker records the waiting report
        report_id = _only_report_id()
        assert _has_record(report_id)
    answer = lost_app.test_client().post("/api/v1/consent/withdraw", json={"receipt": receipt})
    assert answer.status_code == 200
    assert answer.get_json()["consent_statistics"] is False
    with lost_app.app_context():
        assert _has_record(report_id), "the message was lost, so nothing has run yet"
        assert pipeline_status().awaiting_withdrawal == 1
        result = sweep()
        assert result.withdrawn == 1 and result.restored == 0
        assert not _has_record(report_id) and _records() == 0
        assert _state(report_id) == StatisticsState.WITHDRAWN.value
        assert pipeline_status().awaiting_withdrawal == 0


def test_does_the_sweep_withdraw_reports_a_caseworker_marked_spam_or_duplicate(lost_app):
    """The status change goes through the real case page; its withdraw message is lost."""
    with lost_app.app_context():
        spam, duplicate, kept = (submit().report_id for _ in range(3))
        flush(force=True)
        worker = make_staff(role=Role.CASEWORKER)
    client = lost_app.test_client()
    login(client, worker)
    for report_id, status in ((spam, "spam"), (duplicate, "duplicate")):
        response = client.post(f"/cases/{report_id}/status", data={"status": status})
        assert response.status_code == 303
    with lost_app.app_context():
        assert _records() == 3
        assert sweep().withdrawn == 2
        assert not _has_record(spam) and not _has_record(duplicate)
        assert _has_record(kept)
        assert _state(kept) == StatisticsState.RECORDED.value


def test_does_the_sweep_count_again_a_report_whose_restore_message_was_lost(lost_app):
    """Marked spam (withdrawn), then valid again while Redis is down: without the sweep the
    report would stay out of the statistics for good."""
    with lost_app.app_context():
        report_id = submit().report_id
        flush(force=True)
        first_record = db.session.scalar(sa.select(StatisticalRecord.id))
        report = db.session.get_one(Report, report_id)
        report.status = ReportStatus.SPAM.value
        db.session.commit()
        assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
        report = db.session.get_one(Report, report_id)
        report.status = ReportStatus.TRIAGED.value
        db.session.commit()
        assert dispatch.enqueue(dispatch.TASK_PIPELINE_RESTORE, report_id) is False
        assert pipeline_status().awaiting_restore == 1
        result = sweep()
        assert result.restored == 1 and result.withdrawn == 0
        # Queued again, and (batches of one in tests) written as a fresh, new record.
        assert _has_record(report_id) and _records() == 1
        assert db.session.scalar(sa.select(StatisticalRecord.id)) != first_record
        assert _state(report_id) == StatisticsState.RECORDED.value
        assert pipeline_status().awaiting_restore == 0


def test_does_asking_for_deletion_take_the_report_out_of_the_statistics(lost_app):
    """A reporter who asks for deletion wants the report gone; its record goes at the next
    sweep, even before the case team deletes the report."""
    receipt = _file_over_api(lost_app)
    with lost_app.app_context():
        flush(force=True)
        report_id = _only_report_id()
    answer = lost_app.test_client().post("/api/v1/deletion-request", json={"receipt": receipt})
    assert answer.status_code == 202
    with lost_app.app_context():
        assert sweep().withdrawn == 1
        assert not _has_record(report_id)
        # A later restore (say a stale task) cannot bring it back while deletion is asked for.
        assert sweep().restored == 0
        assert _records() == 0


def test_is_a_report_that_asked_for_deletion_never_anonymised_while_it_waits(tmp_path, backend):
    """Nor does it make up the numbers of a batch: five reports wait, one of them leaving,
    and the four others are not written as a batch of four."""
    for app in build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=5):
        with app.app_context():
            leaving = submit().report_id
            report = db.session.get_one(Report, leaving)
            report.deletion_requested = True
            db.session.commit()
            others = [submit().report_id for _ in range(4)]
            assert _records() == 0
            assert _state(leaving) == StatisticsState.WITHDRAWN.value
            assert db.session.get(MixingPoolEntry, leaving) is None
            others.append(submit().report_id)
            assert _records() == 5
            assert not _has_record(leaving)
            assert all(_has_record(report_id) for report_id in others)


def test_is_reconciling_safe_to_repeat_and_beside_the_late_task(lost_app):
    """Sweeping again changes nothing; the lost task arriving late finds nothing to do; the
    other reports keep their records."""
    with lost_app.app_context():
        leaving, staying = submit().report_id, submit().report_id
        flush(force=True)
        report = db.session.get_one(Report, leaving)
        report.consent_statistics = False
        db.session.commit()
        assert sweep().withdrawn == 1
        kept_record = db.session.scalar(sa.select(StatisticalRecord.id))
        for _ in range(3):
            again = sweep()
            assert (again.withdrawn, again.restored, again.requeued) == (0, 0, 0)
        assert withdraw_statistics(leaving) is WithdrawalOutcome.NOTHING_TO_WITHDRAW
        assert _has_record(staying) and not _has_record(leaving)
        # The staying report's record is the same row: reconciling re-wrote nothing.
        assert db.session.scalar(sa.select(StatisticalRecord.id)) == kept_record


def test_does_the_sweep_take_a_waiting_report_that_no_longer_counts_out_of_the_pool(
    tmp_path, backend
):
    """Consent withdrawn while the report waited for its batch, withdraw message lost: the
    sweep removes the pool entry at once rather than leaving it for a batch hours away."""
    for app in build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=5):
        with app.app_context():
            report_id = submit().report_id
            report = db.session.get_one(Report, report_id)
            report.consent_statistics = False
            db.session.commit()
            assert sweep().withdrawn == 1
            assert db.session.get(MixingPoolEntry, report_id) is None
            assert _state(report_id) == StatisticsState.WITHDRAWN.value
            assert pipeline_status().awaiting_anonymisation == 0


def test_do_pipeline_status_and_sweep_show_what_awaits_withdrawal(lost_app):
    with lost_app.app_context():
        report_id = submit().report_id
        flush(force=True)
        report = db.session.get_one(Report, report_id)
        report.status = ReportStatus.SPAM.value
        db.session.commit()
    runner = lost_app.test_cli_runner()
    shown = runner.invoke(args=["pipeline", "status"]).output
    assert "awaiting withdrawal      1" in shown
    assert "awaiting restore         0" in shown
    swept = runner.invoke(args=["pipeline", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert "withdrawn 1, restored 0" in swept.output
    assert "awaiting withdrawal      0" in runner.invoke(args=["pipeline", "status"]).output


def test_does_healthz_show_records_awaiting_withdrawal(lost_app):
    with lost_app.app_context():
        report_id = submit().report_id
        flush(force=True)
        report = db.session.get_one(Report, report_id)
        report.consent_statistics = False
        db.session.commit()
    body = lost_app.test_client().get("/healthz").get_json()
    assert body["awaiting_withdrawal"] == 1
    with lost_app.app_context():
        sweep()
    assert lost_app.test_client().get("/healthz").get_json()["awaiting_withdrawal"] == 0


def test_does_every_lost_message_log_what_will_really_make_up_for_it(lost_app, caplog):
    """The log line names a recovery for each task, and only the pipeline's tasks are said to
    be caught up by the sweep (a release request is not)."""
    names = {
        value
        for name, value in vars(dispatch).items()
        if name.startswith("TASK_") and isinstance(value, str)
    }
    assert set(dispatch.RECOVERY) == names
    with lost_app.app_context(), caplog.at_level(logging.WARNING):
        assert dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, "0" * 32) is False
        assert dispatch.enqueue(dispatch.TASK_RELEASE_GENERATE, "2024-11", "suppression") is False
    lines = [record.getMessage() for record in caplog.records]
    withdraw = next(line for line in lines if dispatch.TASK_PIPELINE_WITHDRAW in line)
    release = next(line for line in lines if dispatch.TASK_RELEASE_GENERATE in line)
    assert "not sent" in withdraw and "sweep" in withdraw
    assert "sweep" not in release and "ask again" in release
    # Ids only: the report id of a task is never logged.
    assert "0" * 32 not in caplog.text


def test_does_retention_keep_a_report_until_its_record_is_withdrawn(tmp_path, backend):
    """A spam report past retention whose withdraw message was lost: deleting it first would
    leave its record counted with no way back to it. The purge waits for the sweep."""
    for app in build_app(tmp_path, backend):
        with app.app_context():
            report_id = submit().report_id
            report = db.session.get_one(Report, report_id)
            report.status = ReportStatus.SPAM.value
            report.closed_on = today() - dt.timedelta(days=app.config["RETENTION_DAYS"] + 5)
            db.session.commit()
            assert purge_expired_reports().deleted == 0
            assert _has_record(report_id)
            assert sweep().withdrawn == 1
            assert purge_expired_reports().deleted == 1
            assert _records() == 0
