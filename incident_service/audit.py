"""The audit trail: every decryption, export, status change, message, key grant, login and
release is an entry chained to the one before, so that altering or removing a row breaks the
chain at that row (`incident-service audit verify`).

Times are coarse on purpose. An entry about a report, and every reporter action, records the day
only (midnight UTC); staff-only matters (logins, accounts, tokens, releases) record the minute.
A reporter's actions join the chain after their day has ended, all of the day at once in random
order (`fold_reporter_actions`), so that neither a time nor a place in the chain between timed
staff entries ties a report to a moment a provider's connection records could name.

Each link is an HMAC-SHA256 under `audit.key`, a key file the web and worker processes hold and
the database does not: someone who can only write to the database cannot forge a consistent
chain after changing a row. Cutting entries off the end leaves a shorter valid chain, which is
why `audit verify` prints the head and `audit verify --head HASH` checks that a head recorded
earlier, outside the database, is still in the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from incident_service import locks
from incident_service.keystore import current_keyring
from incident_service.models import AuditEntry, PendingReporterAction, db, today, utcnow

GENESIS_HASH = "0" * 64
# Objects whose entries may keep the minute: they never name a report or a reporter.
STAFF_OBJECTS = frozenset({"user", "api_token", "release", "organisation"})
_shuffle = random.SystemRandom().shuffle


class AuditChainBroken(Exception):
    def __init__(self, entry_id: int, reason: str) -> None:
        super().__init__(f"audit entry {entry_id}: {reason}")
        self.entry_id = entry_id
        self.reason = reason


@dataclass(frozen=True)
class ChainReport:
    entries: int
    last_hash: str


def _canonical_detail(detail: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), default=str)


def _audit_key() -> bytes:
    ring = current_keyring()
    return ring.require_audit_key().secret


def compute_hash(
    *,
    key: bytes,
    prev_hash: str,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: str,
) -> str:
    fields = [
        prev_hash,
        at.isoformat(timespec="microseconds"),
        "" if actor_id is None else str(actor_id),
        action,
        object_type,
        object_id,
        detail,
    ]
    return hmac.new(key, "\x1f".join(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def _entry_hash(entry: AuditEntry, key: bytes) -> str:
    """The hash an entry must carry: the same fields when it is written and when it is checked."""
    return compute_hash(
        key=key,
        prev_hash=entry.prev_hash,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        detail=entry.detail,
    )


def _lock_chain() -> None:
    """Serialise appends so two writers cannot both chain onto the same predecessor."""
    locks.hold_until_commit(locks.AUDIT_CHAIN)


def entry_time(object_type: str, now: dt.datetime | None = None) -> dt.datetime:
    """The time an entry records: the minute for staff-only objects, else the day."""
    moment = now or utcnow()
    if object_type in STAFF_OBJECTS:
        return moment.replace(second=0, microsecond=0)
    return dt.datetime.combine(moment.date(), dt.time())


def record(
    action: str,
    *,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (the caller commits).

    `detail` must hold coarse facts only (a status name, a file name), never report content.
    """
    _lock_chain()
    last = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=at if at is not None else entry_time(object_type),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=_canonical_detail(detail),
        prev_hash=last.entry_hash if last is not None else GENESIS_HASH,
    )
    entry.entry_hash = _entry_hash(entry, _audit_key())
    db.session.add(entry)
    db.session.flush()
    return entry


def record_reporter_action(
    action: str, *, report_id: str, detail: Mapping[str, Any] | None = None
) -> None:
    """Hold a reporter's action until its day has ended (no commit); `fold_reporter_actions`
    then puts it in the chain."""
    db.session.add(
        PendingReporterAction(
            action=action, report_id=report_id, detail=_canonical_detail(detail), on_day=today()
        )
    )


def record_report_event(
    action: str, *, report_id: str, detail: Mapping[str, Any] | None = None
) -> None:
    """An event that follows a reporter's action within minutes (the evidence worker's clean
    copy of a file just sent): held like a reporter action until its day has ended, since its
    place in the chain would date the report as well as a time would. No commit."""
    record_reporter_action(action, report_id=report_id, detail=detail)


def fold_reporter_actions(*, before: dt.date | None = None) -> int:
    """Append the reporter actions of every day before `before` (default: today) to the chain,
    each day's in random order and timed at its midnight, then commit. Returns how many."""
    cutoff = before or today()
    pending = list(
        db.session.scalars(
            select(PendingReporterAction)
            .where(PendingReporterAction.on_day < cutoff)
            .order_by(PendingReporterAction.on_day)
        )
    )
    by_day: dict[dt.date, list[PendingReporterAction]] = {}
    for action in pending:
        by_day.setdefault(action.on_day, []).append(action)
    for day, actions in sorted(by_day.items()):
        _shuffle(actions)
        for action in actions:
            record(
                action.action,
                object_type="report",
                object_id=action.report_id,
                detail=json.loads(action.detail),
                at=dt.datetime.combine(day, dt.time()),
            )
    if pending:
        db.session.execute(
            delete(PendingReporterAction).where(
                PendingReporterAction.id.in_([action.id for action in pending])
            )
        )
    db.session.commit()
    return len(pending)


def verify_chain(*, expected_head: str | None = None) -> ChainReport:
    """Walk the whole log in order; raise `AuditChainBroken` naming the first bad entry.

    With `expected_head` (a head printed by an earlier run and kept elsewhere), also refuse a
    chain that no longer contains it: entries were cut off or rewritten since.
    """
    key = _audit_key()
    prev_hash = GENESIS_HASH
    count = 0
    seen_head = expected_head is None
    last_id = 0
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev_hash:
            raise AuditChainBroken(entry.id, "does not follow the previous entry")
        if _entry_hash(entry, key) != entry.entry_hash:
            raise AuditChainBroken(entry.id, "content does not match its hash")
        prev_hash = entry.entry_hash
        seen_head = seen_head or entry.entry_hash == expected_head
        count += 1
        last_id = entry.id
    if not seen_head:
        raise AuditChainBroken(
            last_id, "the head recorded earlier is no longer in the chain (entries removed)"
        )
    return ChainReport(entries=count, last_hash=prev_hash)


def coarsen_chain() -> tuple[str, str, int]:
    """Check the chain, then give every entry the time this version would have recorded
    (`entry_time`) and recompute every link; commit. Returns (old head, new head, changed)."""
    old = verify_chain()
    key = _audit_key()
    _lock_chain()
    prev_hash = GENESIS_HASH
    changed = 0
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        coarse = entry_time(entry.object_type, entry.at)
        if entry.action.startswith("reporter."):
            coarse = dt.datetime.combine(entry.at.date(), dt.time())
        if coarse != entry.at:
            entry.at = coarse
            changed += 1
        entry.prev_hash = prev_hash
        entry.entry_hash = _entry_hash(entry, key)
        prev_hash = entry.entry_hash
    record("audit.coarsened", object_type="organisation", detail={"previous_head": old.last_hash})
    db.session.commit()
    return old.last_hash, verify_chain().last_hash, changed
