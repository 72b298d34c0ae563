"""Keyed tags: HMAC-SHA256 under a process-held key, for links that only that process can follow,
and daily keys derived from a long-lived one.

The withdrawal tag of a statistical record is `keyed_tag(withdrawal_key, "withdrawal", report
id)`. Without the worker's withdrawal key, a tag cannot be computed from a report id, so a
database dump alone cannot join records to reports.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .keys import SymmetricKey

TAG_LENGTH = 32


def keyed_tag(key: SymmetricKey, *, purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256 of `message`, domain-separated by `purpose` (so one key never serves two
    uses with colliding inputs)."""
    framed = b"incident-service/tag|" + purpose.encode("ascii") + b"|" + message
    return hmac.new(key.secret, framed, hashlib.sha256).digest()


def keyed_tagger(key: SymmetricKey, *, purpose: str) -> Callable[[bytes], bytes]:
    """`keyed_tag` for many messages under one key and purpose: the HMAC is keyed and fed the
    framing once, then copied per message (the anonymiser tags 500 reports a chunk)."""
    keyed = hmac.new(
        key.secret, b"incident-service/tag|" + purpose.encode("ascii") + b"|", "sha256"
    )

    def tag(message: bytes) -> bytes:
        mac = keyed.copy()
        mac.update(message)
        return mac.digest()

    return tag


def derive_daily_key(key: SymmetricKey, *, purpose: str, day: str) -> SymmetricKey:
    """HKDF-SHA256 of `key` for one purpose and one day ("2026-12-03").

    Yesterday's derived key cannot be computed from today's, and none of them is ever stored:
    whoever holds only what a derived key produced (rate-limit counters in Redis, say) cannot
    test a guess against them without the key file.
    """
    info = b"incident-service/daily|" + purpose.encode("ascii") + b"|" + day.encode("ascii")
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key.secret)
    return SymmetricKey(f"{key.name}:{purpose}:{day}", secret)
