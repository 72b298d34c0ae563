"""What a receipt holder can do: see status and thread, write, withdraw, ask for deletion.

The receipt is the reporter's only credential. It is checked by looking up its keyed hash; a
text that is not a receipt and a receipt that matches nothing raise the same exception, so the
edges can give one answer for both. Functions here change the session but never commit: the
web page or the API handler commits, then enqueues (thin edges).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from incident_service import audit
from incident_service.cases.messaging import (
    MAX_MESSAGE_LENGTH,
    ThreadMessage,
    post_message,
    read_thread,
    reporter_private_key,
)
from incident_service.constants import MessageAuthor, ReportStatus
from incident_service.crypto import bindings
from incident_service.crypto.envelopes import open_envelope
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.receipts import (
    InvalidReceiptFormat,
    normalise_receipt,
    receipt_lookup_hash,
)
from incident_service.i18n import LANGUAGES
from incident_service.intake.limits import count_receipt_use, count_reporter_message
from incident_service.keystore import current_keyring
from incident_service.models import AuditEntry, Report, db

# A receipt is at most 20 digits plus separators; anything much longer is not one, and is not
# worth normalising.
MAX_RECEIPT_INPUT = 64

# What each status means, in words a reporter understands. Spam is shown as closed: a genuine
# reporter whose report was misjudged gets a neutral answer, not an accusation.
STATUS_WORDS: dict[ReportStatus, object] = {
    ReportStatus.NEW: _l("Your report has arrived. Nobody has read it yet."),
    ReportStatus.TRIAGED: _l("A caseworker has read your report."),
    ReportStatus.IN_PROGRESS: _l("A caseworker is working on your report."),
    ReportStatus.REFERRED: _l(
        "Your report has been passed on to a lawyer or another organisation that can help."
    ),
    ReportStatus.CLOSED: _l("Work on your report has finished."),
    ReportStatus.SPAM: _l("Work on your report has finished."),
    ReportStatus.DUPLICATE: _l(
        "Your report has been joined with another report about the same event."
    ),
}


# A caseworker has read a report once its opening (or an export of it) is in the audit trail:
# entries that exist anyway, dated to the day only, and that say nothing of the content. A new
# report is then "read", although its status stays "new" until a caseworker moves it on.
READ_ACTIONS = ("report.open", "report.export")


class ReceiptNotRecognised(Exception):
    """Not a receipt, or no report has it. Deliberately one exception for both."""


@dataclass(frozen=True)
class ReporterAccess:
    """A report opened with its receipt. Never log or store the receipt held here."""

    report: Report
    receipt: str

    def __repr__(self) -> str:  # keep the receipt out of tracebacks and debug output
        return f"ReporterAccess(report={self.report.id!r})"


@dataclass(frozen=True)
class ReporterMessage:
    author: str  # "reporter" or "caseworker"; which caseworker is never shown
    sent_on: dt.date
    text: str


@dataclass(frozen=True)
class ReporterView:
    status: ReportStatus
    status_words: str
    received_on: dt.date
    consent_statistics: bool
    deletion_requested: bool
    thread: list[ReporterMessage]


def open_with_receipt(text: str) -> ReporterAccess:
    """Find the report a typed receipt belongs to, or raise `ReceiptNotRecognised`."""
    if not isinstance(text, str) or len(text) > MAX_RECEIPT_INPUT:
        raise ReceiptNotRecognised()
    try:
        receipt = normalise_receipt(text)
    except InvalidReceiptFormat:
        raise ReceiptNotRecognised() from None
    lookup = receipt_lookup_hash(receipt, current_keyring().require_pepper())
    report = db.session.scalar(select(Report).where(Report.receipt_hash == lookup))
    if report is None:
        raise ReceiptNotRecognised()
    count_receipt_use(lookup)
    return ReporterAccess(report=report, receipt=receipt)


def status_words(status: ReportStatus, *, read: bool = False) -> str:
    if status is ReportStatus.NEW and read:
        return str(STATUS_WORDS[ReportStatus.TRIAGED])
    return str(STATUS_WORDS[status])


def has_been_read(report: Report) -> bool:
    """True once a caseworker has opened (or exported) the report."""
    first = db.session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.object_type == "report",
            AuditEntry.object_id == report.id,
            AuditEntry.action.in_(READ_ACTIONS),
        )
        .limit(1)
    )
    return first is not None


def written_in(access: ReporterAccess) -> str | None:
    """The language the report was written in, opened with the key derived from the receipt
    (None for reports filed before it was kept, or if it does not open)."""
    sealed = access.report.reporter_language
    if sealed is None:
        return None
    try:
        document = json.loads(
            open_envelope(
                sealed,
                context=bindings.reporter_language(access.report.id),
                private_key=reporter_private_key(access.report, access.receipt),
            )
        )
    except (CryptoError, ValueError):
        return None
    language = document.get("language") if isinstance(document, dict) else None
    return language if language in LANGUAGES else None


def reporter_view(access: ReporterAccess) -> ReporterView:
    """The status and the whole thread, opened with the key derived from the receipt."""
    report = access.report
    status = ReportStatus(report.status)
    thread = read_thread(report, private_key=reporter_private_key(report, access.receipt))
    return ReporterView(
        status=status,
        # Only a new report needs the question asked: every later status implies a reader.
        status_words=status_words(
            status, read=status is ReportStatus.NEW and has_been_read(report)
        ),
        received_on=report.received_on,
        consent_statistics=report.consent_statistics,
        deletion_requested=report.deletion_requested,
        thread=[_for_reporter(message) for message in thread],
    )


def _for_reporter(message: ThreadMessage) -> ReporterMessage:
    return ReporterMessage(
        author=message.author.value,
        sent_on=dt.date.fromisoformat(message.sent_on),
        text=message.text,
    )


def send_reporter_message(access: ReporterAccess, *, text: str) -> None:
    """An answer to a caseworker or more information about the report (no commit).

    Raises `messaging.EmptyMessage` or `messaging.MessageTooLong`, or `TooManyRequests` once
    the receipt has posted `REPORTER_MESSAGE_LIMIT` messages today (the message is then not
    committed).
    """
    post_reporter_message(access.report, text=text)


def post_reporter_message(
    report: Report,
    *,
    text: str,
    limit: int = MAX_MESSAGE_LENGTH,
    details: dict[str, object] | None = None,
) -> None:
    """A message from the reporter: from the status page (with the receipt), or a step of
    "add details" right after the report was sent (the browser's session names the report;
    intake.details). The message is sealed to the report's stored reporter key, so writing it
    needs no receipt; reading it back does. No commit; limits as `send_reporter_message`."""
    message = post_message(
        report, author=MessageAuthor.REPORTER, text=text, limit=limit, details=details
    )
    count_reporter_message(report.id)
    db.session.flush()
    # Like a caseworker's message: the entry names the report and the message, never the text;
    # it joins the audit chain once the day is over (see `audit.record_reporter_action`).
    audit.record_reporter_action(
        "reporter.message", report_id=report.id, detail={"message": message.id}
    )


def withdraw_statistics_consent(access: ReporterAccess) -> bool:
    """Stop counting this report in statistics (no commit). True if consent was given until now.

    The caller enqueues `dispatch.TASK_PIPELINE_WITHDRAW` after committing; the worker removes
    the statistical record or the waiting pool entry, whichever exists.
    """
    report = access.report
    if not report.consent_statistics:
        return False
    report.consent_statistics = False
    audit.record_reporter_action("reporter.consent_withdrawn", report_id=report.id)
    return True


def request_deletion(access: ReporterAccess) -> bool:
    """Ask the case team to delete the report (no commit). True if this is a new request."""
    report = access.report
    if report.deletion_requested:
        return False
    report.deletion_requested = True
    audit.record_reporter_action("reporter.deletion_requested", report_id=report.id)
    return True
