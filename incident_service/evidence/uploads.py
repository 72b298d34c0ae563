"""Resumable uploads (tus 1.0): a file sent in pieces over a bad connection, sealed as it comes.

Every piece is sealed as it arrives (`crypto.streams.StreamSealer`): its sealed records go to the
file store as one object per request ("segments"), and the sealer's state between requests (the
content key, the offset, under one chunk of not yet sealed bytes) is itself sealed under a key
derived from a secret that only the upload's URL carries (`crypto.uploads`). Nothing unsealed
is written anywhere, and a dump taken mid-upload shows neither size nor time.

When the last byte has arrived, the segments are read back once: the content is judged
(`sniff.ContentInspector`) and hashed (SHA-256: hash state cannot be carried between requests),
then joined into the stored original and recorded like any other file (`intake.record_received`).
A refused file leaves nothing behind, and its report is untouched.

Requests never hold a database transaction while a body streams in: the state is read, the
transaction ended, the body sealed into a new segment, and the new state written only if nobody
else moved the upload meanwhile (compare-and-set on the sealed state).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain

from flask import current_app
from sqlalchemy import select

from incident_service.auth.teams import team_public_key
from incident_service.crypto import RecipientPublicKey, bindings
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.streams import (
    Block,
    ContentKey,
    FileDigest,
    SealerState,
    StreamSealer,
    digest_of,
    open_stream,
)
from incident_service.crypto.uploads import UploadSecret, open_upload_state, seal_upload_state
from incident_service.evidence.intake import (
    MAX_NAME_LENGTH,
    ORIGINAL,
    ReceivedFile,
    StoredOriginal,
    recipients_for,
    record_received,
)
from incident_service.evidence.limits import check_room
from incident_service.evidence.sniff import (
    HEAD_SIZE,
    ContentInspector,
    ContentRefused,
    EvidenceType,
)
from incident_service.evidence.store import EvidenceStore, current_store, new_object_name
from incident_service.models import EvidenceUpload, Organisation, Report, db, random_id, utcnow

TOKEN_BYTES = 16 + 32  # upload id, then the secret


class UploadNotFound(Exception):
    """No such upload, a wrong secret, or an expired one: one answer for all three."""


class OffsetMismatch(Exception):
    """The client's `Upload-Offset` is not where the upload stands (tus: 409)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the upload stands at {offset}")
        self.offset = offset


class UploadOverrun(Exception):
    """More bytes were sent than the upload's declared length."""


class UploadConflict(Exception):
    """Another request moved the upload while this one was sending (tus: 409)."""


@dataclass(frozen=True, repr=False)
class UploadState:
    """Everything about an upload in progress; kept only sealed."""

    file_id: str
    report_id: str
    content_key: ContentKey
    length: int
    offset: int
    expires_at: dt.datetime  # naive UTC
    name: str | None
    language: str | None
    sealer: SealerState | None  # None until the first byte

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {
                "file": self.file_id,
                "report": self.report_id,
                "key": self.content_key.secret.hex(),
                "length": self.length,
                "offset": self.offset,
                "expires": self.expires_at.isoformat(),
                "name": self.name,
                "language": self.language,
            },
            sort_keys=True,
        ).encode("utf-8")
        sealer = self.sealer.to_bytes() if self.sealer is not None else b""
        return struct.pack(">I", len(header)) + header + sealer

    @classmethod
    def from_bytes(cls, data: bytes) -> UploadState:
        (size,) = struct.unpack(">I", data[:4])
        document = json.loads(data[4 : 4 + size])
        rest = data[4 + size :]
        return cls(
            file_id=document["file"],
            report_id=document["report"],
            content_key=ContentKey(bytes.fromhex(document["key"])),
            length=int(document["length"]),
            offset=int(document["offset"]),
            expires_at=dt.datetime.fromisoformat(document["expires"]),
            name=document["name"],
            language=document["language"],
            sealer=SealerState.from_bytes(rest) if rest else None,
        )

    @property
    def stream_context(self) -> bytes:
        return bindings.evidence_stream(self.report_id, self.file_id, ORIGINAL)


@dataclass(frozen=True, repr=False)
class OpenUpload:
    """An upload opened with its URL's secret, as it stood when read."""

    upload_id: str
    secret: UploadSecret
    state: UploadState
    sealed_state: bytes
    segments: tuple[str, ...]

    @property
    def token(self) -> str:
        return make_token(self.upload_id, self.secret)


@dataclass(frozen=True)
class Progress:
    offset: int
    received: ReceivedFile | None  # set once the last byte has arrived and the file is stored


