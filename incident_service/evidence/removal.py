"""Deleting a report's evidence: both copies of every file and any unfinished upload leave the
store; the commitment stays in the log (it is append-only, and without the salt, which goes
with the row, it reveals nothing).

The rows go with the report (foreign keys cascade), and with them the sealed content keys: from
that commit on, no key that opens the objects exists anywhere. The objects are then deleted
after the commit, so that a failed transaction never leaves rows pointing at nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from incident_service.evidence import custody
from incident_service.evidence.store import EvidenceStore, current_store
from incident_service.models import EvidenceFile, EvidenceUpload, db

log = logging.getLogger(__name__)


def objects_of_reports(report_ids: Iterable[str]) -> list[str]:
    """Every store object of these reports: originals, working copies, upload segments."""
    ids = list(report_ids)
    if not ids:
        return []
    names: list[str] = []
    for original, working in db.session.execute(
        select(EvidenceFile.original_object, EvidenceFile.working_object).where(
            EvidenceFile.report_id.in_(ids)
        )
    ):
        names.append(original)
        if working is not None:
            names.append(working)
    for segments in db.session.scalars(
        select(EvidenceUpload.segments).where(EvidenceUpload.report_id.in_(ids))
    ):
        names.extend(name for name in segments.split(" ") if name)
    return names


def record_deletions(report_ids: Iterable[str], *, actor_id: int | None, reason: str) -> int:
    """A custody entry "deleted" for every file of these reports (no commit)."""
    rows = db.session.scalars(
        select(EvidenceFile).where(EvidenceFile.report_id.in_(list(report_ids)))
    ).all()
    for row in rows:
        custody.record_staff_event(
            custody.DELETED, row=row, actor_id=actor_id, detail={"reason": reason}
        )
    return len(rows)


def delete_objects(names: Iterable[str], *, store: EvidenceStore | None = None) -> int:
    """Remove the objects (after the rows are committed away); returns how many failed, which
    are then sealed objects no key opens any more."""
    store = store or current_store()
    failed = 0
    for name in names:
        try:
            store.delete(name)
        except Exception as exc:  # the store may be down; the rows and keys are gone already
            failed += 1
            log.warning("an evidence object could not be deleted (%s)", type(exc).__name__)
    return failed
