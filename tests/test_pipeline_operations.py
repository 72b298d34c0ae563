"""What an operator sees and runs: /healthz, `pipeline status|flush|sweep`, `purge`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incident_service.auth.teams import ensure_organisation
from incident_service.constants import StatisticsState
from incident_service.models import (
    Act,
    AuditEntry,
    Event,
    Message,
    Report,
    StatisticalRecord,
    db,
    today,
)
from incident_service.pipeline import dispatch
from incident_service.pipeline.retention import purge_expired_reports
from incident_service.pipeline.withdrawal import withdraw_statistics
from tests.conftest import build_app
from tests.factories import submit
from tests.worker_process import ROOT


@pytest.fixture
def batch_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=3)


def test_does_healthz_report_reports_still_waiting_for_anonymisation(batch_app):
    client = batch_app.test_client()
    with batch_app.app_context():
        submit()
        submit()
        submit(consent={"statistics": False})
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] is True
    assert body["awaiting_anonymisation"] == 2
    assert body["anonymisation_failed"] == 0
    # Embedded mode runs tasks in-process: there is no broker or worker to be down.
    assert body["mode"] == "eager" and body["broker"] is None and body["worker"] is None
    with batch_app.app_context():
        submit()
    assert client.get("/healthz").get_json()["awaiting_anonymisation"] == 0


def test_does_healthz_say_when_the_broker_is_unreachable_yet_stay_up(tmp_path, backend):
    """Intake does not need Redis, so a load balancer must keep sending reporters here."""
    for app in build_app(tmp_path, backend, CELERY_EAGER=False, REDIS_URL="redis://127.0.0.1:1/0"):
        response = app.test_client().get("/healthz")
        assert response.status_code == 200
        body = response.get_json()
        assert body["mode"] == "worker"
        assert body["broker"] is False and body["worker"] is False


def test_does_healthz_fail_when_the_database_is_gone(tmp_path, backend):
    for app in build_app(tmp_path, backend, create_tables=False):
        response = app.test_client().get("/healthz")
        # No tables: the pipeline counts cannot be read, which is a database fault.
        assert response.status_code == 503
        assert response.get_json()["database"] is False


def test_does_pipeline_status_print_the_same_counts(batch_app):
    with batch_app.app_context():
        submit()
    result = batch_app.test_cli_runner().invoke(args=["pipeline", "status"])
    assert result.exit_code == 0, result.output
    assert "awaiting anonymisation   1" in result.output
    assert "batch due                no" in result.output
    assert "not used (eager mode)" in result.output


def test_does_pipeline_flush_write_a_small_batch_on_demand(batch_app):
    with batch_app.app_context():
        submit()
    runner = batch_app.test_cli_runner()
    result = runner.invoke(args=["pipeline", "flush"])
    assert result.exit_code == 0, result.output
    assert "recorded 1 in 1 batch(es)" in result.output
    with batch_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StatisticalRecord)) == 1


def test_does_pipeline_sweep_report_what_it_requeued(batch_app):
    with batch_app.app_context():
        submit()
        db.session.execute(sa.text("DELETE FROM mixing_pool"))
        db.session.commit()
    runner = batch_app.test_cli_runner()
    result = runner.invoke(args=["pipeline", "sweep"])
    assert result.exit_code == 0, result.output
    assert "re-queued 1" in result.output
    assert "re-queued 0" in runner.invoke(args=["pipeline", "sweep"]).output


def test_does_a_flush_with_an_unreadable_section_exit_non_zero(batch_app):
    with batch_app.app_context():
        report = db.session.get(Report, submit().report_id)
        report.statistical_section = report.statistical_section[:-3] + b"xyz"
        db.session.commit()
    result = batch_app.test_cli_runner().invoke(args=["pipeline", "flush"])
    assert result.exit_code == 1
    assert "could not be anonymised" in result.output


def test_does_the_web_process_refuse_to_flush_without_the_worker_keys(tmp_path, backend):
    """The statistics key lives with the worker only; the web must say where to run it."""
    for app in build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=3):
        ring = app.extensions["incident_keys"]
        ring.statistics_private = None
        result = app.test_cli_runner().invoke(args=["pipeline", "flush"])
        assert result.exit_code == 2
        assert "statistics.key" in result.output and "--enqueue" in result.output


def _close(report_id: str, days_ago: int, status: str = "closed") -> None:
    report = db.session.get(Report, report_id)
    report.status = status
    report.closed_on = today() - dt.timedelta(days=days_ago)
    db.session.commit()


def test_does_the_purge_delete_old_closed_reports_but_keep_their_statistics(app):
    retention = app.config["RETENTION_DAYS"]
    with app.app_context():
        old = submit().report_id
        recent = submit().report_id
        still_open = submit(received_on=today() - dt.timedelta(days=retention + 30)).report_id
        db.session.add(Message(report_id=old, author="reporter", sealed=b"x"))
        db.session.commit()
        _close(old, retention + 1)
        _close(recent, retention - 1)
        result = purge_expired_reports()
        assert result.deleted == 1
        remaining = set(db.session.scalars(sa.select(Report.id)))
        assert remaining == {recent, still_open}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StatisticalRecord)) == 3
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "retention.purge")
        ).one()
        assert old not in entry.detail and '"deleted":1' in entry.detail
        assert purge_expired_reports().deleted == 0


def _event(days_ago: int, *, act_days_ago: list[int] | None = None) -> str:
    """An event written up by a caseworker (sealed blobs stand in for the real envelopes)."""
    organisation = ensure_organisation()
    event = Event(
        organisation_id=organisation.id,
        created_on=today() - dt.timedelta(days=days_ago),
        sealed=b"sealed title and description",
    )
    db.session.add(event)
    db.session.flush()
    for age in act_days_ago or []:
        db.session.add(
            Act(event_id=event.id, created_on=today() - dt.timedelta(days=age), sealed=b"act")
        )
    db.session.commit()
    return event.id


def test_does_the_purge_delete_events_left_without_reports_and_their_acts(app):
    """Caseworkers' write-ups of what happened go once their last report is gone and nothing
    was added to them within the retention period; an event still in use stays."""
    retention = app.config["RETENTION_DAYS"]
    with app.app_context():
        gone = _event(retention + 40, act_days_ago=[retention + 30, retention + 20])
        purged_report = submit().report_id
        db.session.get_one(Report, purged_report).event_id = gone
        db.session.commit()
        _close(purged_report, retention + 1)
        never_linked = _event(retention + 2)
        still_linked = _event(retention + 40, act_days_ago=[retention + 30])
        open_report = submit().report_id
        db.session.get_one(Report, open_report).event_id = still_linked
        db.session.commit()
        recent_act = _event(retention + 40, act_days_ago=[retention + 30, 3])
        recent = _event(retention - 1)

        result = purge_expired_reports()
        assert (result.deleted, result.events_deleted) == (1, 2)
        remaining = set(db.session.scalars(sa.select(Event.id)))
        assert remaining == {still_linked, recent_act, recent}
        assert gone not in remaining and never_linked not in remaining
        acts_left = set(db.session.scalars(sa.select(Act.event_id)))
        assert acts_left == {still_linked, recent_act}
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "retention.purge")
        ).one()
        assert '"events_deleted":2' in entry.detail and gone not in entry.detail
        again = purge_expired_reports()
        assert (again.deleted, again.events_deleted) == (0, 0)


def test_does_the_purge_keep_a_report_still_waiting_to_be_counted(tmp_path, backend):
    for app in build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=5):
        with app.app_context():
            waiting = submit().report_id
            _close(waiting, app.config["RETENTION_DAYS"] + 10)
            assert purge_expired_reports().deleted == 0
            assert db.session.get(Report, waiting).statistics_state == (
                StatisticsState.WAITING.value
            )


def test_does_the_purge_command_say_what_it_deleted(app):
    with app.app_context():
        report_id = submit().report_id
        _close(report_id, app.config["RETENTION_DAYS"] + 1, status="spam")
        withdraw_statistics(report_id)  # what marking it spam enqueues
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 report(s)" in result.output
    assert "and 0 event(s) left without reports" in result.output


def test_does_celery_find_the_celery_app_with_every_task_and_the_schedule(tmp_path):
    """`celery -A workers.celery_app worker|beat` must find the Celery app (not the Flask one),
    with every stable task name registered and the beat schedule pointing only at them."""
    script = (
        "import json\n"
        "from celery import Celery\n"
        "from celery.app.utils import find_app\n"
        "app = find_app('workers.celery_app')\n"
        "assert isinstance(app, Celery)\n"
        "app.loader.import_default_modules()\n"
        "print(json.dumps({'tasks': sorted(t for t in app.tasks if t.startswith('incident.')),\n"
        "  'schedule': sorted(e['task'] for e in app.conf.beat_schedule.values())}))\n"
    )
    env = {
        **os.environ,
        "INCIDENT_ENV": "testing",
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "CELERY_EAGER": "0",
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    pipeline_tasks = {
        dispatch.TASK_PIPELINE_NUDGE,
        dispatch.TASK_PIPELINE_FLUSH,
        dispatch.TASK_PIPELINE_SWEEP,
        dispatch.TASK_PIPELINE_WITHDRAW,
        dispatch.TASK_PIPELINE_RESTORE,
        dispatch.TASK_PIPELINE_RECONCILE,
        dispatch.TASK_AUDIT_FOLD,
        dispatch.TASK_RETENTION_PURGE,
    }
    assert pipeline_tasks <= set(found["tasks"])
    assert dispatch.TASK_RELEASE_GENERATE in set(found["tasks"])
    assert dispatch.TASK_EVIDENCE_TREE_HEAD in set(found["tasks"])
    assert set(found["schedule"]) == {
        dispatch.TASK_PIPELINE_NUDGE,
        dispatch.TASK_PIPELINE_SWEEP,
        dispatch.TASK_AUDIT_FOLD,
        dispatch.TASK_EVIDENCE_TREE_HEAD,
        dispatch.TASK_SESSIONS_PURGE,
        dispatch.TASK_RETENTION_PURGE,
        dispatch.TASK_RELEASE_GENERATE,
        dispatch.TASK_EVIDENCE_TREE_HEAD,
        dispatch.TASK_EVIDENCE_CLEAN,
        dispatch.TASK_EVIDENCE_EXPIRE_UPLOADS,
    }
