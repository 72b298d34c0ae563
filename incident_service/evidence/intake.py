"""Receiving an evidence file: judge, hash, seal and store it as it streams; record it sealed.

One pass over the bytes: each block is inspected (`sniff`), hashed and sealed (`crypto.streams`)
and handed to the file store. A refused file is refused before the store keeps anything (the
store's `put` removes what it wrote when the stream raises). The database row holds the content
key sealed to the team key, the metadata sealed likewise, the salted commitment, the object name
and the sealed size; a log leaf for the commitment waits for the day's batch (`evidence.log`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask import current_app

from incident_service import audit
from incident_service.constants import EvidenceState
from incident_service.crypto import RecipientPrivateKey, RecipientPublicKey, bindings
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.crypto.streams import (
    Block,
    Commitment,
    CommitmentSalt,
    ContentKey,
    FileDigest,
    SealedFileReader,
    StreamSealer,
    commit,
    digest_of,
    open_content_key,
    open_stream,
    opens_commitment,
    seal_content_key,
    seal_stream,
)
from incident_service.evidence.sniff import ContentInspector, EvidenceType
from incident_service.evidence.store import EvidenceStore, current_store, new_object_name
from incident_service.keystore import current_keyring
from incident_service.models import EvidenceFile, EvidenceLogLeaf, db, random_id, today

ORIGINAL = "original"
WORKING = "working"
# The custody entry of intake (`evidence.custody` names them all).
CUSTODY_RECEIVED = "evidence.received"
# Original names can hold a photo's exact time ("IMG_20240412_143012.jpg"): they are kept, but
# only inside the sealed metadata, and cut to a length a name needs.
MAX_NAME_LENGTH = 200


class StatisticsKeyRefused(Exception):
    """Evidence is sealed to the team key only; the statistics key was offered."""


class WorkingCopyExists(Exception):
    """A file has one working copy; make a new one only after removing the old."""


class EvidenceIntegrityError(Exception):
    """A stored original no longer matches the hash and commitment taken at intake."""


@dataclass(frozen=True)
class EvidenceMetadata:
    """What is known about a file besides its bytes; sealed to the team key as one envelope."""

    salt: CommitmentSalt
    digest: FileDigest
    kind: EvidenceType
    size: int
    original_name: str | None
    received_on: dt.date

    def to_bytes(self) -> bytes:
        document = {
            "salt": self.salt.secret.hex(),
            "sha256": self.digest.hex,
            "type": self.kind.value,
            "size": self.size,
            "original_name": self.original_name,
            "received_on": self.received_on.isoformat(),
        }
        return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> EvidenceMetadata:
        document = json.loads(data)
        return cls(
            salt=CommitmentSalt(bytes.fromhex(document["salt"])),
            digest=FileDigest(bytes.fromhex(document["sha256"])),
            kind=EvidenceType(document["type"]),
            size=int(document["size"]),
            original_name=document["original_name"],
            received_on=dt.date.fromisoformat(document["received_on"]),
        )

    @property
    def commitment(self) -> Commitment:
        return commit(self.digest, self.salt)


@dataclass(frozen=True)
class ReceivedFile:
    """What the caller needs after intake: for the receipt page and the response, not a row."""

    file_id: str
    kind: EvidenceType
    fingerprint: str
    sealed_size: int
    original_object: str
    size: int = 0
    name: str | None = None
    received_on: dt.date | None = None


@dataclass(frozen=True)
class ReporterSummary:
    """What the reporter's pages show of a file: sealed to the reporter's key and the team key."""

    name: str | None
    size: int
    kind: EvidenceType
    fingerprint: str
    received_on: dt.date

    def to_bytes(self) -> bytes:
        document = {
            "name": self.name,
            "size": self.size,
            "type": self.kind.value,
            "fingerprint": self.fingerprint,
            "received_on": self.received_on.isoformat(),
        }
        return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> ReporterSummary:
        document = json.loads(data)
        return cls(
            name=document["name"],
            size=int(document["size"]),
            kind=EvidenceType(document["type"]),
            fingerprint=str(document["fingerprint"]),
            received_on=dt.date.fromisoformat(document["received_on"]),
        )


@dataclass(frozen=True)
class Recipients:
    """Who a file is sealed to: the team key (caseworkers) and the evidence key (the worker
    that makes clean copies); the reporter's key, where known, for their file list."""

    team_key: RecipientPublicKey
    evidence_key: RecipientPublicKey
    reporter_key: RecipientPublicKey | None = None


