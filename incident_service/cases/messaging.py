"""The thread between caseworkers and a reporter, sealed so that only the case team and the
holder of the receipt can read it.

Every message is one envelope sealed to the organisation's team key and to the reporter's
receipt-derived key, bound to its report, its author (reporter, or which caseworker) and the day
it was sent (`bindings.report_message`; older messages are bound to the report only). Without
the receipt, a reply is unreadable at rest even to someone holding the whole database, and
someone able to edit the database cannot make it pass for another author's or another day's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from incident_service.auth.teams import team_public_key
from incident_service.constants import MessageAuthor
from incident_service.crypto import RecipientPrivateKey, RecipientPublicKey, SuiteId, bindings
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.crypto.receipts import derive_reporter_key
from incident_service.models import Message, Organisation, Report, db, today

MAX_MESSAGE_LENGTH = 5000


class EmptyMessage(ValueError):
    """Nothing to send."""


class MessageTooLong(ValueError):
    """More than `MAX_MESSAGE_LENGTH` characters."""


@dataclass(frozen=True)
class ThreadMessage:
    id: int
    author: MessageAuthor
    sent_on: str
    text: str


def reporter_public_key(report: Report) -> RecipientPublicKey:
    return RecipientPublicKey.from_bytes(report.reporter_public_key)


def reporter_private_key(report: Report, receipt: str) -> RecipientPrivateKey:
    """Re-derive the reporter's key pair from the receipt (the caller has checked it)."""
    suite = SuiteId.from_number(report.reporter_public_key[0])
    return derive_reporter_key(receipt, report.reporter_salt, suite)


def _check_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    if not text.strip():
        raise EmptyMessage("empty message")
    if len(text) > limit:
        raise MessageTooLong(f"at most {limit} characters")
    return text


def post_message(
    report: Report,
    *,
    author: MessageAuthor,
    text: str,
    author_user_id: int | None = None,
    limit: int = MAX_MESSAGE_LENGTH,
    details: dict[str, object] | None = None,
) -> Message:
    """Seal and add a message to the report's thread (no commit).

    `details` (details added after sending, as codes) is sealed in the same envelope beside the
    text; `limit` is raised only for those, whose narrative may be as long as the form's."""
    organisation = db.session.get(Organisation, report.organisation_id)
    assert organisation is not None
    document: dict[str, object] = {"text": _check_text(text, limit)}
    if details is not None:
        document["details"] = details
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    message = Message(
        report_id=report.id,
        author=author.value,
        author_user_id=author_user_id,
        sent_on=today(),
        read=False,
        binding_version=bindings.MESSAGE_BINDING_AUTHOR_AND_DAY,
    )
    message.sealed = seal(
        body,
        context=message_context(message),
        recipients=[team_public_key(organisation), reporter_public_key(report)],
    )
    db.session.add(message)
    if author is MessageAuthor.REPORTER:
        report.unread_for_caseworkers = (report.unread_for_caseworkers or 0) + 1
    return message


def message_context(message: Message) -> bytes:
    """The context a message was sealed under, from its own row."""
    return bindings.report_message(
        message.report_id,
        version=message.binding_version,
        author=message.author,
        author_user_id=message.author_user_id,
        sent_on=message.sent_on,
    )


def read_thread(report: Report, *, private_key: RecipientPrivateKey) -> list[ThreadMessage]:
    """Open every message with either the team key or the reporter's derived key."""
    messages = db.session.scalars(
        select(Message).where(Message.report_id == report.id).order_by(Message.id)
    )
    thread = []
    for message in messages:
        body = open_envelope(
            message.sealed, context=message_context(message), private_key=private_key
        )
        thread.append(
            ThreadMessage(
                id=message.id,
                author=MessageAuthor(message.author),
                sent_on=message.sent_on.isoformat(),
                text=str(json.loads(body)["text"]),
            )
        )
    return thread