def make_token(upload_id: str, secret: UploadSecret) -> str:
    raw = bytes.fromhex(upload_id) + secret.value
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _parse_token(token: str) -> tuple[str, UploadSecret]:
    if len(token) != 64:
        raise UploadNotFound()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise UploadNotFound() from None
    if len(raw) != TOKEN_BYTES:
        raise UploadNotFound()
    return raw[:16].hex(), UploadSecret(raw[16:])


def _seal(state: UploadState, upload_id: str, secret: UploadSecret) -> bytes:
    return seal_upload_state(
        state.to_bytes(), secret=secret, context=bindings.evidence_upload_state(upload_id)
    )


def create_upload(
    *,
    report: Report,
    length: int,
    name: str | None = None,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> OpenUpload:
    """Start an upload of `length` bytes for `report` (no commit). Raises
    `limits.EvidenceLimitReached` when the report has no room for it."""
    check_room(report.id, length)
    moment = now or utcnow()
    hours = int(current_app.config["EVIDENCE_UPLOAD_HOURS"])
    expires_at = (moment + dt.timedelta(hours=hours)).replace(microsecond=0)
    upload_id, secret = random_id(), UploadSecret.generate()
    state = UploadState(
        file_id=random_id(),
        report_id=report.id,
        content_key=ContentKey.generate(),
        length=length,
        offset=0,
        expires_at=expires_at,
        name=(name or None) and name[:MAX_NAME_LENGTH],
        language=language,
        sealer=None,
    )
    sealed = _seal(state, upload_id, secret)
    db.session.add(
        EvidenceUpload(
            id=upload_id,
            report_id=report.id,
            organisation_id=report.organisation_id,
            sealed_state=sealed,
            segments="",
            # The day after expiry, so that the column says a day, never the hour of creation.
            purge_on=expires_at.date() + dt.timedelta(days=1),
        )
    )
    db.session.flush()
    return OpenUpload(upload_id, secret, state, sealed, ())


def open_upload(token: str, *, now: dt.datetime | None = None) -> OpenUpload:
    """The upload the token names, or `UploadNotFound` (also for a wrong secret or an expired
    upload). Reads only: nothing is locked."""
    upload_id, secret = _parse_token(token)
    row = db.session.get(EvidenceUpload, upload_id)
    if row is None:
        raise UploadNotFound()
    try:
        plain = open_upload_state(
            row.sealed_state, secret=secret, context=bindings.evidence_upload_state(upload_id)
        )
    except CryptoError:
        raise UploadNotFound() from None
    state = UploadState.from_bytes(plain)
    if (now or utcnow()) >= state.expires_at:
        raise UploadNotFound()
    return OpenUpload(upload_id, secret, state, row.sealed_state, _segments(row.segments))


def _segments(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.split(" ") if name)


@dataclass
class _Reading:
    """What happened while the body was read: bytes taken, and a read error, if any."""

    taken: int = 0
    error: BaseException | None = None


def _sealed_body(
    sealer: StreamSealer,
    blocks: Iterable[bytes],
    reading: _Reading,
    *,
    room: int,
    probe: ContentInspector | None,
) -> Iterator[Block]:
    """Seal the body as it is read. A read that fails (the client went away, a timeout) ends
    the segment with what arrived, so a resumed upload does not send it again."""
    iterator = iter(blocks)
    while True:
        try:
            block = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # the server's read error: raised again once progress is saved
            reading.error = exc
            return
        if reading.taken + len(block) > room:
            raise UploadOverrun("more bytes than the upload's length")
        if probe is not None and probe.length < HEAD_SIZE:
            probe.feed(block[: HEAD_SIZE - probe.length])  # an unknown type is refused now
        reading.taken += len(block)
        yield from sealer.update(block)


def append(
    upload: OpenUpload,
    blocks: Iterable[bytes],
    *,
    offset: int,
    store: EvidenceStore | None = None,
) -> Progress:
    """Seal and store the next bytes of the upload; finish it once complete. Commits.

    Raises `OffsetMismatch`, `UploadOverrun`, `UploadConflict`, `sniff.ContentRefused` (the
    upload is then gone), `limits.EvidenceLimitReached` at completion (likewise), or the read
    error after saving what arrived before it.
    """
    state = upload.state
    if offset != state.offset:
        raise OffsetMismatch(state.offset)
    store = store or current_store()
    db.session.rollback()  # no transaction stays open while the body streams in
    if state.sealer is None:
        sealer = StreamSealer(state.content_key, context=state.stream_context, hash_content=False)
    else:
        sealer = StreamSealer.resume(
            state.content_key, context=state.stream_context, state=state.sealer
        )
    reading = _Reading()
    probe = ContentInspector() if state.offset == 0 else None
    segment = new_object_name()
    try:
        written = store.put(
            segment,
            _sealed_body(sealer, blocks, reading, room=state.length - state.offset, probe=probe),
        )
    except ContentRefused:
        terminate(upload, store=store)  # a refused first piece ends the upload
        raise
    new_segments = upload.segments + ((segment,) if written else ())
    if not written:
        store.delete(segment)
    # A sealer that has taken no byte yet has written no magic either: it starts afresh later.
    started = state.sealer is not None or reading.taken > 0
    new_state = replace(
        state, offset=state.offset + reading.taken, sealer=sealer.suspend() if started else None
    )
    _save(upload, new_state, new_segments, store, new_segment=segment if written else None)
    if reading.error is not None:
        raise reading.error
    if new_state.offset < new_state.length:
        return Progress(new_state.offset, None)
    moved = replace(upload, state=new_state, segments=new_segments)
    return Progress(new_state.offset, _complete(moved, sealer, store))


def _save(
    upload: OpenUpload,
    state: UploadState,
    segments: tuple[str, ...],
    store: EvidenceStore,
    *,
    new_segment: str | None,
) -> None:
    """Write the new state if the upload still stands where this request found it."""
    row = db.session.scalar(
        select(EvidenceUpload).where(EvidenceUpload.id == upload.upload_id).with_for_update()
    )
    if row is None or row.sealed_state != upload.sealed_state:
        db.session.rollback()
        if new_segment is not None:
            store.delete(new_segment)
        raise UploadConflict("the upload was moved by another request")
    row.sealed_state = _seal(state, upload.upload_id, upload.secret)
    row.segments = " ".join(segments)
    db.session.commit()


def _complete(upload: OpenUpload, sealer: StreamSealer, store: EvidenceStore) -> ReceivedFile:
    """Seal the last records, read the whole upload back once (judge and hash it), join the
    segments into the stored original and record it. Commits; the upload is gone after."""
    state = upload.state
    last = new_object_name()
    store.put(last, sealer.finish())
    segments = (*upload.segments, last)
    try:
        digest, kind = _judge(segments, state, store)
        report = db.session.get(Report, state.report_id)
        if report is None:
            raise UploadNotFound()
        check_room(report.id, state.length, exclude_upload=upload.upload_id, counting_files=False)
        name = new_object_name()
        sealed_size = store.put(name, chain.from_iterable(store.get(s) for s in segments))
    except BaseException:
        store.delete(last)
        terminate(upload, store=store)
        raise
    recipients = recipients_for(
        _team_key(report), reporter_key=RecipientPublicKey.from_bytes(report.reporter_public_key)
    )
    received = record_received(
        StoredOriginal(
            file_id=state.file_id,
            key=state.content_key,
            digest=digest,
            kind=kind,
            size=state.length,
            object_name=name,
            sealed_size=sealed_size,
        ),
        report_id=report.id,
        organisation_id=report.organisation_id,
        recipients=recipients,
        original_name=state.name,
    )
    row = db.session.get(EvidenceUpload, upload.upload_id)
    if row is not None:
        db.session.delete(row)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        store.delete(name)
        raise
    for segment in segments:
        store.delete(segment)
    return received


def _judge(
    segments: tuple[str, ...], state: UploadState, store: EvidenceStore
) -> tuple[FileDigest, EvidenceType]:
    inspector = ContentInspector(max_bytes=int(current_app.config["EVIDENCE_MAX_BYTES"]))

    def plaintext() -> Iterator[bytes]:
        for piece in open_stream(
            chain.from_iterable(store.get(s) for s in segments),
            key=state.content_key,
            context=state.stream_context,
        ):
            inspector.feed(piece)
            yield piece

    digest = digest_of(plaintext())
    return digest, inspector.finish()


def _team_key(report: Report) -> RecipientPublicKey:
    return team_public_key(db.session.get_one(Organisation, report.organisation_id))


def terminate(upload: OpenUpload, *, store: EvidenceStore | None = None) -> None:
    """Delete the upload and everything it stored (tus termination). Commits."""
    store = store or current_store()
    db.session.rollback()
    row = db.session.get(EvidenceUpload, upload.upload_id)
    names = _segments(row.segments) if row is not None else upload.segments
    if row is not None:
        db.session.delete(row)
    db.session.commit()
    for name in names:
        store.delete(name)


def purge_expired_uploads(*, today: dt.date, store: EvidenceStore | None = None) -> int:
    """Delete uploads whose purge day has come, and what they stored. Commits; returns how many.

    The exact expiry is sealed: the purge goes by the day after it, so an unfinished upload is
    unusable after `EVIDENCE_UPLOAD_HOURS` and gone at most a day later."""
    store = store or current_store()
    rows = db.session.scalars(select(EvidenceUpload).where(EvidenceUpload.purge_on <= today)).all()
    names = [name for row in rows for name in _segments(row.segments)]
    for row in rows:
        db.session.delete(row)
    db.session.commit()
    for name in names:
        store.delete(name)
    return len(rows)
