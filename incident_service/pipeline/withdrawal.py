"""Withdrawing a report's statistical record, and restoring it, through the withdrawal tag.

A record carries no report id; the worker finds it again by recomputing HMAC(report id) under
its withdrawal key. Both functions bring the statistics in line with the report's *current*
consent and status (read under a row lock), so a late, repeated or reordered task can never undo
a newer decision: marking a report spam and then valid again ends counted, whatever order the
two tasks run in.

Callers (caseworker status changes, a reporter withdrawing consent) commit their change first,
then `dispatch.enqueue(TASK_PIPELINE_WITHDRAW | TASK_PIPELINE_RESTORE, report_id)`. That message
can be lost (Redis down, a worker gone): `reconcile_statistics`, run by every sweep, finds the
reports whose statistics do not match their consent and status (a deletion request counts as
withdrawal) and runs the same two functions for them. The reports are found by their plain
state columns; only the worker, holding the withdrawal key, can then find their records.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import delete, select

from incident_service.constants import StatisticsState
from incident_service.models import MixingPoolEntry, Report, StatisticalRecord, db
from incident_service.pipeline.anonymise import withdrawal_tag
from incident_service.pipeline.pool import (
    add_to_pool,
    awaiting_restore_condition,
    awaiting_withdrawal_condition,
    counts_for_statistics,
)

log = logging.getLogger(__name__)


class WithdrawalOutcome(enum.StrEnum):
    WITHDRAWN = "withdrawn"  # a record or a queued entry was removed
    NOTHING_TO_WITHDRAW = "nothing_to_withdraw"  # no record existed (never consented, ...)
    STILL_COUNTED = "still_counted"  # the report counts again by now; left as it is
    REQUEUED = "requeued"  # back in the mixing pool; a fresh record follows in a later batch
    ALREADY_COUNTED = "already_counted"  # waiting, recorded or failed: nothing to restore
    NOT_COUNTED = "not_counted"  # the report's consent or status still excludes it
    NO_SUCH_REPORT = "no_such_report"


@dataclass(frozen=True)
class ReconcileResult:
    withdrawn: int  # reports whose record or queue entry was removed
    restored: int  # reports queued again for a fresh record


def _locked_report(report_id: str) -> Report | None:
    return db.session.scalar(select(Report).where(Report.id == report_id).with_for_update())


def _counts(report: Report) -> bool:
    return counts_for_statistics(
        consent_statistics=report.consent_statistics,
        status=report.status,
        deletion_requested=report.deletion_requested,
    )


def _remove_record(report_id: str) -> int:
    result = db.session.execute(
        delete(StatisticalRecord).where(
            StatisticalRecord.withdrawal_tag == withdrawal_tag(report_id)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def withdraw_statistics(report_id: str) -> WithdrawalOutcome:
    """Remove the report's statistical record (and any queued entry), and commit.

    Does nothing if the report, as it stands now, should be counted. If the report no longer
    exists (deleted by retention), its record is still found through the tag and removed.
    """
    report = _locked_report(report_id)
    if report is not None and _counts(report):
        db.session.rollback()
        return WithdrawalOutcome.STILL_COUNTED
    removed = _remove_record(report_id)
    dequeued = db.session.execute(
        delete(MixingPoolEntry).where(MixingPoolEntry.report_id == report_id)
    )
    removed += int(getattr(dequeued, "rowcount", 0) or 0)
    if report is not None and report.statistics_state != StatisticsState.NOT_CONSENTED.value:
        report.statistics_state = StatisticsState.WITHDRAWN.value
        report.statistics_error = None
    db.session.commit()
    if report is None and not removed:
        return WithdrawalOutcome.NO_SUCH_REPORT
    if removed:
        log.info("statistical record withdrawn")
        return WithdrawalOutcome.WITHDRAWN
    return WithdrawalOutcome.NOTHING_TO_WITHDRAW


def restore_statistics(report_id: str) -> WithdrawalOutcome:
    """Put a report that counts again (re-marked valid, consent given) back into the mixing
    pool, and commit. The restore task then flushes if a batch is due; the new record gets a
    new random id in a later shuffled batch, so restoring never re-links anything."""
    report = _locked_report(report_id)
    if report is None:
        db.session.rollback()
        return WithdrawalOutcome.NO_SUCH_REPORT
    if not _counts(report):
        db.session.rollback()
        return WithdrawalOutcome.NOT_COUNTED
    state = report.statistics_state
    if state == StatisticsState.RECORDED.value:
        present = db.session.scalar(
            select(StatisticalRecord.id).where(
                StatisticalRecord.withdrawal_tag == withdrawal_tag(report_id)
            )
        )
        if present is not None:
            db.session.rollback()
            return WithdrawalOutcome.ALREADY_COUNTED
    elif state in (StatisticsState.WAITING.value, StatisticsState.FAILED.value):
        db.session.rollback()
        return WithdrawalOutcome.ALREADY_COUNTED
    report.statistics_state = StatisticsState.WAITING.value
    report.statistics_error = None
    add_to_pool([report_id])
    db.session.commit()
    return WithdrawalOutcome.REQUEUED


def reconcile_statistics() -> ReconcileResult:
    """Withdraw the records of reports that no longer count and queue again the withdrawn
    reports that count again: what lost withdraw and restore messages left undone.

    Idempotent and safe beside the tasks themselves: each report goes through
    `withdraw_statistics` or `restore_statistics`, which re-read consent and status under the
    row lock, one report per transaction. The caller flushes afterwards if a batch is due.
    """
    to_withdraw = list(db.session.scalars(select(Report.id).where(awaiting_withdrawal_condition())))
    to_restore = list(db.session.scalars(select(Report.id).where(awaiting_restore_condition())))
    db.session.rollback()  # end the read; each report below gets its own locked transaction
    withdrawn = sum(
        withdraw_statistics(report_id) is WithdrawalOutcome.WITHDRAWN for report_id in to_withdraw
    )
    restored = sum(
        restore_statistics(report_id) is WithdrawalOutcome.REQUEUED for report_id in to_restore
    )
    if withdrawn or restored:
        # Counts only: which reports changed is exactly what must not reach a log.
        log.warning(
            "sweep reconciled statistics: %d withdrawn, %d queued again", withdrawn, restored
        )
    return ReconcileResult(withdrawn=withdrawn, restored=restored)
