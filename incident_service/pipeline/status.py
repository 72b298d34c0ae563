"""What an operator sees of the pipeline (`/healthz`, `incident-service pipeline status`): counts
only, nothing that identifies a report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from incident_service.constants import StatisticsState
from incident_service.models import Report, StatisticalRecord, db, today
from incident_service.pipeline.pool import (
    awaiting_restore_condition,
    awaiting_withdrawal_condition,
    batch_sizes,
    counted_condition,
    pool_state,
)


@dataclass(frozen=True)
class PipelineStatus:
    """Counts for /healthz and `incident-service pipeline status`; nothing identifying."""

    awaiting_anonymisation: int  # consenting, counted, and without a record yet
    waiting_in_pool: int
    # Reports that no longer count whose record (or queue entry) is still there, and withdrawn
    # reports that count again: both normally zero, and set right by the next sweep.
    awaiting_withdrawal: int
    awaiting_restore: int
    failed: int
    statistical_records: int
    flush_due: bool
    oldest_wait_days: int | None


def _count_reports(condition: ColumnElement[bool]) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Report).where(condition)) or 0)


def status() -> PipelineStatus:
    """What an operator needs to see whether the pipeline keeps up."""
    day = today()
    state = pool_state()
    awaiting = _count_reports(
        and_(
            counted_condition(),
            Report.statistics_state.in_(
                [StatisticsState.WAITING.value, StatisticsState.FAILED.value]
            ),
        )
    )
    failed = _count_reports(Report.statistics_state == StatisticsState.FAILED.value)
    records = db.session.scalar(select(func.count()).select_from(StatisticalRecord))
    oldest_days = None
    if state.oldest_queued_on is not None:
        oldest_days = (day - state.oldest_queued_on).days
    return PipelineStatus(
        awaiting_anonymisation=awaiting,
        waiting_in_pool=state.waiting,
        awaiting_withdrawal=_count_reports(awaiting_withdrawal_condition()),
        awaiting_restore=_count_reports(awaiting_restore_condition()),
        failed=failed,
        statistical_records=int(records or 0),
        flush_due=state.due(sizes=batch_sizes(), today=day),
        oldest_wait_days=oldest_days,
    )
