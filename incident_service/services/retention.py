"""Retention: closed reports are deleted after `RETENTION_DAYS`; their statistics survive.

A report counts as closed when its status is closed, spam or duplicate; its age is measured
from the day it was closed (or, for spam and duplicates never formally closed, the day it was
received). Deleting a report deletes its sections, thread, notes, interventions and facets with
it. Its statistical record is untouched: it holds no report id, so it was never tied to the row.

A report still waiting in the mixing pool is kept until it has been anonymised, so a purge can
never take a consenting report out of the statistics. Likewise a report whose statistics the
sweep has yet to bring in line (a record still counted for a report marked spam, a withdrawn
report that counts again) is kept until it has: once the report is gone, nothing tells the
sweep to look for its record.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, not_, or_, select

from incident_service.constants import StatisticsState
from incident_service.models import Report, db, today
from incident_service.services import audit
from incident_service.services.pipeline import (
    awaiting_restore_condition,
    awaiting_withdrawal_condition,
)

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("closed", "spam", "duplicate")
# Deleting through the ORM runs every relationship cascade; in chunks to bound memory.
PURGE_CHUNK = 200


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    cutoff: dt.date

    def as_dict(self) -> dict[str, int | str]:
        return {"deleted": self.deleted, "cutoff": self.cutoff.isoformat()}


def retention_cutoff(today_: dt.date | None = None) -> dt.date:
    days = int(current_app.config["RETENTION_DAYS"])
    return (today_ or today()) - dt.timedelta(days=days)


def purge_expired_reports(*, today_: dt.date | None = None) -> PurgeResult:
    """Delete closed reports past retention, record one audit entry, commit."""
    cutoff = retention_cutoff(today_)
    deleted = 0
    while True:
        chunk = list(
            db.session.scalars(
                select(Report)
                .where(
                    Report.status.in_(CLOSED_STATUSES),
                    func.coalesce(Report.closed_on, Report.received_on) < cutoff,
                    Report.statistics_state != StatisticsState.WAITING.value,
                    not_(or_(awaiting_withdrawal_condition(), awaiting_restore_condition())),
                )
                .limit(PURGE_CHUNK)
            )
        )
        if not chunk:
            break
        for report in chunk:
            db.session.delete(report)
        deleted += len(chunk)
        db.session.flush()
    if deleted:
        audit.record(
            "retention.purge",
            object_type="reports",
            detail={"deleted": deleted, "closed_before": cutoff.isoformat()},
        )
    db.session.commit()
    log.info("retention purge: %d report(s) deleted", deleted)
    return PurgeResult(deleted=deleted, cutoff=cutoff)
