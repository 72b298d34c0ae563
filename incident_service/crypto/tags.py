"""Keyed tags: HMAC-SHA256 under a process-held key, for links that only that process can follow.

The withdrawal tag of a statistical record is `keyed_tag(withdrawal_key, "withdrawal", report
id)`. Without the worker's withdrawal key, a tag cannot be computed from a report id, so a
database dump alone cannot join records to reports.
"""

from __future__ import annotations

import hashlib
import hmac

from .keys import SymmetricKey

TAG_LENGTH = 32


def keyed_tag(key: SymmetricKey, *, purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256 of `message`, domain-separated by `purpose` (so one key never serves two
    uses with colliding inputs)."""
    framed = b"incident-service/tag|" + purpose.encode("ascii") + b"|" + message
    return hmac.new(key.secret, framed, hashlib.sha256).digest()
