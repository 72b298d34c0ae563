"""Withdrawal and restore: spam, duplicates and withdrawn consent leave the statistics."""

from __future__ import annotations

import sqlalchemy as sa

from incident_service.constants import StatisticsState
from incident_service.models import (
    MixingPoolEntry,
    Report,
    StatisticalAct,
    StatisticalRecord,
    db,
)
from incident_service.pipeline import dispatch
from incident_service.pipeline.anonymise import withdrawal_tag
from incident_service.pipeline.withdrawal import (
    WithdrawalOutcome,
    restore_statistics,
    withdraw_statistics,
)
from tests.factories import submit


def _records() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(StatisticalRecord)) or 0)


def _has_record(report_id: str) -> bool:
    tag = withdrawal_tag(report_id)
    return (
        db.session.scalar(
            sa.select(StatisticalRecord.id).where(StatisticalRecord.withdrawal_tag == tag)
        )
        is not None
    )


def _set(report_id: str, **values: object) -> None:
    report = db.session.get(Report, report_id)
    for name, value in values.items():
        setattr(report, name, value)
    db.session.commit()


def test_does_marking_a_report_spam_remove_its_record_and_only_its_record(app):
    with app.app_context():
        spam, kept = submit().report_id, submit().report_id
        assert _records() == 2
        _set(spam, status="spam")
        assert withdraw_statistics(spam) is WithdrawalOutcome.WITHDRAWN
        assert not _has_record(spam) and _has_record(kept)
        assert db.session.get(Report, spam).statistics_state == StatisticsState.WITHDRAWN.value
        # Child rows go with the record.
        orphan_acts = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StatisticalAct)
            .where(~StatisticalAct.record_id.in_(sa.select(StatisticalRecord.id)))
        )
        assert orphan_acts == 0


def test_does_re_marking_a_report_valid_restore_it_with_a_fresh_record(app):
    """Through the restore task: it queues the report, then writes the due batch."""
    from workers.tasks import restore as restore_task

    with app.app_context():
        report_id = submit().report_id
        first_id = db.session.scalar(sa.select(StatisticalRecord.id))
        _set(report_id, status="duplicate")
        withdraw_statistics(report_id)
        _set(report_id, status="triaged")
        assert restore_task(report_id) == WithdrawalOutcome.REQUEUED.value
        assert _has_record(report_id) and _records() == 1
        assert db.session.scalar(sa.select(StatisticalRecord.id)) != first_id
        assert db.session.get(Report, report_id).statistics_state == StatisticsState.RECORDED.value


def test_does_withdrawn_consent_remove_the_record(app):
    with app.app_context():
        report_id = submit().report_id
        _set(report_id, consent_statistics=False)
        assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
        assert _records() == 0
        assert restore_statistics(report_id) is WithdrawalOutcome.NOT_COUNTED
        assert _records() == 0


def test_can_a_late_task_never_undo_a_newer_decision(app):
    """Spam → valid, with the withdraw task arriving after the restore: still counted."""
    with app.app_context():
        report_id = submit().report_id
        _set(report_id, status="spam")
        _set(report_id, status="triaged")
        assert restore_statistics(report_id) is WithdrawalOutcome.ALREADY_COUNTED
        assert withdraw_statistics(report_id) is WithdrawalOutcome.STILL_COUNTED
        assert _has_record(report_id)
        # And the other way round: valid → spam with a stale restore arriving last.
        _set(report_id, status="spam")
        assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
        assert restore_statistics(report_id) is WithdrawalOutcome.NOT_COUNTED
        assert not _has_record(report_id)


def test_is_withdrawing_twice_the_same_as_once(app):
    with app.app_context():
        report_id = submit().report_id
        other = submit().report_id
        _set(report_id, status="spam")
        assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
        assert withdraw_statistics(report_id) is WithdrawalOutcome.NOTHING_TO_WITHDRAW
        assert _records() == 1 and _has_record(other)


def test_is_a_report_marked_spam_while_waiting_taken_out_of_the_pool(tmp_path, backend):
    from tests.conftest import build_app

    for app in build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=10):
        with app.app_context():
            report_id = submit().report_id
            _set(report_id, status="spam")
            assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
            assert db.session.get(MixingPoolEntry, report_id) is None
            assert _records() == 0


def test_can_a_record_be_withdrawn_after_its_report_was_deleted(app):
    """Consent withdrawn after retention removed the report: the tag still finds the record."""
    with app.app_context():
        report_id = submit().report_id
        db.session.delete(db.session.get(Report, report_id))
        db.session.commit()
        assert _records() == 1
        assert withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN
        assert _records() == 0
        assert withdraw_statistics(report_id) is WithdrawalOutcome.NO_SUCH_REPORT
        assert restore_statistics(report_id) is WithdrawalOutcome.NO_SUCH_REPORT


def test_do_the_stable_task_names_reach_withdraw_and_restore(app):
    """The caseworker workspace only knows the task names; eager mode runs them in-process."""
    with app.app_context():
        report_id = submit().report_id
        _set(report_id, status="spam")
        assert dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, report_id)
        assert not _has_record(report_id)
        _set(report_id, status="new")
        assert dispatch.enqueue(dispatch.TASK_PIPELINE_RESTORE, report_id)
        assert _has_record(report_id)
