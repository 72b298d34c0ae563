"""The sweep: catch up on whatever lost messages left behind, at any time, any number of times."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import exists, select

from incident_service.constants import StatisticsState
from incident_service.models import MixingPoolEntry, Report, db
from incident_service.pipeline.flush import FlushResult, flush
from incident_service.pipeline.pool import add_to_pool, counted_condition, flush_due, set_state
from incident_service.pipeline.withdrawal import reconcile_statistics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    retried_failed: int
    flush: FlushResult | None
    withdrawn: int = 0  # records removed for reports that no longer count
    restored: int = 0  # withdrawn reports that count again, queued for a fresh record

    def as_dict(self) -> dict[str, int]:
        values = {
            "requeued": self.requeued,
            "retried_failed": self.retried_failed,
            "withdrawn": self.withdrawn,
            "restored": self.restored,
        }
        if self.flush is not None:
            values.update(self.flush.as_dict())
        return values


def sweep(*, retry_failed: bool = False) -> SweepResult:
    """Catch up on anything the nudges missed; safe to run at any time, any number of times.

    Re-queues consenting reports that wait but are not in the pool, optionally puts `failed`
    reports back (after an operator fixed the key), commits; then brings every report's
    statistics in line with its consent and status (a lost withdraw or restore message), and
    flushes if a batch is due.
    """
    missing = list(
        db.session.scalars(
            select(Report.id).where(
                counted_condition(),
                Report.statistics_state == StatisticsState.WAITING.value,
                ~exists().where(MixingPoolEntry.report_id == Report.id),
            )
        )
    )
    add_to_pool(missing)
    retried: list[str] = []
    if retry_failed:
        retried = list(
            db.session.scalars(
                select(Report.id).where(
                    counted_condition(),
                    Report.statistics_state == StatisticsState.FAILED.value,
                )
            )
        )
        set_state(db.session(), retried, StatisticsState.WAITING, None)
        add_to_pool(retried)
    db.session.commit()
    if missing:
        log.warning("sweep re-queued %d report(s) missing from the mixing pool", len(missing))
    reconciled = reconcile_statistics()
    flushed = flush(force=False) if flush_due() else None
    return SweepResult(
        requeued=len(missing),
        retried_failed=len(retried),
        flush=flushed,
        withdrawn=reconciled.withdrawn,
        restored=reconciled.restored,
    )
