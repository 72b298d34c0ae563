"""Evidence for the reporter's pages: attach files from a form, attach more with the receipt,
and list a report's files (name, size, type, short fingerprint).

The pages stay thin: they hand over the uploaded `FileStorage` objects and show what comes back.
Each file streams through `evidence.intake.receive_file` (judged, hashed and sealed as it
arrives; nothing unsealed touches disk) and is committed on its own, so a refused or failed file
never costs the report or the files before it. After a call that attached anything, the page
sends `dispatch.TASK_EVIDENCE_CLEAN` (the evidence worker makes the clean copies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from incident_service.auth.teams import team_public_key
from incident_service.cases.messaging import reporter_private_key
from incident_service.constants import EvidenceState
from incident_service.crypto import RecipientPublicKey, bindings
from incident_service.crypto.envelopes import open_envelope
from incident_service.crypto.errors import CryptoError
from incident_service.evidence.intake import ReceivedFile, ReporterSummary, receive_file
from incident_service.evidence.limits import (
    EvidenceLimitReached,
    EvidenceLimits,
    LimitKind,
    report_usage,
)
from incident_service.evidence.refusals import refusal_message
from incident_service.evidence.sniff import ContentRefused, RefusalReason
from incident_service.evidence.store import current_store
from incident_service.intake.reporter_access import ReporterAccess
from incident_service.models import EvidenceFile, Organisation, Report, db

READ_BLOCK = 256 * 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class FileListing:
    """One file as the reporter sees it (receipt page, status page, API status)."""

    file_id: str
    name: str | None
    size: int
    media_type: str
    kind: str  # image, document, audio or video: what a page calls it
    fingerprint: str  # first 64 bits of the SHA-256, "3F2A 9C01 B7D4 E880"
    received_on: dt.date

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "size": self.size,
            "type": self.media_type,
            "fingerprint": self.fingerprint,
            "received_on": self.received_on.isoformat(),
        }


@dataclass(frozen=True)
class RefusedFile:
    """A file that was not taken, and why, in the reporter's language."""

    name: str | None
    reason: str  # a `RefusalReason` or a `LimitKind` value
    message: str


@dataclass
class AttachOutcome:
    """What became of each file handed over, in order; the report is kept either way."""

    attached: list[FileListing] = field(default_factory=list)
    refused: list[RefusedFile] = field(default_factory=list)


def attach_to_new_report(report_id: str, files: Iterable[FileStorage]) -> AttachOutcome:
    """Files sent with the report form, right after `submit_report` returned `report_id`.
    Commits after each file; empty file fields are skipped."""
    return _attach(db.session.get_one(Report, report_id), files)


def attach_with_receipt(access: ReporterAccess, files: Iterable[FileStorage]) -> AttachOutcome:
    """ "Add evidence" on the status page: more files for the report the receipt opened.
    Commits after each file; the custody entry joins the audit chain once the day is over."""
    return _attach(access.report, files)


def list_reporter_files(access: ReporterAccess) -> list[FileListing]:
    """The report's files for the status page, opened with the key derived from the receipt:
    by day received, then by name (file ids are random and no finer time is kept, so the day
    is the only order there is). Files whose summary cannot be opened (sent before this
    existed) are left out."""
    key = reporter_private_key(access.report, access.receipt)
    rows = db.session.scalars(
        select(EvidenceFile)
        .where(
            EvidenceFile.report_id == access.report.id,
            EvidenceFile.state != EvidenceState.DELETED.value,
            EvidenceFile.reporter_summary.is_not(None),
        )
        .order_by(EvidenceFile.received_on, EvidenceFile.id)
    ).all()
    listed: list[tuple[dt.date, FileListing]] = []
    for row in rows:
        assert row.reporter_summary is not None
        try:
            plain = open_envelope(
                row.reporter_summary,
                context=bindings.evidence_reporter_summary(row.report_id, row.id),
                private_key=key,
            )
        except CryptoError:
            continue
        listed.append((row.received_on, _listing(row.id, ReporterSummary.from_bytes(plain))))
    listed.sort(key=lambda pair: (pair[0], pair[1].name or "", pair[1].file_id))
    return [listing for _, listing in listed]


