"""Secrets wrapped under something a person holds: a passphrase (Argon2id) or a recovery key.

A caseworker's private key is stored wrapped twice: under Argon2id(passphrase, per-user salt)
for daily use and under the recovery key printed once at enrolment. Passwords for logging in are
separate Argon2id hashes (argon2-cffi's PasswordHasher) so that knowing the login password does
not unlock the key, and vice versa.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import MalformedCiphertext, WrongPassphrase

WRAP_MAGIC = b"ISW1"
KIND_ARGON2ID = 1
KIND_RECOVERY = 2
SALT_LENGTH = 16
NONCE_LENGTH = 12
RECOVERY_KEY_BYTES = 20  # 160 bits, shown as 32 base32 characters in groups of four
_HEADER = struct.Struct(">4sBIIB")  # magic, kind, time cost, memory KiB, parallelism
ONE_TIME_PREFIX = "otp1$"
_ONE_TIME_DOMAIN = b"incident-service/one-time-password/v1|"


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 1


def _argon2_key(passphrase: str, salt: bytes, params: Argon2Parameters) -> bytes:
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _recovery_key_bytes(recovery_key: str) -> bytes:
    cleaned = "".join(ch for ch in recovery_key.upper() if ch.isalnum())
    try:
        raw = base64.b32decode(cleaned)
    except (ValueError, TypeError) as exc:
        raise WrongPassphrase("recovery key is not valid") from exc
    if len(raw) != RECOVERY_KEY_BYTES:
        raise WrongPassphrase("recovery key is not valid")
    return raw


def _hkdf_key(secret: bytes, salt: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"incident-service/v1/recovery"
    ).derive(secret)


def new_recovery_key() -> str:
    """A high-entropy recovery key, printable and easy to copy by hand."""
    text = base64.b32encode(secrets.token_bytes(RECOVERY_KEY_BYTES)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def wrap_with_passphrase(
    secret: bytes, passphrase: str, *, context: bytes, params: Argon2Parameters
) -> bytes:
    salt = os.urandom(SALT_LENGTH)
    header = _HEADER.pack(
        WRAP_MAGIC, KIND_ARGON2ID, params.time_cost, params.memory_kib, params.parallelism
    )
    key = _argon2_key(passphrase, salt, params)
    return _wrap(secret, key, header + salt, context)


def wrap_with_recovery_key(secret: bytes, recovery_key: str, *, context: bytes) -> bytes:
    salt = os.urandom(SALT_LENGTH)
    header = _HEADER.pack(WRAP_MAGIC, KIND_RECOVERY, 0, 0, 0)
    key = _hkdf_key(_recovery_key_bytes(recovery_key), salt)
    return _wrap(secret, key, header + salt, context)


def _wrap(secret: bytes, key: bytes, header: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_LENGTH)
    return header + nonce + AESGCM(key).encrypt(nonce, secret, header + context)


def unwrap(wrapped: bytes, secret_text: str, *, context: bytes) -> bytes:
    """Open a wrapped secret with a passphrase or a recovery key (the header says which)."""
    fixed = _HEADER.size + SALT_LENGTH + NONCE_LENGTH
    if len(wrapped) < fixed + 16:
        raise MalformedCiphertext("wrapped secret too short")
    magic, kind, time_cost, memory_kib, parallelism = _HEADER.unpack(wrapped[: _HEADER.size])
    if magic != WRAP_MAGIC:
        raise MalformedCiphertext("not a wrapped secret")
    salt = wrapped[_HEADER.size : _HEADER.size + SALT_LENGTH]
    nonce = wrapped[_HEADER.size + SALT_LENGTH : fixed]
    header = wrapped[: _HEADER.size + SALT_LENGTH]
    if kind == KIND_ARGON2ID:
        params = Argon2Parameters(time_cost, memory_kib, parallelism)
        key = _argon2_key(secret_text, salt, params)
    elif kind == KIND_RECOVERY:
        key = _hkdf_key(_recovery_key_bytes(secret_text), salt)
    else:
        raise MalformedCiphertext("unknown wrapping kind")
    try:
        return AESGCM(key).decrypt(nonce, wrapped[fixed:], header + context)
    except InvalidTag as exc:
        raise WrongPassphrase("passphrase or recovery key did not unlock the key") from exc


def password_hasher(params: Argon2Parameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
    )


def hash_password(password: str, params: Argon2Parameters) -> str:
    return password_hasher(params).hash(password)


def verify_password(stored_hash: str, password: str, params: Argon2Parameters) -> bool:
    try:
        return password_hasher(params).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# One-time passwords are random (16 characters of a 31-letter alphabet, 79 bits), so, like the
# recovery key, they need no memory-hard hash: an HMAC with a random salt is as far out of a
# guesser's reach, and checking one costs nothing, so a first login cannot be used to make the
# server spend Argon2 work.


def one_time_password_digest(one_time_password: str) -> str:
    """What is stored for a one-time password: ``otp1$<salt>$<HMAC-SHA256>`` in hex."""
    salt = os.urandom(SALT_LENGTH)
    mac = hmac.new(salt, _ONE_TIME_DOMAIN + one_time_password.encode("utf-8"), hashlib.sha256)
    return f"{ONE_TIME_PREFIX}{salt.hex()}${mac.hexdigest()}"


def is_one_time_password_digest(stored: str) -> bool:
    return stored.startswith(ONE_TIME_PREFIX)


def one_time_password_matches(stored: str, candidate: str) -> bool:
    """Compare `candidate` with a stored digest in constant time; False for any other format."""
    if not is_one_time_password_digest(stored):
        return False
    try:
        salt_hex, mac_hex = stored[len(ONE_TIME_PREFIX) :].split("$")
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(mac_hex)
    except ValueError:
        return False
    mac = hmac.new(salt, _ONE_TIME_DOMAIN + candidate.encode("utf-8"), hashlib.sha256)
    return hmac.compare_digest(mac.digest(), expected)
