"""Ed25519 signatures over release manifests."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature

from .errors import BadSignature
from .keys import SigningKey, VerifyKey


def sign(message: bytes, key: SigningKey) -> bytes:
    return key.ed25519().sign(message)


def verify(message: bytes, signature: bytes, key: VerifyKey) -> None:
    try:
        key.ed25519().verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise BadSignature("signature does not match") from exc
