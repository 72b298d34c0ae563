"""A resumable upload's state between requests, sealed under a key only the URL's holder has.

The upload's URL carries a random 32-byte secret that the service never stores. The state (the
file's content key, how much has arrived, the last unfinished chunk in plaintext) is sealed with
AES-256-GCM under HKDF-SHA256(secret, upload id): a database dump taken mid-upload shows no key,
no size and no byte of the file, and a wrong secret opens nothing.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import DecryptionFailed, MalformedCiphertext

SECRET_LENGTH = 32
NONCE_LENGTH = 12
_VERSION = b"\x01"
_INFO = b"incident-service/v1/upload-state-key|"


@dataclass(frozen=True, repr=False)
class UploadSecret:
    """The secret half of an upload URL: whoever holds it may continue the upload."""

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != SECRET_LENGTH:
            raise MalformedCiphertext("an upload secret has 32 bytes")

    def __repr__(self) -> str:
        return "UploadSecret(…)"

    @classmethod
    def generate(cls) -> UploadSecret:
        return cls(secrets.token_bytes(SECRET_LENGTH))


def _state_key(secret: UploadSecret, context: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + context)
    return AESGCM(derived.derive(secret.value))


def seal_upload_state(state: bytes, *, secret: UploadSecret, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_LENGTH)
    return _VERSION + nonce + _state_key(secret, context).encrypt(nonce, state, context)


def open_upload_state(sealed: bytes, *, secret: UploadSecret, context: bytes) -> bytes:
    """The state, or `DecryptionFailed` for a wrong secret, another upload's state or a change."""
    if len(sealed) < 1 + NONCE_LENGTH + 16 or sealed[:1] != _VERSION:
        raise MalformedCiphertext("not an upload state")
    nonce, body = sealed[1 : 1 + NONCE_LENGTH], sealed[1 + NONCE_LENGTH :]
    try:
        return _state_key(secret, context).decrypt(nonce, body, context)
    except InvalidTag:
        raise DecryptionFailed("the upload state does not open with this secret") from None
