"""Ed25519 signatures over release manifests."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import BadSignature, CryptoError
from .keys import SigningKey, VerifyKey


def sign(message: bytes, key: SigningKey) -> bytes:
    return key.ed25519().sign(message)


def verify(message: bytes, signature: bytes, key: VerifyKey) -> None:
    try:
        key.ed25519().verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise BadSignature("signature does not match") from exc


def verify_key_pem(key: VerifyKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), the form OpenSSL and most tools read."""
    return (
        key.ed25519()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def verify_key_from_pem(text: str | bytes) -> VerifyKey:
    data = text.encode("ascii") if isinstance(text, str) else text
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise CryptoError("not a PEM public key") from exc
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise CryptoError("not an Ed25519 public key")
    return VerifyKey(
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