def recipients_for(
    team_key: RecipientPublicKey, *, reporter_key: RecipientPublicKey | None = None
) -> Recipients:
    """The team key given, this installation's evidence key, and the reporter's key."""
    evidence_key = current_keyring().require_evidence_public()
    statistics = current_keyring().statistics_public
    for key in (team_key, evidence_key):
        if statistics is not None and statistics.key_id == key.key_id:
            raise StatisticsKeyRefused("evidence files are never sealed to the statistics key")
    return Recipients(team_key, evidence_key, reporter_key)


def receive_file(
    blocks: Iterable[Block],
    *,
    report_id: str,
    organisation_id: int,
    team_key: RecipientPublicKey,
    original_name: str | None = None,
    store: EvidenceStore | None = None,
    received_on: dt.date | None = None,
    max_bytes: int | None = None,
    reporter_key: RecipientPublicKey | None = None,
) -> ReceivedFile:
    """Judge, hash, seal and store one file, and add its rows to the session (no commit).

    Raises `ContentRefused` (named reason) for a file of the wrong type, a polyglot or one over
    `max_bytes` (default `EVIDENCE_MAX_BYTES`); nothing is stored then. If the caller's
    transaction later fails, it should delete `original_object` from the store.
    """
    recipients = recipients_for(team_key, reporter_key=reporter_key)
    store = store or current_store()
    limit = max_bytes if max_bytes is not None else int(current_app.config["EVIDENCE_MAX_BYTES"])
    file_id = random_id()
    key = ContentKey.generate()
    inspector = ContentInspector(max_bytes=limit)
    sealer = StreamSealer(key, context=bindings.evidence_stream(report_id, file_id, ORIGINAL))

    def sealed() -> Iterator[Block]:
        for block in blocks:
            inspector.feed(block)
            yield from sealer.update(block)
        inspector.finish()  # refuses before the last records reach the store
        yield from sealer.finish()

    name = new_object_name()
    sealed_size = store.put(name, sealed())
    digest = sealer.digest()
    assert digest is not None and inspector.kind is not None
    return record_received(
        StoredOriginal(
            file_id=file_id,
            key=key,
            digest=digest,
            kind=inspector.kind,
            size=sealer.data_length,
            object_name=name,
            sealed_size=sealed_size,
        ),
        report_id=report_id,
        organisation_id=organisation_id,
        recipients=recipients,
        original_name=original_name,
        received_on=received_on,
    )


@dataclass(frozen=True, repr=False)
class StoredOriginal:
    """A sealed original already in the store, with what was learnt while it streamed."""

    file_id: str
    key: ContentKey
    digest: FileDigest
    kind: EvidenceType
    size: int
    object_name: str
    sealed_size: int


def record_received(
    stored: StoredOriginal,
    *,
    report_id: str,
    organisation_id: int,
    recipients: Recipients,
    original_name: str | None,
    received_on: dt.date | None = None,
) -> ReceivedFile:
    """The rows of a stored original: sealed key, metadata and summary, the commitment, its log
    leaf, and the custody entry "received" (the commitment only, never the SHA-256). No commit."""
    day = received_on or today()
    file_id = stored.file_id
    name = (original_name or None) and original_name[:MAX_NAME_LENGTH]
    metadata = EvidenceMetadata(
        salt=CommitmentSalt.generate(),
        digest=stored.digest,
        kind=stored.kind,
        size=stored.size,
        original_name=name,
        received_on=day,
    )
    commitment = metadata.commitment
    summary = ReporterSummary(name, stored.size, stored.kind, stored.digest.fingerprint, day)
    summary_keys = [recipients.team_key]
    if recipients.reporter_key is not None:
        summary_keys.insert(0, recipients.reporter_key)
    db.session.add(
        EvidenceFile(
            id=file_id,
            report_id=report_id,
            organisation_id=organisation_id,
            content_key_envelope=seal_content_key(
                stored.key,
                context=bindings.evidence_content_key(report_id, file_id),
                team_key=recipients.team_key,
                evidence_key=recipients.evidence_key,
            ),
            sealed_metadata=seal(
                metadata.to_bytes(),
                context=bindings.evidence_metadata(report_id, file_id),
                recipients=[recipients.team_key],
            ),
            reporter_summary=seal(
                summary.to_bytes(),
                context=bindings.evidence_reporter_summary(report_id, file_id),
                recipients=summary_keys,
            ),
            commitment=commitment.value,
            sealed_size=stored.sealed_size,
            original_object=stored.object_name,
            state=EvidenceState.STORED.value,
            received_on=day,
        )
    )
    db.session.add(EvidenceLogLeaf(commitment=commitment.value, received_on=day))
    audit.record_reporter_action(
        CUSTODY_RECEIVED,
        report_id=report_id,
        detail={"file": file_id, "commitment": commitment.hex},
    )
    return ReceivedFile(
        file_id,
        stored.kind,
        stored.digest.fingerprint,
        stored.sealed_size,
        stored.object_name,
        size=stored.size,
        name=name,
        received_on=day,
    )


