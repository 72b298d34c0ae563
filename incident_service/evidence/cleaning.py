"""The evidence worker's job: a clean working copy of each new file, the original kept.

Runs only where `evidence.key` is (`PROCESS_ROLE=evidence`): that key opens a file's content
key, never a report's sections. For each file still without a copy, the original is read and
checked chunk by chunk (a file that decrypts wrongly is refused, never half-used), judged again
by its bytes, cleaned (`stripping`), and the copy sealed beside the original under the same
content key. What was removed (names and values: the GPS of a photo, the author of a PDF) is
sealed to the team key only, for the caseworker. A file that cannot be cleaned keeps its
original, and the reason is recorded. Custody entries join the audit chain at the day's end.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from incident_service import audit
from incident_service.auth.teams import team_public_key
from incident_service.constants import EvidenceState
from incident_service.crypto import NoMatchingRecipient, RecipientPrivateKey, bindings
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.streams import open_stream
from incident_service.evidence.intake import ORIGINAL, content_key_of, store_working_copy
from incident_service.evidence.sniff import ContentInspector, ContentRefused, EvidenceType
from incident_service.evidence.store import EvidenceStore, ObjectMissing, current_store
from incident_service.evidence.stripping import (
    CleanCopy,
    CleaningLimits,
    CopyRefused,
    RemovedField,
    make_clean_copy,
)
from incident_service.keystore import current_keyring
from incident_service.models import EvidenceFile, Organisation, db

log = logging.getLogger(__name__)

CUSTODY_COPY_MADE = "evidence.copy_made"
CUSTODY_COPY_REFUSED = "evidence.copy_refused"
BATCH = 20


@dataclass(frozen=True)
class RemovedMetadata:
    """Sealed to the team key: the working copy's type and what it left out."""

    working_type: EvidenceType
    fields: list[RemovedField]
    location: tuple[float, float] | None

    def to_bytes(self) -> bytes:
        document = {
            "working_type": self.working_type.value,
            "fields": [[f.group, f.name, f.value] for f in self.fields],
            "location": list(self.location) if self.location else None,
        }
        return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> RemovedMetadata:
        document = json.loads(data)
        location = document.get("location")
        return cls(
            working_type=EvidenceType(document["working_type"]),
            fields=[RemovedField(*entry) for entry in document["fields"]],
            location=(float(location[0]), float(location[1])) if location else None,
        )


def open_removed_metadata(
    row: EvidenceFile, *, team_private_key: RecipientPrivateKey
) -> RemovedMetadata | None:
    if row.removed_metadata is None:
        return None
    plain = open_envelope(
        row.removed_metadata,
        context=bindings.evidence_removed_metadata(row.report_id, row.id),
        private_key=team_private_key,
    )
    return RemovedMetadata.from_bytes(plain)


@dataclass
class CleaningResult:
    made: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"made": self.made, "refused": sum(self.refused.values())}


def cleaning_limits() -> CleaningLimits:
    config = current_app.config
    return CleaningLimits(
        max_pixels=int(config["EVIDENCE_MAX_PIXELS"]),
        max_pdf_pages=int(config["EVIDENCE_MAX_PDF_PAGES"]),
        max_audio_seconds=int(config["EVIDENCE_MAX_AUDIO_SECONDS"]),
    )


def make_clean_copies(*, batch: int = BATCH, store: EvidenceStore | None = None) -> CleaningResult:
    """Make the working copy of every file still without one, a batch at a time; commits after
    each file. Safe to run twice, and from two workers (rows are locked, skipping taken ones)."""
    evidence_key = current_keyring().require_evidence_private()
    store = store or current_store()
    result = CleaningResult()
    while True:
        query = (
            select(EvidenceFile)
            .where(EvidenceFile.state == EvidenceState.STORED.value)
            .order_by(EvidenceFile.received_on, EvidenceFile.id)
            .limit(batch)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = db.session.scalars(query).all()
        if not rows:
            db.session.commit()
            return result
        for row in rows:
            problem = clean_file(row, evidence_key=evidence_key, store=store)
            if problem is None:
                result.made += 1
            else:
                result.refused[problem] = result.refused.get(problem, 0) + 1
        db.session.commit()


def clean_file(
    row: EvidenceFile, *, evidence_key: RecipientPrivateKey, store: EvidenceStore
) -> str | None:
    """Make one file's working copy (no commit); None when made, else the reason refused."""
    try:
        original = _read_original(row, evidence_key, store)
        copy = make_clean_copy(original, _judge(original), cleaning_limits())
        _judge(copy.data)  # the copy must itself be a file this service accepts
    except CopyRefused as exc:
        return _refuse(row, exc.reason)
    del original
    _store_copy(row, copy, evidence_key, store)
    audit.record_report_event(
        CUSTODY_COPY_MADE,
        report_id=row.report_id,
        detail={"file": row.id, "removed": len(copy.removed), "type": copy.kind.value},
    )
    return None


def _read_original(row: EvidenceFile, key: RecipientPrivateKey, store: EvidenceStore) -> bytes:
    """The whole original in memory (bounded by the largest file accepted), checked chunk by
    chunk: an object that was changed, cut or swapped is refused, never half-read."""
    limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
    try:
        content_key = content_key_of(row, team_private_key=key)
    except NoMatchingRecipient:
        raise CopyRefused("no_evidence_key") from None  # sealed before the evidence key existed
    except CryptoError:
        raise CopyRefused("unreadable") from None
    context = bindings.evidence_stream(row.report_id, row.id, ORIGINAL)
    data = bytearray()
    try:
        for chunk in open_stream(store.get(row.original_object), key=content_key, context=context):
            data += chunk
            if len(data) > limit:
                raise CopyRefused("too_large")
    except (CryptoError, ObjectMissing):
        raise CopyRefused("unreadable") from None
    return bytes(data)


def _judge(data: bytes) -> EvidenceType:
    inspector = ContentInspector()
    try:
        inspector.feed(data)
        return inspector.finish()
    except ContentRefused as exc:
        raise CopyRefused("not_accepted", exc.reason.value) from None


def _store_copy(
    row: EvidenceFile, copy: CleanCopy, key: RecipientPrivateKey, store: EvidenceStore
) -> None:
    team_key = team_public_key(db.session.get_one(Organisation, row.organisation_id))
    record = RemovedMetadata(copy.kind, copy.removed, copy.location)
    pieces = (copy.data[i : i + 1024 * 1024] for i in range(0, len(copy.data), 1024 * 1024))
    store_working_copy(row, pieces, team_private_key=key, store=store)
    row.removed_metadata = seal(
        record.to_bytes(),
        context=bindings.evidence_removed_metadata(row.report_id, row.id),
        recipients=[team_key],
    )
    row.copy_problem = None


def _refuse(row: EvidenceFile, reason: str) -> str:
    row.state = EvidenceState.COPY_REFUSED.value
    row.copy_problem = reason[:30]
    audit.record_report_event(
        CUSTODY_COPY_REFUSED, report_id=row.report_id, detail={"file": row.id, "reason": reason}
    )
    log.warning("an evidence file got no working copy: %s", reason)
    return reason
