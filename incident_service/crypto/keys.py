"""Key types: HPKE recipient key pairs (hybrid post-quantum by default) and Ed25519 signing keys.

Key material never travels as bare bytes: every key knows its suite and its key id, so a
ciphertext can record which key and which algorithms sealed it and stay readable after a change
of default suite.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from .errors import MalformedCiphertext, UnknownSuite

KEY_ID_LENGTH = 8
MLKEM768_SEED_LENGTH = 64
MLKEM768_PUBLIC_LENGTH = 1184
X25519_LENGTH = 32


class SuiteId(enum.IntEnum):
    """HPKE suites this service can seal with. The numbers are stored in every ciphertext."""

    MLKEM768_X25519 = 1  # ML-KEM-768 + X25519 hybrid KEM, HKDF-SHA256, AES-256-GCM
    X25519 = 2  # DHKEM(X25519), HKDF-SHA256, AES-256-GCM

    @classmethod
    def from_name(cls, name: str) -> SuiteId:
        names = {"mlkem768-x25519": cls.MLKEM768_X25519, "x25519": cls.X25519}
        try:
            return names[name]
        except KeyError:
            raise UnknownSuite(f"unknown HPKE suite {name!r}; use one of {sorted(names)}") from None

    @classmethod
    def from_number(cls, number: int) -> SuiteId:
        try:
            return cls(number)
        except ValueError:
            raise UnknownSuite(f"unknown HPKE suite number {number}") from None

    @property
    def label(self) -> str:
        return {SuiteId.MLKEM768_X25519: "mlkem768-x25519", SuiteId.X25519: "x25519"}[self]

    def hpke_suite(self) -> hpke.Suite:
        kem = hpke.KEM.MLKEM768_X25519 if self is SuiteId.MLKEM768_X25519 else hpke.KEM.X25519
        return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def compute_key_id(suite: SuiteId, public_bytes: bytes) -> bytes:
    return hashlib.sha256(bytes([suite]) + public_bytes).digest()[:KEY_ID_LENGTH]


@dataclass(frozen=True)
class RecipientPublicKey:
    """A public key that content keys can be sealed to."""

    suite: SuiteId
    public_bytes: bytes

    @property
    def key_id(self) -> bytes:
        return compute_key_id(self.suite, self.public_bytes)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.suite.label, self.public_bytes)

    def hpke_key(self) -> hpke.MLKEM768X25519PublicKey | x25519.X25519PublicKey:
        if self.suite is SuiteId.MLKEM768_X25519:
            expected = MLKEM768_PUBLIC_LENGTH + X25519_LENGTH
            if len(self.public_bytes) != expected:
                raise MalformedCiphertext("hybrid public key has the wrong length")
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(
                    self.public_bytes[:MLKEM768_PUBLIC_LENGTH]
                ),
                x25519.X25519PublicKey.from_public_bytes(
                    self.public_bytes[MLKEM768_PUBLIC_LENGTH:]
                ),
            )
        return x25519.X25519PublicKey.from_public_bytes(self.public_bytes)

    def to_bytes(self) -> bytes:
        return bytes([self.suite]) + self.public_bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> RecipientPublicKey:
        if len(data) < 2:
            raise MalformedCiphertext("public key too short")
        return cls(SuiteId.from_number(data[0]), bytes(data[1:]))


@dataclass(frozen=True, repr=False)
class RecipientPrivateKey:
    """The private half; `repr` never shows key material, so it cannot end up in a log."""

    suite: SuiteId
    private_bytes: bytes
    public: RecipientPublicKey

    def __repr__(self) -> str:
        return f"RecipientPrivateKey(suite={self.suite.label}, key_id={self.key_id.hex()})"

    @property
    def key_id(self) -> bytes:
        return self.public.key_id

    @classmethod
    def generate(cls, suite: SuiteId) -> RecipientPrivateKey:
        if suite is SuiteId.MLKEM768_X25519:
            seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
            x_raw = _x25519_raw(x25519.X25519PrivateKey.generate())
            return cls.from_private_bytes(suite, seed + x_raw)
        return cls.from_private_bytes(suite, _x25519_raw(x25519.X25519PrivateKey.generate()))

    @classmethod
    def from_private_bytes(cls, suite: SuiteId, private_bytes: bytes) -> RecipientPrivateKey:
        """Rebuild a key pair from its private bytes (ML-KEM seed || X25519 scalar, or scalar).

        Deterministic: the reporter key derived from a receipt relies on this.
        """
        if suite is SuiteId.MLKEM768_X25519:
            if len(private_bytes) != MLKEM768_SEED_LENGTH + X25519_LENGTH:
                raise MalformedCiphertext("hybrid private key has the wrong length")
            kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_bytes[:MLKEM768_SEED_LENGTH])
            x = x25519.X25519PrivateKey.from_private_bytes(private_bytes[MLKEM768_SEED_LENGTH:])
            public = kem.public_key().public_bytes_raw() + _x25519_public_raw(x)
        else:
            if len(private_bytes) != X25519_LENGTH:
                raise MalformedCiphertext("x25519 private key has the wrong length")
            x = x25519.X25519PrivateKey.from_private_bytes(private_bytes)
            public = _x25519_public_raw(x)
        return cls(suite, bytes(private_bytes), RecipientPublicKey(suite, public))

    def hpke_key(self) -> hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey:
        return self._hpke_key

    @functools.cached_property
    def _hpke_key(self) -> hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey:
        # Expanding an ML-KEM seed costs about as much as a decapsulation; a caseworker's queue
        # opens 50 envelopes with one team key per page, so the expanded key is kept with it.
        if self.suite is SuiteId.MLKEM768_X25519:
            return hpke.MLKEM768X25519PrivateKey(
                mlkem.MLKEM768PrivateKey.from_seed_bytes(self.private_bytes[:MLKEM768_SEED_LENGTH]),
                x25519.X25519PrivateKey.from_private_bytes(
                    self.private_bytes[MLKEM768_SEED_LENGTH:]
                ),
            )
        return x25519.X25519PrivateKey.from_private_bytes(self.private_bytes)

    def to_bytes(self) -> bytes:
        return bytes([self.suite]) + self.private_bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> RecipientPrivateKey:
        if len(data) < 2:
            raise MalformedCiphertext("private key too short")
        return cls.from_private_bytes(SuiteId.from_number(data[0]), bytes(data[1:]))


@dataclass(frozen=True)
class VerifyKey:
    """Ed25519 public key that officials use to check a release manifest."""

    public_bytes: bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(b"ed25519" + self.public_bytes).digest()[:KEY_ID_LENGTH]

    @property
    def fingerprint(self) -> str:
        return fingerprint("ed25519", self.public_bytes)

    def ed25519(self) -> ed25519.Ed25519PublicKey:
        return ed25519.Ed25519PublicKey.from_public_bytes(self.public_bytes)


@dataclass(frozen=True, repr=False)
class SigningKey:
    private_bytes: bytes

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.verify_key.key_id.hex()})"

    @classmethod
    def generate(cls) -> SigningKey:
        raw = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(raw)

    def ed25519(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.private_bytes)

    @property
    def verify_key(self) -> VerifyKey:
        public = self.ed25519().public_key()
        return VerifyKey(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )


@dataclass(frozen=True, repr=False)
class SymmetricKey:
    """A 32-byte secret used as an HMAC or AES key (receipt pepper, withdrawal tags, ...)."""

    name: str
    secret: bytes

    def __repr__(self) -> str:
        return f"SymmetricKey(name={self.name!r})"


def fingerprint(kind: str, public_bytes: bytes) -> str:
    digest = hashlib.sha256(public_bytes).hexdigest()[:32].upper()
    groups = " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))
    return f"{kind} {groups}"


def _x25519_raw(key: x25519.X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _x25519_public_raw(key: x25519.X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
