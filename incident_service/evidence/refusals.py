"""Why a file was not taken, in words a reporter understands (every reporter language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.evidence.sniff import RefusalReason

_ACCEPTED = _l(
    "Send a photo (JPEG, PNG, HEIC or WebP), a PDF, or a recording (MP3, M4A, AAC, Ogg, WAV "
    "or MP4)."
)
_POLYGLOT = _l(
    "This file hides another kind of file inside it and cannot be taken. Send the photo, "
    "document or recording on its own."
)
_DAMAGED = _l("The file is damaged or incomplete. Please try to send it again.")

MESSAGES: dict[RefusalReason, object] = {
    RefusalReason.EMPTY: _l("The file is empty."),
    RefusalReason.UNKNOWN_TYPE: _l("This kind of file is not taken."),
    RefusalReason.MALFORMED: _DAMAGED,
    RefusalReason.TRAILING_DATA: _DAMAGED,
    RefusalReason.POLYGLOT_ZIP: _POLYGLOT,
    RefusalReason.POLYGLOT_PDF: _POLYGLOT,
    RefusalReason.POLYGLOT_RAR: _POLYGLOT,
    RefusalReason.POLYGLOT_7Z: _POLYGLOT,
    RefusalReason.POLYGLOT_MARKUP: _POLYGLOT,
    RefusalReason.TOO_LARGE: _l("The file is too large."),
}


def refusal_message(reason: RefusalReason) -> str:
    """The reason in the request's language; an unknown type also says what is taken."""
    message = str(MESSAGES[reason])
    if reason is RefusalReason.UNKNOWN_TYPE:
        return f"{message} {_ACCEPTED}"
    return message