def _listing(file_id: str, summary: ReporterSummary) -> FileListing:
    return FileListing(
        file_id=file_id,
        name=summary.name,
        size=summary.size,
        media_type=summary.kind.media_type,
        kind=summary.kind.kind,
        fingerprint=summary.fingerprint,
        received_on=summary.received_on,
    )


def _blocks(upload: FileStorage) -> Iterator[bytes]:
    while block := upload.stream.read(READ_BLOCK):
        yield block


def limit_message(exc: EvidenceLimitReached) -> str:
    megabytes = max(1, exc.limit // MIB)
    if exc.kind is LimitKind.FILE_SIZE:
        return str(_("A file may be at most %(limit)s MB.", limit=megabytes))
    if exc.kind is LimitKind.FILES:
        return str(_("A report can have at most %(limit)s files.", limit=exc.limit))
    return str(_("The files of one report may add up to at most %(limit)s MB.", limit=megabytes))


def _attach(report: Report, files: Iterable[FileStorage]) -> AttachOutcome:
    outcome = AttachOutcome()
    team_key = team_public_key(db.session.get_one(Organisation, report.organisation_id))
    reporter_key = RecipientPublicKey.from_bytes(report.reporter_public_key)
    limits = EvidenceLimits.configured()
    for upload in files:
        name = upload.filename or None
        try:
            received = _receive_one(report, upload, team_key, reporter_key, limits)
        except ContentRefused as exc:
            db.session.rollback()
            if exc.reason is RefusalReason.EMPTY and not name:
                continue  # a file field left empty: nothing was chosen
            outcome.refused.append(RefusedFile(name, exc.reason.value, refusal_message(exc.reason)))
            continue
        except EvidenceLimitReached as exc:
            db.session.rollback()
            outcome.refused.append(RefusedFile(name, exc.kind.value, limit_message(exc)))
            continue
        try:
            db.session.commit()
        except BaseException:
            db.session.rollback()
            current_store().delete(received.original_object)
            raise
        assert received.received_on is not None
        outcome.attached.append(
            FileListing(
                file_id=received.file_id,
                name=received.name,
                size=received.size,
                media_type=received.kind.media_type,
                kind=received.kind.kind,
                fingerprint=received.fingerprint,
                received_on=received.received_on,
            )
        )
    return outcome


def _receive_one(
    report: Report,
    upload: FileStorage,
    team_key: RecipientPublicKey,
    reporter_key: RecipientPublicKey,
    limits: EvidenceLimits,
) -> ReceivedFile:
    """One file, held to the per-file limit and to what room the report has left (the
    inspector stops reading at that size, so an oversized file is never stored)."""
    usage = report_usage(report.id)
    if usage.files + 1 > limits.max_files:
        raise EvidenceLimitReached(LimitKind.FILES, limits.max_files)
    room = limits.max_report_bytes - usage.bytes_at_least
    if room <= 0:
        raise EvidenceLimitReached(LimitKind.REPORT_SIZE, limits.max_report_bytes)
    cap = min(limits.max_file_bytes, room)
    try:
        return receive_file(
            _blocks(upload),
            report_id=report.id,
            organisation_id=report.organisation_id,
            team_key=team_key,
            reporter_key=reporter_key,
            original_name=upload.filename or None,
            max_bytes=cap,
        )
    except ContentRefused as exc:
        if exc.reason is not RefusalReason.TOO_LARGE:
            raise
        if cap == limits.max_file_bytes:
            raise EvidenceLimitReached(LimitKind.FILE_SIZE, limits.max_file_bytes) from None
        raise EvidenceLimitReached(LimitKind.REPORT_SIZE, limits.max_report_bytes) from None
