"""Named failures of the crypto layer; callers turn them into user-facing messages at the edge."""


class CryptoError(Exception):
    """Base class: something about keys or ciphertext is wrong. Never carries plaintext."""


class MalformedCiphertext(CryptoError):
    """The bytes are not an envelope this code wrote (truncated, wrong magic, bad lengths)."""


class DecryptionFailed(CryptoError):
    """Authentication failed: wrong key, wrong associated data, or tampered bytes."""


class NoMatchingRecipient(CryptoError):
    """The envelope was not sealed to the key that tried to open it."""


class UnknownSuite(CryptoError):
    """A suite id or name this build does not know."""


class WrongPassphrase(CryptoError):
    """A passphrase or recovery key did not unlock the wrapped secret."""


class BadSignature(CryptoError):
    """An Ed25519 signature did not verify."""
