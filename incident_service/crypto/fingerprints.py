"""Key fingerprints that people read aloud and type: 16 digits in four groups, like a safety number.

A new staff member sees the fingerprint of the key pair made at their own first login; the
supervisor types what they read out before the team key is sealed to that key. Whoever set up
an account with someone else's one-time password holds a different key, so the fingerprint the
real person reads cannot match it. Digits need no alphabet, read the same in Russian, Tajik or
English, and are hard to mishear; 16 of them carry 53 bits, far more than a guess can hit.
"""

from __future__ import annotations

import hashlib
import hmac

from .keys import RecipientPublicKey

FINGERPRINT_DIGITS = 16
GROUP = 4
_DOMAIN = b"incident-service/staff-key-fingerprint/v1|"
_ASCII_DIGITS = frozenset("0123456789")
# What people put between groups when they type or paste a number.
_SEPARATORS = frozenset(" -.\u00a0\t")


def key_fingerprint(public: RecipientPublicKey) -> str:
    """'1234 5678 9012 3456': SHA-256 of the suite and public key, reduced to 16 digits."""
    digest = hashlib.sha256(_DOMAIN + public.to_bytes()).digest()
    # 128 bits reduced modulo 10^16: the bias is below 2^-74, nothing anyone could use.
    number = int.from_bytes(digest[:16], "big") % 10**FINGERPRINT_DIGITS
    text = str(number).zfill(FINGERPRINT_DIGITS)
    return " ".join(text[i : i + GROUP] for i in range(0, FINGERPRINT_DIGITS, GROUP))


def typed_fingerprint_digits(typed: str) -> str | None:
    """The 16 ASCII digits of a typed fingerprint (spaces and dashes dropped), or None when the
    text is anything else: a letter, a digit of another script, too few or too many."""
    kept = [ch for ch in typed if ch not in _SEPARATORS]
    if len(kept) != FINGERPRINT_DIGITS or not all(ch in _ASCII_DIGITS for ch in kept):
        return None
    return "".join(kept)


def fingerprint_matches(public: RecipientPublicKey, typed: str) -> bool:
    """Does `typed` name this key? Compared in constant time."""
    digits = typed_fingerprint_digits(typed)
    if digits is None:
        return False
    expected = key_fingerprint(public).replace(" ", "")
    return hmac.compare_digest(digits.encode("ascii"), expected.encode("ascii"))
