"""Receipts: the 20-digit number a reporter keeps instead of an account.

20 random digits carry 66 bits of entropy, look like a phone number and need no alphabet. The
database stores only HMAC(pepper, receipt) for lookup. A reporter key pair is derived from the
receipt and a per-report salt with HKDF-SHA256; a memory-hard KDF is not needed for a secret of
66 random bits, and would turn every submission into a CPU-exhaustion lever.

The receipt itself is derived from the submission token that the reporter's form carries
(HMAC under the pepper). A form pressed twice therefore yields the same receipt page without
the server ever storing the receipt.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .keys import MLKEM768_SEED_LENGTH, X25519_LENGTH, RecipientPrivateKey, SuiteId, SymmetricKey

RECEIPT_DIGITS = 20
REPORTER_SALT_LENGTH = 16


class InvalidReceiptFormat(ValueError):
    """The text typed is not 20 digits (after removing spaces and dashes)."""


def receipt_from_token(token: bytes, pepper: SymmetricKey) -> str:
    """The receipt a submission token maps to; uniform over 10**20 up to a 2**-190 bias."""
    digest = hmac.new(pepper.secret, b"receipt|" + token, hashlib.sha512).digest()
    return str(int.from_bytes(digest, "big") % 10**RECEIPT_DIGITS).zfill(RECEIPT_DIGITS)


def new_submission_token() -> bytes:
    return os.urandom(32)


def normalise_receipt(text: str) -> str:
    """Accept the receipt as people type it: spaces, dashes, dots and non-ASCII digits."""
    digits = []
    for ch in text:
        if ch.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
            digits.append(str(int(ch)))  # maps Arabic-Indic and other digits to 0-9
        elif ch in " -.\u00a0\t\n":
            continue
        else:
            raise InvalidReceiptFormat("receipt contains characters other than digits")
    result = "".join(digits)
    if len(result) != RECEIPT_DIGITS:
        raise InvalidReceiptFormat("receipt must have 20 digits")
    return result


def format_receipt(receipt: str) -> str:
    return " ".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


def receipt_lookup_hash(receipt: str, pepper: SymmetricKey) -> bytes:
    return hmac.new(pepper.secret, b"lookup|" + receipt.encode("ascii"), hashlib.sha256).digest()


def submission_token_hash(token: bytes, pepper: SymmetricKey) -> bytes:
    return hmac.new(pepper.secret, b"token|" + token, hashlib.sha256).digest()


def new_reporter_salt() -> bytes:
    return os.urandom(REPORTER_SALT_LENGTH)


def derive_reporter_key(receipt: str, salt: bytes, suite: SuiteId) -> RecipientPrivateKey:
    length = MLKEM768_SEED_LENGTH + X25519_LENGTH if suite is SuiteId.MLKEM768_X25519 else 32
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=salt,
        info=b"incident-service/v1/reporter-key|" + bytes([suite]),
    ).derive(receipt.encode("ascii"))
    return RecipientPrivateKey.from_private_bytes(suite, material)
