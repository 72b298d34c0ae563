"""Evidence for the reporter's pages: attach files from a form, attach more with the receipt,
and list a report's files (name, size, type, short fingerprint).

The pages stay thin: they hand over the uploaded `FileStorage` objects and show what comes back.
What a page keeps across its redirect (`intake.handoff`) are codes and names, never sentences:
`refusal_text` words a refusal in the language of the page that shows it.
Each file streams through `evidence.intake.receive_file` (judged, hashed and sealed as it
arrives; nothing unsealed touches disk) and is committed on its own, so a refused or failed file
never costs the report or the files before it. After a call that attached anything, the page
sends `dispatch.TASK_EVIDENCE_CLEAN` (the evidence worker makes the clean copies).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
from incident_service.evidence.sniff import ContentRefused, EvidenceType, RefusalReason
from incident_service.evidence.store import current_store
from incident_service.intake.reporter_access import ReporterAccess
from incident_service.models import EvidenceFile, Organisation, Report, db

log = logging.getLogger(__name__)

READ_BLOCK = 256 * 1024
MIB = 1024 * 1024
# The name of the file input on the report form and the status page.
FILE_FIELD = "evidence"
# A file the store or the database failed to keep (the report stands; the reporter may try
# again on the status page).
NOT_SAVED = "not_saved"
# What the file picker offers. Content is judged by sniffing whatever is sent; this only spares
# a reporter choosing a file that would be refused. Extensions too: some phones' pickers know
# HEIC or Opus files by name only.
_EXTENSIONS = [
    ".jpg",
    ".jpeg",
    ".png",
    ".heic",
    ".heif",
    ".webp",
    ".pdf",
    ".mp3",
    ".m4a",
    ".aac",
    ".ogg",
    ".opus",
    ".oga",
    ".wav",
    ".mp4",
]


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
    Commits after each file; empty file fields are skipped. A file the store or the database
    fails to keep is refused as `NOT_SAVED`: the report is filed, and its receipt must reach
    the reporter whatever happens to a file."""
    return _attach_each(report_id, files)


def attach_to_report_just_sent(report_id: str, files: Iterable[FileStorage]) -> AttachOutcome:
    """Files sent with a step of "add details" after the quick report (intake.details): the
    browser that filed the report names it through its session, not with the receipt."""
    return _attach_each(report_id, files)


def attach_with_receipt(access: ReporterAccess, files: Iterable[FileStorage]) -> AttachOutcome:
    """ "Add evidence" on the status page: more files for the report the receipt opened.
    Commits after each file; the custody entry joins the audit chain once the day is over."""
    return _attach_each(access.report.id, files)


def chosen_names(files: Iterable[FileStorage]) -> list[str]:
    """The names of the files a form carried (empty file fields left out): what a page asks
    the reporter to choose again when the files themselves could not be kept."""
    return [upload.filename for upload in files if upload.filename]


def accepted_types() -> str:
    """The file input's `accept` list: the media types taken, and their usual extensions."""
    media_types = sorted({kind.media_type for kind in EvidenceType} | {"image/heif"})
    return ",".join([*media_types, *_EXTENSIONS])


def form_limits() -> dict[str, int]:
    """The limits a form states: files per report, MB per file, MB per report."""
    limits = EvidenceLimits.configured()
    return {
        "files": limits.max_files,
        "file_mb": max(1, limits.max_file_bytes // MIB),
        "report_mb": max(1, limits.max_report_bytes // MIB),
    }


def refusal_text(reason: object) -> str:
    """Why a file was refused, from the code a page kept (`RefusedFile.reason`), in the
    language of the page now shown."""
    if not isinstance(reason, str):
        reason = ""
    if reason in RefusalReason.__members__.values():
        return refusal_message(RefusalReason(reason))
    if reason in LimitKind.__members__.values():
        limits = EvidenceLimits.configured()
        limit = {
            LimitKind.FILE_SIZE: limits.max_file_bytes,
            LimitKind.FILES: limits.max_files,
            LimitKind.REPORT_SIZE: limits.max_report_bytes,
        }[LimitKind(reason)]
        return limit_message(EvidenceLimitReached(LimitKind(reason), limit))
    return str(_("This file could not be saved. Please try again later."))


def receipt_files(kept: object, receipt: str) -> dict[str, Any]:
    """From the receipt page's record (`kept`: per receipt, what `kept_listings` and
    `kept_refusals` made), the files attached with `receipt` and those refused, in words."""
    by_receipt = kept if isinstance(kept, dict) else {}
    entry = by_receipt.get(receipt)
    entry = entry if isinstance(entry, dict) else {}
    attached = entry.get("attached")
    return {
        "attached": [item for item in attached or [] if isinstance(item, dict)],
        "refused": shown_refusals(entry.get("refused")),
    }


def too_large_text() -> str:
    """What a reporter is told when a form with files was larger than any report may be."""
    return str(
        _(
            "What you sent is too large: the files of one report may add up to at most "
            "%(limit)s MB. Nothing has been saved. Please choose fewer or smaller files, or "
            "shorten your text, and try again.",
            limit=form_limits()["report_mb"],
        )
    )


def kept_refusals(refused: Iterable[RefusedFile]) -> list[list[Any]]:
    """Refused files as a page keeps them across its redirect: [name, reason code] pairs."""
    return [[item.name, item.reason] for item in refused]


def shown_refusals(kept: object) -> list[tuple[str, str]]:
    """Kept [name, reason] pairs as (name, reason in words) for the page (bad pairs skipped)."""
    pairs = kept if isinstance(kept, list) else []
    return [
        (str(pair[0] or ""), refusal_text(pair[1]))
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2
    ]


def kept_listings(listings: Iterable[FileListing]) -> list[dict[str, Any]]:
    """Attached files as the receipt page's record keeps them until it is shown."""
    return [
        {
            "name": item.name,
            "size": item.size,
            "kind": item.kind,
            "fingerprint": item.fingerprint,
        }
        for item in listings
    ]


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


def _attach_each(report_id: str, files: Iterable[FileStorage]) -> AttachOutcome:
    """`_attach`, one file at a time, so that a store or database fault costs only the file
    it struck (a file stored but not recorded is removed by `_attach`)."""
    outcome = AttachOutcome()
    for upload in files:
        try:
            one = _attach(db.session.get_one(Report, report_id), [upload])
        except Exception as exc:  # the report is filed; the page must still answer
            db.session.rollback()
            log.warning("an evidence file was not kept (%s)", type(exc).__name__)
            outcome.refused.append(
                RefusedFile(upload.filename or None, NOT_SAVED, refusal_text(NOT_SAVED))
            )
            continue
        outcome.attached.extend(one.attached)
        outcome.refused.extend(one.refused)
    return outcome


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
