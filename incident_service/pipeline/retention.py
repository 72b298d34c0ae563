"""Retention: closed reports, then events left without reports, are deleted after
`RETENTION_DAYS`; the statistics survive.

A report counts as closed when its status is closed, spam or duplicate; its age is measured
from the day it was closed (or, for spam and duplicates never formally closed, the day it was
received). Deleting a report deletes its sections, thread, notes and interventions with
it, and its evidence files leave the store (both copies; their commitments stay in the log). Its
statistical record is untouched: it holds no report id, so it was never tied to the row.

A report still waiting in the mixing pool is kept until it has been anonymised, so a purge can
never take a consenting report out of the statistics. Likewise a report whose statistics the
sweep has yet to bring in line (a record still counted for a report marked spam, a withdrawn
report that counts again) is kept until it has: once the report is gone, nothing tells the
sweep to look for its record.

Events (what happened, written up by caseworkers: a sealed title, description and acts) go once
no report is linked to them any more and neither the event nor any of its acts was created
within the retention period: an event outlives its last report by no more than that.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, exists, func, not_, or_, select

from incident_service import audit
from incident_service.constants import StatisticsState
from incident_service.evidence import removal
from incident_service.models import Act, Event, QueueIndexChunk, Report, db, today
from incident_service.pipeline.pool import (
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
    events_deleted: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return {
            "deleted": self.deleted,
            "events_deleted": self.events_deleted,
            "cutoff": self.cutoff.isoformat(),
        }


def retention_cutoff(today_: dt.date | None = None) -> dt.date:
    days = int(current_app.config["RETENTION_DAYS"])
    return (today_ or today()) - dt.timedelta(days=days)


def purge_expired_reports(*, today_: dt.date | None = None) -> PurgeResult:
    """Delete closed reports past retention, then events left without reports past it too;
    record one audit entry, commit."""
    cutoff = retention_cutoff(today_)
    deleted = 0
    objects: list[str] = []
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
        ids = [report.id for report in chunk]
        objects += removal.objects_of_reports(ids)
        removal.record_deletions(ids, actor_id=None, reason="retention")
        # The queue's sealed index chunks hold these reports' coded answers: they go too.
        QueueIndexChunk.discard(report.organisation_id for report in chunk)
        for report in chunk:
            db.session.delete(report)
        deleted += len(chunk)
        db.session.flush()
    events_deleted = _purge_orphaned_events(cutoff)
    if deleted or events_deleted:
        audit.record(
            "retention.purge",
            object_type="reports",
            detail={
                "deleted": deleted,
                "events_deleted": events_deleted,
                "closed_before": cutoff.isoformat(),
            },
        )
    db.session.commit()
    # Both copies of every evidence file of the purged reports; the log keeps the commitments.
    removal.delete_objects(objects)
    log.info("retention purge: %d report(s) and %d event(s) deleted", deleted, events_deleted)
    return PurgeResult(deleted=deleted, cutoff=cutoff, events_deleted=events_deleted)


def _purge_orphaned_events(cutoff: dt.date) -> int:
    """Delete events (and their acts) that no report links to and that saw no new act within
    the retention period; in the caller's transaction."""
    orphaned = list(
        db.session.scalars(
            select(Event.id).where(
                Event.created_on < cutoff,
                ~exists().where(Report.event_id == Event.id),
                ~exists().where(Act.event_id == Event.id, Act.created_on >= cutoff),
            )
        )
    )
    for start in range(0, len(orphaned), PURGE_CHUNK):
        ids = orphaned[start : start + PURGE_CHUNK]
        db.session.execute(delete(Act).where(Act.event_id.in_(ids)))
        db.session.execute(delete(Event).where(Event.id.in_(ids)))
    return len(orphaned)
