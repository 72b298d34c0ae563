"""The mixing pool: which reports count for statistics, queueing them, and whether a batch is due.

Intake puts every consenting report into `mixing_pool` (state `waiting`) in the same
transaction as the report itself; `flush` writes them out in shuffled batches. This module
holds what both sides and the withdrawal code share, so that none of them imports the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import and_, any_, bindparam, func, not_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from incident_service.constants import UNCOUNTED_STATUSES, StatisticsState
from incident_service.models import MixingPoolEntry, Report, db, today


@dataclass(frozen=True)
class BatchSizes:
    """`ANONYMISE_MIN_BATCH`, `ANONYMISE_MIN_OVERDUE_BATCH` (never above the first) and
    `ANONYMISE_MAX_WAIT` in whole days."""

    batch: int
    overdue: int
    wait_days: int


@dataclass(frozen=True)
class PoolState:
    waiting: int
    # The pool keeps the day a report was queued, never the time: a time to the second beside
    # a report id is what a provider's connection records turn into a name.
    oldest_queued_on: dt.date | None

    def minimum(self, *, sizes: BatchSizes, today: dt.date) -> int:
        """The smallest batch that may be written now (without an operator forcing one)."""
        overdue = self.overdue(wait_days=sizes.wait_days, today=today)
        return sizes.overdue if overdue else sizes.batch

    def due(self, *, sizes: BatchSizes, today: dt.date) -> bool:
        return self.waiting > 0 and self.waiting >= self.minimum(sizes=sizes, today=today)

    def overdue(self, *, wait_days: int, today: dt.date) -> bool:
        return (
            self.oldest_queued_on is not None and (today - self.oldest_queued_on).days >= wait_days
        )


def batch_sizes() -> BatchSizes:
    batch = max(1, int(current_app.config["ANONYMISE_MIN_BATCH"]))
    overdue = max(1, int(current_app.config["ANONYMISE_MIN_OVERDUE_BATCH"]))
    max_wait = max(0, int(current_app.config["ANONYMISE_MAX_WAIT"]))
    return BatchSizes(
        batch=batch,
        overdue=min(batch, overdue),
        # Rounded up to whole days, since the pool only knows the day: the default (6 h) means
        # "queued before today".
        wait_days=max(1, -(-max_wait // 86400)),
    )


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def pool_state(excluding: Sequence[str] = ()) -> PoolState:
    """The pool as it stands, leaving out `excluding` (a chunk a flush is still writing)."""
    query = select(func.count(), func.min(MixingPoolEntry.queued_on))
    if excluding:
        query = query.where(not_(among(db.session(), MixingPoolEntry.report_id, excluding)))
    waiting, oldest = db.session.execute(query).one()
    return PoolState(waiting=int(waiting), oldest_queued_on=oldest)


def flush_due(day: dt.date | None = None) -> bool:
    return pool_state().due(sizes=batch_sizes(), today=day or today())


def counts_for_statistics(
    *, consent_statistics: bool, status: str, deletion_requested: bool
) -> bool:
    """Whether a report in this state belongs in the statistics at all.

    A reporter who asked for their report to be deleted has withdrawn it from everything, the
    statistics included, even before the case team deletes it.
    """
    return (
        bool(consent_statistics)
        and status not in UNCOUNTED_STATUSES
        and not bool(deletion_requested)
    )


def counted_condition() -> ColumnElement[bool]:
    """`counts_for_statistics` as a condition on the reports table."""
    return and_(
        Report.consent_statistics.is_(True),
        Report.status.not_in([s.value for s in UNCOUNTED_STATUSES]),
        Report.deletion_requested.is_(False),
    )


def awaiting_withdrawal_condition() -> ColumnElement[bool]:
    """Reports that no longer count but may still have a record or a queue entry."""
    return and_(
        Report.statistics_state.in_(
            [StatisticsState.RECORDED.value, StatisticsState.WAITING.value]
        ),
        not_(counted_condition()),
    )


def awaiting_restore_condition() -> ColumnElement[bool]:
    """Reports withdrawn from the statistics that count again."""
    return and_(Report.statistics_state == StatisticsState.WITHDRAWN.value, counted_condition())


def add_to_pool(report_ids: Sequence[str]) -> None:
    """Queue reports for the next batch; a report already queued stays queued once."""
    if not report_ids:
        return
    day = today()
    rows = [{"report_id": report_id, "queued_on": day} for report_id in report_ids]
    statement: Any
    if is_postgres():
        statement = pg_insert(MixingPoolEntry).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(MixingPoolEntry).on_conflict_do_nothing()
    db.session.execute(statement, rows)


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter instead of hundreds
    (parsing a statement with 500 placeholders cost more than running it)."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        condition: ColumnElement[bool] = column == any_(array)
    else:
        condition = column.in_(list(values))
    return condition


def set_state(
    session: Session, report_ids: Sequence[str], state: StatisticsState, error: str | None
) -> None:
    if not report_ids:
        return
    session.execute(
        update(Report)
        .where(among(session, Report.id, report_ids))
        .values(statistics_state=state.value, statistics_error=error)
        .execution_options(synchronize_session=False)
    )
