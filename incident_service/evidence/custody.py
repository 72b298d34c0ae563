"""Chain of custody: every event in an evidence file's life is an entry in the audit chain.

Received (with the commitment, never the SHA-256), copy made or refused, viewed, downloaded,
exported, deleted. Entries about a report record the day only (`audit.entry_time`); the events
that follow a reporter's own action within minutes (received, copy made) join the chain after
their day has ended, like the reporter's actions. Staff events name the staff member.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from incident_service import audit
from incident_service.models import AuditEntry, EvidenceFile, PendingReporterAction, User, db

RECEIVED = "evidence.received"
COPY_MADE = "evidence.copy_made"
COPY_REFUSED = "evidence.copy_refused"
VIEWED = "evidence.viewed"
DOWNLOADED = "evidence.downloaded"
EXPORTED = "evidence.exported"
DELETED = "evidence.deleted"
_LIFE_ORDER = {RECEIVED: 0, COPY_MADE: 1, COPY_REFUSED: 1, EXPORTED: 3, DELETED: 4}


def record_staff_event(
    action: str,
    *,
    row: EvidenceFile,
    actor_id: int | None,
    copy: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """A staff member (or the retention purge, with no actor) did something to a file. No
    commit: the caller commits with the change itself."""
    facts: dict[str, Any] = {"file": row.id, **(detail or {})}
    if copy is not None:
        facts["copy"] = copy
    audit.record(
        action, actor_id=actor_id, object_type="report", object_id=row.report_id, detail=facts
    )


@dataclass(frozen=True)
class CustodyEntry:
    day: dt.date
    action: str
    file_id: str
    actor: str | None  # the staff member's address; None for the reporter or the service
    detail: dict[str, Any]
    entry_hash: str | None  # None while it waits for its day to end

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "action": self.action,
            "file": self.file_id,
            "by": self.actor,
            "detail": {k: v for k, v in self.detail.items() if k != "file"},
            "audit_entry": self.entry_hash,
        }


def _mentions(column: Any, file_ids: Iterable[str]) -> Any:
    # Details are canonical JSON (sorted keys, no spaces): the file id appears exactly so.
    return or_(*(column.contains(f'"file":"{file_id}"') for file_id in file_ids))


def custody_entries(file_ids: Iterable[str]) -> list[CustodyEntry]:
    """Every custody entry of these files, oldest first; pending ones last of their day."""
    wanted = sorted(set(file_ids))
    if not wanted:
        return []
    entries: list[CustodyEntry] = []
    rows = db.session.execute(
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.action.startswith("evidence."), _mentions(AuditEntry.detail, wanted))
        .order_by(AuditEntry.id)
    ).all()
    for entry, email in rows:
        detail = json.loads(entry.detail)
        if detail.get("file") in wanted:
            entries.append(
                CustodyEntry(
                    entry.at.date(), entry.action, detail["file"], email, detail, entry.entry_hash
                )
            )
    pending = db.session.scalars(
        select(PendingReporterAction)
        .where(
            PendingReporterAction.action.startswith("evidence."),
            _mentions(PendingReporterAction.detail, wanted),
        )
        .order_by(PendingReporterAction.on_day)
    ).all()
    for action in pending:
        detail = json.loads(action.detail)
        if detail.get("file") in wanted:
            entries.append(
                CustodyEntry(action.on_day, action.action, detail["file"], None, detail, None)
            )
    # Within a day the chain cannot order pending events against staff ones (they join it at
    # the day's end): a file's life can, received first and deleted last.
    entries.sort(key=lambda item: (item.day, _LIFE_ORDER.get(item.action, 2)))
    return entries
