"""The queue index at rest: opened entries kept in a few chunks sealed under the team key.

A web process learns each report's urgency, acts and place by opening its coded answers, about
0.15 ms a report. Kept only in memory, that work was redone by every process after every
restart: 1.2 s before the first queue page for 8,000 open reports. So the entries a process
opens are also written back, many to a chunk, sealed with AES-256-GCM under a key derived from
the team's private key and bound to the organisation. A restarted process opens a handful of
chunks instead of thousands of envelopes.

Only a holder of the team key can read a chunk, or write one that opens: the key is derived
from the private key (HKDF), not from anything in the database, so a chunk tells a database dump
no more than the sealed sections it was made from. A chunk has no timestamp; its size says how
many entries it holds, which the count of reports says already.

Chunks hold the coded answers of reports, so they must not outlive them: deleting a report
(a caseworker's deletion, the retention purge) discards its organisation's chunks, and so does a
team key rotation. The next queue view writes them again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select

from incident_service import taxonomy
from incident_service.cases import queue_index
from incident_service.cases.queue_index import IndexEntry, Opened
from incident_service.crypto import RecipientPrivateKey, SymmetricKey
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.secretbox import open_with_key, seal_with_key
from incident_service.models import QueueIndexChunk, Report, db

# More chunks than this and the next load merges them into one.
MAX_CHUNKS = 8
KEY_INFO = b"incident-service/v1/queue-index-key|"


def chunk_key(team_key: RecipientPrivateKey) -> SymmetricKey:
    """The chunks' key: derived from the team's private key, bound to its key id."""
    secret = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO + team_key.key_id
    ).derive(team_key.private_bytes)
    return SymmetricKey("queue-index", secret)


def _context(organisation_id: int) -> bytes:
    return f"queue-index/{organisation_id}".encode()


def _encode(opened: Iterable[Opened]) -> bytes:
    return json.dumps(
        [
            [
                report_id,
                received_on.toordinal(),
                entry.urgency,
                list(entry.acts),
                entry.airport,
                entry.region,
                entry.country,
                entry.incident_date,
                entry.outcome,
                entry.group_size,
                entry.children,
            ]
            for report_id, received_on, entry in opened
        ],
        separators=(",", ":"),
    ).encode()


def _decode(plaintext: bytes) -> list[Opened]:
    opened: list[Opened] = []
    # Reports share a few act combinations: build each combination's tuple and groups once.
    shapes: dict[tuple[str, ...], tuple[tuple[str, ...], frozenset[str]]] = {}
    fromordinal = dt.date.fromordinal
    for item in json.loads(plaintext):
        report_id, received, urgency, acts, airport, region, country = item[:7]
        incident_date, outcome, group_size, children = item[7:]
        codes = tuple(acts)
        shape = shapes.get(codes)
        if shape is None:
            shape = shapes[codes] = (
                tuple(str(code) for code in codes),
                frozenset(taxonomy.act_group(str(code)) for code in codes),
            )
        entry = IndexEntry(
            int(urgency),
            shape[0],
            shape[1],
            airport,
            region,
            country,
            str(incident_date),
            outcome,
            int(group_size),
            bool(children),
        )
        opened.append((str(report_id), fromordinal(int(received)), entry))
    return opened


def _existing(organisation_id: int, report_ids: Iterable[str]) -> set[str]:
    """Those of the reports that still exist (a chunk never keeps a deleted report)."""
    wanted = set(report_ids)
    if len(wanted) <= 500:
        return set(
            db.session.scalars(
                select(Report.id).where(
                    Report.organisation_id == organisation_id, Report.id.in_(wanted)
                )
            )
        )
    connection = db.session.connection()
    found = connection.execute(
        select(queue_index.joined_report_ids(connection.dialect.name)).where(
            Report.organisation_id == organisation_id
        )
    ).scalar()
    return set(found.split(",")) & wanted if found else set()


def _write(organisation_id: int, opened: Sequence[Opened], key: SymmetricKey) -> None:
    if opened:
        db.session.add(
            QueueIndexChunk(
                organisation_id=organisation_id,
                sealed=seal_with_key(_encode(opened), key=key, context=_context(organisation_id)),
            )
        )


def load(organisation_id: int, team_key: RecipientPrivateKey) -> int:
    """Put every entry the organisation's chunks hold into this process's memory; merge the
    chunks into one when there are many or some no longer open. Returns the entries loaded."""
    key = chunk_key(team_key)
    rows = db.session.execute(
        select(QueueIndexChunk.id, QueueIndexChunk.sealed).where(
            QueueIndexChunk.organisation_id == organisation_id
        )
    ).all()
    opened: dict[str, Opened] = {}
    unreadable = False
    for _, sealed in rows:
        try:
            for item in _decode(open_with_key(sealed, key=key, context=_context(organisation_id))):
                opened[item[0]] = item
        except (CryptoError, ValueError, TypeError, KeyError):
            unreadable = True  # sealed under a team key that has since been rotated away
    queue_index.CACHE.put_entries(organisation_id, opened.values(), saved=True)
    queue_index.CACHE.mark_loaded(organisation_id)
    if len(rows) > MAX_CHUNKS or unreadable:
        live = _existing(organisation_id, opened)
        db.session.execute(
            delete(QueueIndexChunk).where(QueueIndexChunk.id.in_([row[0] for row in rows]))
        )
        _write(organisation_id, [item for item in opened.values() if item[0] in live], key)
    return len(opened)


def save(organisation_id: int, team_key: RecipientPrivateKey) -> int:
    """Write the entries this process opened and has not written yet into a new chunk."""
    unsaved = queue_index.CACHE.take_unsaved(organisation_id)
    if not unsaved:
        return 0
    live = _existing(organisation_id, (item[0] for item in unsaved))
    kept = [item for item in unsaved if item[0] in live]
    _write(organisation_id, kept, chunk_key(team_key))
    return len(kept)
