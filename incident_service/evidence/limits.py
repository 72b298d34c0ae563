"""How much evidence a report may hold: files, bytes per file, bytes per report (configurable).

The web cannot read a stored file's exact size (it is sealed to the team key); what it can see is
the sealed size, which is the exact size rounded up to a bucket (`crypto.streams`). Each stored
file is therefore counted at the *smallest* size its bucket allows: a reporter is never refused
below the limit, and a report can exceed it by less than one bucket's rounding (under 12.5 %).
Uploads in progress count as files from the moment they are created.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from incident_service.constants import EvidenceState
from incident_service.crypto.streams import CHUNK_SIZE, MAGIC, RECORD_SIZE, padded_record_count
from incident_service.models import EvidenceFile, EvidenceUpload, db


class LimitKind(enum.StrEnum):
    FILE_SIZE = "file_size"
    FILES = "files"
    REPORT_SIZE = "report_size"


class EvidenceLimitReached(Exception):
    """One more file (of this size) would go over a limit; `kind` says which."""

    def __init__(self, kind: LimitKind, limit: int) -> None:
        super().__init__(f"{kind.value} over {limit}")
        self.kind = kind
        self.limit = limit


@dataclass(frozen=True)
class EvidenceLimits:
    max_file_bytes: int
    max_files: int
    max_report_bytes: int

    @classmethod
    def configured(cls) -> EvidenceLimits:
        config = current_app.config
        return cls(
            max_file_bytes=int(config["EVIDENCE_MAX_BYTES"]),
            max_files=int(config["EVIDENCE_MAX_FILES"]),
            max_report_bytes=int(config["EVIDENCE_MAX_REPORT_BYTES"]),
        )


def smallest_size_for(sealed_size: int) -> int:
    """The fewest bytes a file stored in `sealed_size` bytes can hold (at least 1)."""
    records = max(1, (sealed_size - len(MAGIC)) // RECORD_SIZE)
    low, high = 1, records
    # The fewest data records whose padded count is `records` (counts only grow with size).
    while low < high:
        middle = (low + high) // 2
        if padded_record_count(middle * CHUNK_SIZE) >= records:
            high = middle
        else:
            low = middle + 1
    return (low - 1) * CHUNK_SIZE + 1


@dataclass(frozen=True)
class ReportUsage:
    files: int  # stored files (deleted ones excluded) and uploads in progress
    bytes_at_least: int  # stored files, each at the smallest size its bucket allows


def report_usage(report_id: str, *, exclude_upload: str | None = None) -> ReportUsage:
    stored = db.session.scalars(
        select(EvidenceFile.sealed_size).where(
            EvidenceFile.report_id == report_id,
            EvidenceFile.state != EvidenceState.DELETED.value,
        )
    ).all()
    uploads = select(func.count()).where(EvidenceUpload.report_id == report_id)
    if exclude_upload is not None:
        uploads = uploads.where(EvidenceUpload.id != exclude_upload)
    pending = int(db.session.scalar(uploads) or 0)
    return ReportUsage(
        files=len(stored) + pending,
        bytes_at_least=sum(smallest_size_for(size) for size in stored),
    )


def check_room(
    report_id: str,
    size: int | None,
    *,
    limits: EvidenceLimits | None = None,
    exclude_upload: str | None = None,
    counting_files: bool = True,
) -> None:
    """Raise `EvidenceLimitReached` if one more file of `size` bytes (None: not known yet)
    would not fit the report. `counting_files=False` when the file is already counted (an
    upload being completed)."""
    limits = limits or EvidenceLimits.configured()
    if size is not None and size > limits.max_file_bytes:
        raise EvidenceLimitReached(LimitKind.FILE_SIZE, limits.max_file_bytes)
    usage = report_usage(report_id, exclude_upload=exclude_upload)
    if counting_files and usage.files + 1 > limits.max_files:
        raise EvidenceLimitReached(LimitKind.FILES, limits.max_files)
    if size is not None and usage.bytes_at_least + size > limits.max_report_bytes:
        raise EvidenceLimitReached(LimitKind.REPORT_SIZE, limits.max_report_bytes)