def open_metadata(row: EvidenceFile, *, team_private_key: RecipientPrivateKey) -> EvidenceMetadata:
    data = open_envelope(
        row.sealed_metadata,
        context=bindings.evidence_metadata(row.report_id, row.id),
        private_key=team_private_key,
    )
    return EvidenceMetadata.from_bytes(data)


def content_key_of(row: EvidenceFile, *, team_private_key: RecipientPrivateKey) -> ContentKey:
    return open_content_key(
        row.content_key_envelope,
        context=bindings.evidence_content_key(row.report_id, row.id),
        private_key=team_private_key,
    )


def read_file(
    row: EvidenceFile,
    *,
    team_private_key: RecipientPrivateKey,
    copy: str = ORIGINAL,
    store: EvidenceStore | None = None,
) -> Iterator[bytes]:
    """The file's bytes, streamed and checked chunk by chunk (a `CryptoError` on any fault).
    The caller records the custody entry (view, download, export) in the audit trail."""
    store = store or current_store()
    name = row.original_object if copy == ORIGINAL else row.working_object
    if name is None:
        raise LookupError("this file has no working copy yet")
    key = content_key_of(row, team_private_key=team_private_key)
    context = bindings.evidence_stream(row.report_id, row.id, copy)
    return open_stream(store.get(name), key=key, context=context)


def file_reader(
    row: EvidenceFile,
    *,
    team_private_key: RecipientPrivateKey,
    copy: str = ORIGINAL,
    store: EvidenceStore | None = None,
) -> SealedFileReader:
    """The same as a file object, for libraries that want `read()`."""
    store = store or current_store()
    name = row.original_object if copy == ORIGINAL else row.working_object
    if name is None:
        raise LookupError("this file has no working copy yet")
    return SealedFileReader(
        store.get(name),
        key=content_key_of(row, team_private_key=team_private_key),
        context=bindings.evidence_stream(row.report_id, row.id, copy),
    )


def verify_original(
    row: EvidenceFile,
    *,
    team_private_key: RecipientPrivateKey,
    store: EvidenceStore | None = None,
) -> EvidenceMetadata:
    """Read the stored original back and check it against the hash and commitment taken at
    intake (for the custody record before an export). Raises `EvidenceIntegrityError`."""
    metadata = open_metadata(row, team_private_key=team_private_key)
    digest = digest_of(read_file(row, team_private_key=team_private_key, store=store))
    if digest != metadata.digest:
        raise EvidenceIntegrityError("the stored original does not hash to its intake SHA-256")
    if not opens_commitment(Commitment(row.commitment), digest, metadata.salt):
        raise EvidenceIntegrityError("the commitment does not open with the sealed salt")
    return metadata


def store_working_copy(
    row: EvidenceFile,
    blocks: Iterable[Block],
    *,
    team_private_key: RecipientPrivateKey,
    store: EvidenceStore | None = None,
) -> str:
    """Seal and store a working copy (metadata stripped elsewhere) beside the original, under
    the file's own content key but bound as the `working` copy; the original stays (no commit)."""
    if row.working_object is not None:
        raise WorkingCopyExists("this file has a working copy already")
    store = store or current_store()
    key = content_key_of(row, team_private_key=team_private_key)
    context = bindings.evidence_stream(row.report_id, row.id, WORKING)
    name = new_object_name()
    store.put(name, seal_stream(blocks, key=key, context=context))
    row.working_object = name
    row.state = EvidenceState.WORKING_COPY.value
    return name
