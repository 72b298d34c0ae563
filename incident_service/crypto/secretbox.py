"""Small secrets kept under a symmetric key the server or a session holds (AES-256-GCM).

Two uses: a staff member's TOTP secret, sealed under the web's `totp.key` so that a database dump
alone cannot mint login codes; and the private keys a caseworker unlocked for one session, sealed
under a random key that lives only in that session's cookie, so that neither the session row nor
the cookie alone opens anything.

Format: ``b"ISB1" || nonce (12) || AES-256-GCM(ciphertext || tag)``; the caller's context (e.g.
``user/7/totp``) is bound as associated data, so a blob moved to another row fails to open.
"""

from __future__ import annotations

import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionFailed, MalformedCiphertext
from .keys import SymmetricKey

MAGIC = b"ISB1"
NONCE_LENGTH = 12
KEY_LENGTH = 32
TAG_LENGTH = 16
DOMAIN = b"incident-service/v1/secretbox|"


def new_symmetric_key(name: str) -> SymmetricKey:
    """A fresh random 256-bit key (a session's unlock key, for example)."""
    return SymmetricKey(name, secrets.token_bytes(KEY_LENGTH))


def _aead(key: SymmetricKey) -> AESGCM:
    if len(key.secret) != KEY_LENGTH:
        raise MalformedCiphertext(f"key {key.name!r} must be {KEY_LENGTH} bytes")
    return AESGCM(key.secret)


def seal_with_key(plaintext: bytes, *, key: SymmetricKey, context: bytes) -> bytes:
    """Encrypt and authenticate `plaintext` under `key`, bound to `context`."""
    nonce = os.urandom(NONCE_LENGTH)
    return MAGIC + nonce + _aead(key).encrypt(nonce, plaintext, DOMAIN + context)


def open_with_key(sealed: bytes, *, key: SymmetricKey, context: bytes) -> bytes:
    """Decrypt a blob from `seal_with_key`; raise a `CryptoError` on any fault."""
    if len(sealed) < len(MAGIC) + NONCE_LENGTH + TAG_LENGTH or sealed[: len(MAGIC)] != MAGIC:
        raise MalformedCiphertext("not a sealed secret (bad magic or too short)")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE_LENGTH]
    body = sealed[len(MAGIC) + NONCE_LENGTH :]
    try:
        return _aead(key).decrypt(nonce, body, DOMAIN + context)
    except InvalidTag as exc:
        raise DecryptionFailed("sealed secret failed authentication") from exc
