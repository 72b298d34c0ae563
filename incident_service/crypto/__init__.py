"""The only place that touches cryptographic primitives: sealing, opening, wrapping, signing."""

from .envelopes import open_envelope, recipients_of, replace_recipient, seal
from .errors import (
    BadSignature,
    CryptoError,
    DecryptionFailed,
    MalformedCiphertext,
    NoMatchingRecipient,
    UnknownSuite,
    WrongPassphrase,
)
from .fingerprints import fingerprint_matches, key_fingerprint
from .keys import (
    RecipientPrivateKey,
    RecipientPublicKey,
    SigningKey,
    SuiteId,
    SymmetricKey,
    VerifyKey,
)

__all__ = [
    "BadSignature",
    "CryptoError",
    "DecryptionFailed",
    "MalformedCiphertext",
    "NoMatchingRecipient",
    "RecipientPrivateKey",
    "RecipientPublicKey",
    "SigningKey",
    "SuiteId",
    "SymmetricKey",
    "UnknownSuite",
    "VerifyKey",
    "WrongPassphrase",
    "fingerprint_matches",
    "key_fingerprint",
    "open_envelope",
    "recipients_of",
    "replace_recipient",
    "seal",
]
