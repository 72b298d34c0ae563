"""What each sealed blob is bound to: the associated data (HPKE `info` and AEAD context) of every
envelope, and the keyed tags, built in one place.

A blob sealed under one binding never opens under another, so a section copied to another
report, a note moved to another case or a grant handed to another user fails loudly. Changing
any string here makes every stored blob of that kind unreadable: these are a storage format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .errors import MalformedCiphertext
from .keys import SymmetricKey
from .tags import keyed_tag, keyed_tagger

WITHDRAWAL_TAG_PURPOSE = "withdrawal"

# How a message's context was built, stored with each message (`messages.binding_version`), so
# that messages sealed before a change stay readable. Version 0 bound the report only: someone
# able to edit the database could turn a caseworker's reply into the reporter's own words, give
# it to another caseworker or move it to another day, and it still opened. Version 1 binds who
# wrote it and the day it was sent as well.
MESSAGE_BINDING_REPORT_ONLY = 0
MESSAGE_BINDING_AUTHOR_AND_DAY = 1


def report_section(report_id: str, section: str) -> bytes:
    """A report's `statistical` or `private` section."""
    return f"report/{report_id}/{section}".encode()


def report_message(
    report_id: str,
    *,
    version: int,
    author: str,
    author_user_id: int | None,
    sent_on: dt.date,
) -> bytes:
    """A message in a report's thread (caseworker or reporter), as its `version` binds it."""
    if version == MESSAGE_BINDING_REPORT_ONLY:
        return f"report/{report_id}/message".encode()
    if version == MESSAGE_BINDING_AUTHOR_AND_DAY:
        writer = "-" if author_user_id is None else str(author_user_id)
        return f"report/{report_id}/message/v1/{author}/{writer}/{sent_on.isoformat()}".encode()
    raise MalformedCiphertext(f"unknown message binding version {version}")


def case_note(report_id: str) -> bytes:
    return f"report/{report_id}/note".encode()


def case_intervention(report_id: str) -> bytes:
    return f"report/{report_id}/intervention".encode()


def event(event_id: str) -> bytes:
    return f"event/{event_id}".encode()


def event_act(event_id: str, act_id: str) -> bytes:
    return f"event/{event_id}/act/{act_id}".encode()


def user_totp(user_id: int) -> bytes:
    return f"user/{user_id}/totp".encode()


def user_private_key(user_id: int) -> bytes:
    return f"user/{user_id}/private-key".encode()


def staff_session(session_id: str) -> bytes:
    return f"staff-session/{session_id}".encode()


def handoff_record(browser_id: str, kind: str) -> bytes:
    """A reporter's short-lived page record (`intake.handoff`), for one browser and kind."""
    return f"handoff/{browser_id}/{kind}".encode()


def team_key_grant(team_key_id: str, user_id: int) -> bytes:
    return f"team-key/{team_key_id}/user/{user_id}".encode()


def withdrawal_tag(key: SymmetricKey, report_id: str) -> bytes:
    """The only link from a statistical record back to its report: HMAC under the worker-held
    withdrawal key, so a database dump alone cannot join records to reports."""
    return keyed_tag(key, purpose=WITHDRAWAL_TAG_PURPOSE, message=report_id.encode("ascii"))


def withdrawal_tagger(key: SymmetricKey) -> Callable[[str], bytes]:
    """`withdrawal_tag` under one key for many report ids (the same tags, keyed once)."""
    tag = keyed_tagger(key, purpose=WITHDRAWAL_TAG_PURPOSE)
    return lambda report_id: tag(report_id.encode("ascii"))


def reporter_language(report_id: str) -> bytes:
    """The language a report was written in, sealed to the reporter's derived key only."""
    return f"report/{report_id}/reporter-language".encode()


def report_priority(report_id: str) -> bytes:
    """A caseworker's choice of priority for a report (sealed to the team key only)."""
    return f"report/{report_id}/priority".encode()


def evidence_content_key(report_id: str, file_id: str) -> bytes:
    """The envelope holding an evidence file's content key (sealed to the team key only)."""
    return f"report/{report_id}/evidence/{file_id}/content-key".encode()


def evidence_metadata(report_id: str, file_id: str) -> bytes:
    """An evidence file's sealed metadata: salt, SHA-256, type, original name, day received."""
    return f"report/{report_id}/evidence/{file_id}/metadata".encode()


def evidence_reporter_summary(report_id: str, file_id: str) -> bytes:
    """Name, size, type and fingerprint of a file, sealed for the reporter's status page."""
    return f"report/{report_id}/evidence/{file_id}/reporter-summary".encode()


def evidence_removed_metadata(report_id: str, file_id: str) -> bytes:
    """The metadata the clean copy left out (names and values) and the copy's type."""
    return f"report/{report_id}/evidence/{file_id}/removed-metadata".encode()


def evidence_upload_state(upload_id: str) -> bytes:
    """A resumable upload's state between requests, under the upload URL's secret."""
    return f"evidence-upload/{upload_id}/state".encode()


def evidence_stream(report_id: str, file_id: str, copy: str) -> bytes:
    """The chunks of one copy (`original` or `working`) of an evidence file.

    Bound into every chunk's associated data, so a chunk moved to another file, another report
    or the other copy of the same file fails authentication.
    """
    return f"report/{report_id}/evidence/{file_id}/{copy}".encode()


def evidence_tree_head(tree_size: int, root_hash: bytes, signed_on: str) -> bytes:
    """The bytes an evidence log tree head signature covers (size, root, day signed)."""
    return b"incident-service/v1/evidence-tree-head|" + (
        tree_size.to_bytes(8, "big") + root_hash + b"|" + signed_on.encode("ascii")
    )


def form_upload_spool() -> bytes:
    """A file posted with a form, spooled under a key that lives only in that request."""
    return b"form-upload/spool"
