"""Carrying out a reporter's request to delete their report.

The reporter asks on /status (or through the API); the report then stops counting for
statistics, and a supervisor carries the deletion out from the case page (or an operator with
`incident-service reports delete`). Deleting the row takes its sealed sections, thread, notes,
interventions and evidence rows with it (foreign keys cascade); the evidence files' both
copies are then removed from the store, and their commitments stay in the log.

The statistical record must go first. It carries no report id; only the worker's withdrawal key
finds it again, and the sweep that makes up for lost withdraw messages finds its work through
the report rows. A report deleted while its record still exists would leave that record
counted for good. So a report is deleted only once its statistics are settled (never consented,
or withdrawn); until then the caller sends the withdraw task (which in the embedded mode runs
in this process) and the deletion waits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from sqlalchemy import exists, select

from incident_service import audit
from incident_service.cases import queue_index
from incident_service.constants import StatisticsState
from incident_service.evidence import removal
from incident_service.models import MixingPoolEntry, QueueIndexChunk, Report, db
from incident_service.pipeline import dispatch

SETTLED_STATES = (StatisticsState.NOT_CONSENTED.value, StatisticsState.WITHDRAWN.value)


class DeletionOutcome(enum.StrEnum):
    DELETED = "deleted"
    NOT_REQUESTED = "not_requested"  # the reporter has not asked; nothing is deleted
    WITHDRAWING = "withdrawing"  # the withdraw task was sent; try again once it has run
    WORKER_UNREACHABLE = "worker_unreachable"  # the withdraw task could not be sent


def statistics_settled(report: Report) -> bool:
    """True when no statistical record or queued entry can exist for the report."""
    if report.statistics_state not in SETTLED_STATES:
        return False
    queued = db.session.scalar(select(exists().where(MixingPoolEntry.report_id == report.id)))
    return not queued


def delete_requested_report(
    *,
    report_id: str,
    actor_id: int | None,
    withdraw: Callable[[str], bool] | None = None,
) -> DeletionOutcome:
    """Delete a report whose reporter asked for it, once its statistics are withdrawn; commits.

    `withdraw(report_id)` asks for the withdrawal and returns whether it was handed over; by
    default the pipeline's withdraw task is enqueued (run in-process in the embedded mode).
    """
    send = withdraw or (lambda rid: dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, rid))
    report = db.session.get(Report, report_id)
    if report is None or not report.deletion_requested:
        db.session.rollback()
        return DeletionOutcome.NOT_REQUESTED
    if not statistics_settled(report):
        db.session.rollback()  # the withdrawal locks the row in its own transaction
        if not send(report_id):
            return DeletionOutcome.WORKER_UNREACHABLE
        db.session.expire_all()
        report = db.session.get(Report, report_id)
        if report is None:
            return DeletionOutcome.NOT_REQUESTED
        if not statistics_settled(report):
            db.session.rollback()
            return DeletionOutcome.WITHDRAWING
    # Lock the row, and check again under the lock: nothing may have queued it since.
    locked = db.session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if locked is None or not locked.deletion_requested or not statistics_settled(locked):
        db.session.rollback()
        return DeletionOutcome.WITHDRAWING
    objects = removal.objects_of_reports([report_id])
    removal.record_deletions([report_id], actor_id=actor_id, reason="deletion_request")
    organisation_id = locked.organisation_id
    db.session.delete(locked)
    QueueIndexChunk.discard([organisation_id])  # no sealed index entry outlives the report
    # Who deleted which report and when; nothing of its content.
    audit.record("report.delete", actor_id=actor_id, object_type="report", object_id=report_id)
    db.session.commit()
    queue_index.forget(organisation_id, [report_id])  # this process's queue memory of it
    removal.delete_objects(objects)  # both copies of every file; the log keeps the commitments
    return DeletionOutcome.DELETED
