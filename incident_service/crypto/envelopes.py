"""Envelopes: data encrypted once under a fresh content key, that key sealed to each recipient.

Wire format (version 1), all integers big-endian:

    b"ISE1"                      magic and version
    nonce                        12 bytes, AES-256-GCM
    recipient count              1 byte (1..16)
    per recipient:
        suite id                 1 byte  (SuiteId)
        key id                   8 bytes (hash of the recipient's public key)
        sealed length            2 bytes
        sealed content key       HPKE single-shot ciphertext of the 32-byte content key
    ciphertext                   AES-256-GCM of the padded plaintext, tag included

The caller's *context* (e.g. ``report/<id>/statistical``) is bound twice: as AES-GCM associated
data and as the HPKE ``info``. Moving a section to another report, or a content key to another
section, therefore fails authentication instead of decrypting to the wrong owner.

Plaintext is padded to a size bucket before encryption so that a ciphertext's length tells an
observer little more than "short", "medium" or "long".
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionFailed, MalformedCiphertext, NoMatchingRecipient, UnknownSuite
from .keys import KEY_ID_LENGTH, RecipientPrivateKey, RecipientPublicKey, SuiteId

MAGIC = b"ISE1"
NONCE_LENGTH = 12
CONTENT_KEY_LENGTH = 32
MAX_RECIPIENTS = 16
LENGTH_PREFIX = 4
DOMAIN = b"incident-service/v1|"

# Buckets grow by powers of two up to 64 KiB, then in 64 KiB steps.
SMALLEST_BUCKET = 256
LARGEST_DOUBLING_BUCKET = 64 * 1024


@dataclass(frozen=True)
class SealedFor:
    """One recipient entry of an envelope, as read from its header."""

    suite: SuiteId
    key_id: bytes
    sealed_key: bytes


def padded_length(length: int) -> int:
    """The bucket a plaintext of `length` bytes (plus its length prefix) is padded to."""
    needed = length + LENGTH_PREFIX
    bucket = SMALLEST_BUCKET
    while bucket < needed and bucket < LARGEST_DOUBLING_BUCKET:
        bucket *= 2
    if bucket >= needed:
        return bucket
    steps = -(-needed // LARGEST_DOUBLING_BUCKET)
    return steps * LARGEST_DOUBLING_BUCKET


def pad(plaintext: bytes) -> bytes:
    target = padded_length(len(plaintext))
    body = struct.pack(">I", len(plaintext)) + plaintext
    return body + b"\x00" * (target - len(body))


def unpad(padded: bytes) -> bytes:
    if len(padded) < LENGTH_PREFIX:
        raise MalformedCiphertext("padded plaintext too short")
    (length,) = struct.unpack(">I", padded[:LENGTH_PREFIX])
    if length > len(padded) - LENGTH_PREFIX:
        raise MalformedCiphertext("padding length prefix out of range")
    return padded[LENGTH_PREFIX : LENGTH_PREFIX + length]


def _aad(context: bytes) -> bytes:
    return DOMAIN + context


def _info(context: bytes) -> bytes:
    return DOMAIN + b"content-key|" + context


def _recipient_entries(
    content_key: bytes, context: bytes, recipients: Sequence[RecipientPublicKey]
) -> list[bytes]:
    if not recipients:
        raise ValueError("an envelope needs at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    entries = [bytes([len(recipients)])]
    info = _info(context)
    for recipient in recipients:
        sealed = recipient.suite.hpke_suite().encrypt(content_key, recipient.hpke_key(), info=info)
        entries.append(bytes([recipient.suite]) + recipient.key_id + struct.pack(">H", len(sealed)))
        entries.append(sealed)
    return entries


def seal(plaintext: bytes, *, context: bytes, recipients: Sequence[RecipientPublicKey]) -> bytes:
    """Encrypt `plaintext` so that any one of `recipients` can open it under `context`."""
    content_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_LENGTH)
    parts = [MAGIC, nonce, *_recipient_entries(content_key, context, recipients)]
    parts.append(AESGCM(content_key).encrypt(nonce, pad(plaintext), _aad(context)))
    return b"".join(parts)


def read_header(envelope: bytes) -> tuple[bytes, list[SealedFor], int]:
    """Parse the header: (nonce, recipient entries, offset of the ciphertext)."""
    view = memoryview(envelope)
    if len(view) < len(MAGIC) + NONCE_LENGTH + 1 or bytes(view[:4]) != MAGIC:
        raise MalformedCiphertext("not an envelope (bad magic or too short)")
    offset = len(MAGIC)
    nonce = bytes(view[offset : offset + NONCE_LENGTH])
    offset += NONCE_LENGTH
    count = view[offset]
    offset += 1
    if not 1 <= count <= MAX_RECIPIENTS:
        raise MalformedCiphertext("recipient count out of range")
    entries: list[SealedFor] = []
    for _ in range(count):
        head = 1 + KEY_ID_LENGTH + 2
        if offset + head > len(view):
            raise MalformedCiphertext("truncated recipient header")
        try:
            suite = SuiteId.from_number(view[offset])
        except UnknownSuite as exc:
            raise MalformedCiphertext("unknown suite in envelope header") from exc
        key_id = bytes(view[offset + 1 : offset + 1 + KEY_ID_LENGTH])
        (length,) = struct.unpack(">H", view[offset + 1 + KEY_ID_LENGTH : offset + head])
        offset += head
        if offset + length > len(view):
            raise MalformedCiphertext("truncated sealed key")
        entries.append(SealedFor(suite, key_id, bytes(view[offset : offset + length])))
        offset += length
    if len(view) - offset < 16:
        raise MalformedCiphertext("truncated ciphertext")
    return nonce, entries, offset


def recipients_of(envelope: bytes) -> list[bytes]:
    """Key ids an envelope is sealed to (used by key rotation and by tests)."""
    return [entry.key_id for entry in read_header(envelope)[1]]


def open_content_key(envelope: bytes, *, context: bytes, private_key: RecipientPrivateKey) -> bytes:
    _, entries, _ = read_header(envelope)
    for entry in entries:
        if entry.key_id == private_key.key_id and entry.suite == private_key.suite:
            try:
                key = private_key.suite.hpke_suite().decrypt(
                    entry.sealed_key, private_key.hpke_key(), info=_info(context)
                )
            except Exception as exc:  # the HPKE layer raises several types; all mean "no"
                raise DecryptionFailed("content key did not open") from exc
            if len(key) != CONTENT_KEY_LENGTH:
                raise DecryptionFailed("content key has the wrong length")
            return key
    raise NoMatchingRecipient("envelope is not sealed to this key")


def open_envelope(envelope: bytes, *, context: bytes, private_key: RecipientPrivateKey) -> bytes:
    """Decrypt an envelope; raise a `CryptoError` subclass on any fault."""
    nonce, _, offset = read_header(envelope)
    content_key = open_content_key(envelope, context=context, private_key=private_key)
    try:
        padded = AESGCM(content_key).decrypt(nonce, envelope[offset:], _aad(context))
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext failed authentication") from exc
    return unpad(padded)


def replace_recipient(
    envelope: bytes,
    *,
    context: bytes,
    private_key: RecipientPrivateKey,
    new_recipient: RecipientPublicKey,
) -> bytes:
    """Swap the entry of `private_key` for one sealed to `new_recipient`; keep the others.

    Team key rotation uses this: the statistics key's entry and the reporter's entry stay as
    they are (their private keys are not at hand), the ciphertext is untouched.
    """
    nonce, entries, offset = read_header(envelope)
    content_key = open_content_key(envelope, context=context, private_key=private_key)
    try:
        AESGCM(content_key).decrypt(nonce, envelope[offset:], _aad(context))
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext failed authentication") from exc
    info = _info(context)
    parts = [MAGIC, nonce, bytes([len(entries)])]
    for entry in entries:
        if entry.key_id == private_key.key_id and entry.suite == private_key.suite:
            suite, key_id = new_recipient.suite, new_recipient.key_id
            sealed = suite.hpke_suite().encrypt(content_key, new_recipient.hpke_key(), info=info)
        else:
            suite, key_id, sealed = entry.suite, entry.key_id, entry.sealed_key
        parts.append(bytes([suite]) + key_id + struct.pack(">H", len(sealed)))
        parts.append(sealed)
    parts.append(envelope[offset:])
    return b"".join(parts)
