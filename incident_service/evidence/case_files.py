"""Evidence in the case view: each file's facts for the caseworker, its working copy to look at,
its original on request; every view and download is a custody entry.

Everything is opened with the team key the caseworker's session unlocked: the web holds no key
of its own that opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from incident_service.constants import EvidenceState
from incident_service.crypto import RecipientPrivateKey
from incident_service.crypto.errors import CryptoError
from incident_service.evidence import custody
from incident_service.evidence.cleaning import RemovedMetadata, open_removed_metadata
from incident_service.evidence.intake import (
    ORIGINAL,
    WORKING,
    EvidenceMetadata,
    open_metadata,
    read_file,
)
from incident_service.evidence.sniff import EvidenceType
from incident_service.evidence.store import ObjectMissing
from incident_service.models import EvidenceFile, db

# File name extensions of downloads, by type.
EXTENSIONS = {
    EvidenceType.JPEG: "jpg",
    EvidenceType.PNG: "png",
    EvidenceType.HEIC: "heic",
    EvidenceType.WEBP: "webp",
    EvidenceType.PDF: "pdf",
    EvidenceType.MP3: "mp3",
    EvidenceType.M4A: "m4a",
    EvidenceType.AAC: "aac",
    EvidenceType.OGG: "ogg",
    EvidenceType.WAV: "wav",
    EvidenceType.MP4: "mp4",
}


class EvidenceFileNotFound(Exception):
    """No such file in this case (or it was deleted)."""


class EvidenceUnreadable(Exception):
    """The stored object is missing or does not open: it was changed or damaged."""


@dataclass(frozen=True)
class CaseFile:
    row: EvidenceFile
    metadata: EvidenceMetadata | None  # None: the sealed metadata does not open
    removed: RemovedMetadata | None  # None until the evidence worker made the copy

    @property
    def working_type(self) -> EvidenceType | None:
        return self.removed.working_type if self.removed is not None else None

    @property
    def shows_as(self) -> str:
        """How the case view shows the working copy: `image`, `audio` or `download`."""
        kind = self.working_type
        if kind is None or self.row.working_object is None:
            return "none"
        if kind.kind == "image":
            return "image"
        if kind.kind == "audio":
            return "audio"
        return "download"


def case_files(report_id: str, team_key: RecipientPrivateKey) -> list[CaseFile]:
    rows = db.session.scalars(
        select(EvidenceFile)
        .where(
            EvidenceFile.report_id == report_id,
            EvidenceFile.state != EvidenceState.DELETED.value,
        )
        .order_by(EvidenceFile.received_on, EvidenceFile.id)
    ).all()
    files = []
    for row in rows:
        try:
            metadata: EvidenceMetadata | None = open_metadata(row, team_private_key=team_key)
            removed = open_removed_metadata(row, team_private_key=team_key)
        except CryptoError:
            metadata, removed = None, None
        files.append(CaseFile(row, metadata, removed))
    return files


def get_case_file(report_id: str, file_id: str) -> EvidenceFile:
    row = db.session.get(EvidenceFile, file_id)
    if row is None or row.report_id != report_id or row.state == EvidenceState.DELETED.value:
        raise EvidenceFileNotFound(file_id)
    return row


@dataclass(frozen=True)
class OpenedCopy:
    data: bytes
    media_type: str
    filename: str


def open_copy(
    row: EvidenceFile, *, copy: str, team_key: RecipientPrivateKey, actor_id: int, inline: bool
) -> OpenedCopy:
    """One copy's bytes, checked whole before anything is sent, and the custody entry (viewed
    when shown inline, downloaded otherwise); no commit. The original comes only on request."""
    if copy == WORKING and row.working_object is None:
        raise EvidenceFileNotFound(row.id)
    try:
        metadata = open_metadata(row, team_private_key=team_key)
        kind = metadata.kind
        if copy == WORKING:
            removed = open_removed_metadata(row, team_private_key=team_key)
            kind = removed.working_type if removed is not None else kind
        data = b"".join(read_file(row, team_private_key=team_key, copy=copy))
    except (CryptoError, ObjectMissing) as exc:
        raise EvidenceUnreadable(str(exc)) from None
    custody.record_staff_event(
        custody.VIEWED if inline else custody.DOWNLOADED, row=row, actor_id=actor_id, copy=copy
    )
    label = "original" if copy == ORIGINAL else "working-copy"
    return OpenedCopy(data, kind.media_type, f"evidence-{row.id[:8]}-{label}.{EXTENSIONS[kind]}")
