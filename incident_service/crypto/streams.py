"""Evidence files sealed as they stream: chunked AES-256-GCM under a per-file content key.

Stream format (version 1), integers big-endian:

    b"ISF1"                          magic and version
    record × n, each 65,568 bytes:
        nonce                        12 random bytes
        AES-256-GCM ciphertext of    4-byte length L (0..65,536) || L bytes of the file
                                     || zeros up to 65,536 bytes
        tag                          16 bytes

Every record has the same size, and the record count is rounded up to a size bucket (at most
12.5 % more records than the data needs, with empty records after the data), so the stored
object tells its size to within a bucket, never exactly: someone holding a copy of a file must
not be able to pick its sealed twin out of a seized store by length.

Each record's associated data binds the caller's context (report id, file id, which copy), the
record's index and whether it is the last record. A record changed, moved, swapped in from
another file, dropped from the end or added after the end fails to open, and says which.

Memory stays flat: a sealer holds at most one chunk of plaintext, an opener at most two records.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .envelopes import open_envelope, seal
from .errors import CryptoError, DecryptionFailed, MalformedCiphertext
from .keys import RecipientPrivateKey, RecipientPublicKey

MAGIC = b"ISF1"
CHUNK_SIZE = 64 * 1024
LENGTH_PREFIX = 4
NONCE_LENGTH = 12
TAG_LENGTH = 16
PLAINTEXT_RECORD = LENGTH_PREFIX + CHUNK_SIZE
RECORD_SIZE = NONCE_LENGTH + PLAINTEXT_RECORD + TAG_LENGTH
KEY_LENGTH = 32
SALT_LENGTH = 32
DIGEST_LENGTH = 32
DOMAIN = b"incident-service/v1/evidence-chunk|"
COMMITMENT_DOMAIN = b"incident-service/v1/evidence-commitment|"
# Record counts up to this are stored exactly; above it they keep 4 significant bits.
EXACT_RECORDS = 16

Block = bytes | bytearray | memoryview


class TamperedChunk(DecryptionFailed):
    """A record failed authentication: changed, reordered, from another file, or a wrong key."""


class TruncatedStream(CryptoError):
    """The stream ends before its final record (cut short, or the final record dropped)."""


class MalformedStream(MalformedCiphertext):
    """Not a sealed stream this code wrote: bad magic, records after the final one, bad lengths."""


class SealerFinished(CryptoError):
    """Data was given to a sealer after `finish()`."""


@dataclass(frozen=True, repr=False)
class ContentKey:
    """The random AES-256 key of one evidence file; sealed to the team key, never stored bare."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_LENGTH:
            raise MalformedCiphertext("an evidence content key has 32 bytes")

    def __repr__(self) -> str:
        return "ContentKey(…)"

    @classmethod
    def generate(cls) -> ContentKey:
        return cls(secrets.token_bytes(KEY_LENGTH))


@dataclass(frozen=True)
class FileDigest:
    """SHA-256 of an original file, as computed while it streamed in."""

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != DIGEST_LENGTH:
            raise ValueError("a SHA-256 digest has 32 bytes")

    @property
    def hex(self) -> str:
        return self.value.hex()

    @property
    def fingerprint(self) -> str:
        """The first 64 bits in four groups ("3F2A 9C01 B7D4 E880"), short enough to read out
        and compare with `sha256sum` on the reporter's own copy."""
        head = self.value[:8].hex().upper()
        return " ".join(head[i : i + 4] for i in range(0, len(head), 4))


@dataclass(frozen=True, repr=False)
class CommitmentSalt:
    """Per-file random key of the commitment; sealed with the file's metadata, never stored bare."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != SALT_LENGTH:
            raise ValueError("a commitment salt has 32 bytes")

    def __repr__(self) -> str:
        return "CommitmentSalt(…)"

    @classmethod
    def generate(cls) -> CommitmentSalt:
        return cls(secrets.token_bytes(SALT_LENGTH))


@dataclass(frozen=True)
class Commitment:
    """HMAC-SHA256(salt, SHA-256 of the file): what the database and the log hold.

    Without the salt, a copy of the file does not lead to its commitment, so whoever took the
    file from a phone cannot confirm from a dump or from the log that it was reported.
    """

    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != DIGEST_LENGTH:
            raise ValueError("a commitment has 32 bytes")

    @property
    def hex(self) -> str:
        return self.value.hex()


def commit(digest: FileDigest, salt: CommitmentSalt) -> Commitment:
    mac = hmac.new(salt.secret, COMMITMENT_DOMAIN + digest.value, hashlib.sha256)
    return Commitment(mac.digest())


def opens_commitment(commitment: Commitment, digest: FileDigest, salt: CommitmentSalt) -> bool:
    """Does (digest, salt) open `commitment`? Used to show a file is the one in the log."""
    return hmac.compare_digest(commit(digest, salt).value, commitment.value)


def digest_of(blocks: Iterable[Block]) -> FileDigest:
    """SHA-256 over a stream of blocks (for instance the output of `open_stream`)."""
    hasher = hashlib.sha256()
    for block in blocks:
        hasher.update(block)
    return FileDigest(hasher.digest())


def seal_content_key(
    key: ContentKey,
    *,
    context: bytes,
    team_key: RecipientPublicKey,
    evidence_key: RecipientPublicKey,
) -> bytes:
    """The content key in an envelope for the team key (caseworkers) and the evidence key (the
    evidence worker, which makes clean copies); never the statistics key."""
    return seal(key.secret, context=context, recipients=[team_key, evidence_key])


def open_content_key(
    envelope: bytes, *, context: bytes, private_key: RecipientPrivateKey
) -> ContentKey:
    return ContentKey(open_envelope(envelope, context=context, private_key=private_key))


def padded_record_count(data_length: int) -> int:
    """Records a file of `data_length` bytes is stored in: its chunks, rounded up to a bucket.

    Up to 16 records (1 MiB) the count is exact; above, it keeps 4 significant bits, so the
    padding is under 12.5 % and a size is only known to within its bucket.
    """
    needed = max(1, -(-data_length // CHUNK_SIZE))
    if needed <= EXACT_RECORDS:
        return needed
    step = 1 << (needed.bit_length() - 4)
    return -(-needed // step) * step


def sealed_length(data_length: int) -> int:
    """Bytes of the sealed stream of a file of `data_length` bytes (what the store holds)."""
    return len(MAGIC) + padded_record_count(data_length) * RECORD_SIZE


def _associated_data(context_prefix: bytes, index: int, final: bool) -> bytes:
    return context_prefix + struct.pack(">QB", index, 1 if final else 0)


@dataclass(frozen=True, repr=False)
class SealerState:
    """Where a suspended sealer stands, to continue it in another request (resumable uploads).

    `pending` is plaintext (under one chunk): the caller must keep the state sealed.
    """

    next_index: int
    data_length: int
    pending: bytes

    def to_bytes(self) -> bytes:
        return struct.pack(">QQ", self.next_index, self.data_length) + self.pending

    @classmethod
    def from_bytes(cls, data: bytes) -> SealerState:
        if len(data) < 16 or len(data) - 16 > CHUNK_SIZE:
            raise MalformedStream("not a sealer state")
        next_index, data_length = struct.unpack(">QQ", data[:16])
        return cls(next_index, data_length, bytes(data[16:]))


class StreamSealer:
    """Seals a file chunk by chunk: `update()` as data arrives, then `finish()`.

    Both return sealed blocks to write, in order, to the store; the first call's output starts
    with the stream's magic. The SHA-256 of the data is computed on the way unless the sealer
    was resumed from a `SealerState` (hash state cannot be saved; see `digest_of`).
    """

    def __init__(self, key: ContentKey, *, context: bytes, hash_content: bool = True) -> None:
        self._aead = AESGCM(key.secret)
        self._prefix = DOMAIN + context + b"|"
        self._plain = bytearray(PLAINTEXT_RECORD)
        self._pending = bytearray()
        self._index = 0
        self._length = 0
        # Off only where the bytes are hashed elsewhere (the benchmark separates the costs).
        self._hasher: hashlib._Hash | None = hashlib.sha256() if hash_content else None
        self._started = False
        self._finished = False

    @classmethod
    def resume(cls, key: ContentKey, *, context: bytes, state: SealerState) -> StreamSealer:
        sealer = cls(key, context=context)
        sealer._index = state.next_index
        sealer._length = state.data_length
        sealer._pending = bytearray(state.pending)
        sealer._hasher = None
        sealer._started = True
        return sealer

    def suspend(self) -> SealerState:
        return SealerState(self._index, self._length, bytes(self._pending))

    @property
    def data_length(self) -> int:
        return self._length

    def digest(self) -> FileDigest | None:
        """The SHA-256 of everything given, once finished; None for a resumed sealer."""
        if not self._finished or self._hasher is None:
            return None
        return FileDigest(self._hasher.digest())

    def update(self, data: Block) -> list[Block]:
        """Take the next bytes of the file; return the sealed blocks now complete.

        A full chunk is sealed only once more data follows it, because the last record must
        carry the final flag; so at most one chunk of plaintext is ever held.
        """
        if self._finished:
            raise SealerFinished("this file has been sealed already")
        view = memoryview(data).cast("B")
        if self._hasher is not None:
            self._hasher.update(view)
        self._length += len(view)
        out: list[Block] = self._start()
        if len(self._pending) + len(view) <= CHUNK_SIZE:
            self._pending += view
            return out
        if self._pending:
            take = CHUNK_SIZE - len(self._pending)
            self._pending += view[:take]
            view = view[take:]
            out.append(self._seal_record(self._pending, final=False))
            self._pending = bytearray()
        while len(view) > CHUNK_SIZE:
            out.append(self._seal_record(view[:CHUNK_SIZE], final=False))
            view = view[CHUNK_SIZE:]
        self._pending += view
        return out

    def finish(self) -> Iterator[Block]:
        """Seal what is left, then the empty records that pad the file to its size bucket."""
        if self._finished:
            raise SealerFinished("this file has been sealed already")
        self._finished = True
        yield from self._start()
        total = padded_record_count(self._length)
        yield self._seal_record(self._pending, final=self._index + 1 == total)
        self._pending = bytearray()
        while self._index < total:
            yield self._seal_record(b"", final=self._index + 1 == total)

    def _start(self) -> list[Block]:
        if self._started:
            return []
        self._started = True
        return [MAGIC]

    def _seal_record(self, payload: Block, *, final: bool) -> bytearray:
        length = len(payload)
        plain = self._plain
        struct.pack_into(">I", plain, 0, length)
        plain[LENGTH_PREFIX : LENGTH_PREFIX + length] = payload
        if length < CHUNK_SIZE:
            plain[LENGTH_PREFIX + length :] = bytes(CHUNK_SIZE - length)
        nonce = os.urandom(NONCE_LENGTH)
        record = bytearray(RECORD_SIZE)
        record[:NONCE_LENGTH] = nonce
        aad = _associated_data(self._prefix, self._index, final)
        self._aead.encrypt_into(nonce, plain, aad, memoryview(record)[NONCE_LENGTH:])
        self._index += 1
        return record


def seal_stream(blocks: Iterable[Block], *, key: ContentKey, context: bytes) -> Iterator[Block]:
    """Seal a stream of plaintext blocks of any sizes; yields sealed blocks in order."""
    sealer = StreamSealer(key, context=context)
    for block in blocks:
        yield from sealer.update(block)
    yield from sealer.finish()


class _Reframer:
    """Cuts a stream of blocks of any sizes into the magic and whole records."""

    def __init__(self, blocks: Iterable[Block]) -> None:
        self._blocks = iter(blocks)
        self._view = memoryview(b"")

    def take(self, size: int) -> Block:
        """The next `size` bytes, or fewer at the end of the stream."""
        if len(self._view) >= size:
            piece, self._view = self._view[:size], self._view[size:]
            return piece
        gathered = bytearray(self._view)
        self._view = memoryview(b"")
        for block in self._blocks:
            view = memoryview(block).cast("B")
            need = size - len(gathered)
            if len(view) >= need:
                gathered += view[:need]
                self._view = view[need:]
                return gathered
            gathered += view
        return gathered

    def records(self) -> Iterator[tuple[Block, bool]]:
        """Each record with whether it is the last one in the stream."""
        current = self.take(RECORD_SIZE)
        while len(current) == RECORD_SIZE:
            following = self.take(RECORD_SIZE)
            yield current, len(following) == 0
            current = following
        if len(current):
            raise TruncatedStream("the stream ends in the middle of a record")


def open_stream(blocks: Iterable[Block], *, key: ContentKey, context: bytes) -> Iterator[bytes]:
    """Yield the file's bytes from its sealed stream, checking every record as it comes.

    Bytes are yielded before the end has been checked: a consumer that must not act on a
    partial file (an export, a hash) should treat the file as good only once this finishes.
    """
    aead = AESGCM(key.secret)
    prefix = DOMAIN + context + b"|"
    frame = _Reframer(blocks)
    if bytes(frame.take(len(MAGIC))) != MAGIC:
        raise MalformedStream("not a sealed evidence stream (bad magic)")
    index = 0
    data_ended = False
    for record, last in frame.records():
        plain = _open_record(aead, prefix, record, index, last)
        (length,) = struct.unpack_from(">I", plain)
        if length > CHUNK_SIZE or (data_ended and length):
            raise MalformedStream("a record's length is out of place")
        data_ended = length < CHUNK_SIZE
        index += 1
        if length:
            yield plain[LENGTH_PREFIX : LENGTH_PREFIX + length]
    if index == 0:
        raise TruncatedStream("the stream holds no record")


def _open_record(aead: AESGCM, prefix: bytes, record: Block, index: int, last: bool) -> bytes:
    nonce = bytes(record[:NONCE_LENGTH])
    body = record[NONCE_LENGTH:]
    try:
        return aead.decrypt(nonce, body, _associated_data(prefix, index, last))
    except InvalidTag:
        pass
    # Tell the failures apart, for the operator: the record is genuine but in the wrong place.
    try:
        aead.decrypt(nonce, body, _associated_data(prefix, index, not last))
    except InvalidTag:
        raise TamperedChunk(f"record {index} failed authentication") from None
    if last:
        raise TruncatedStream(f"the stream stops after record {index}, before its final record")
    raise MalformedStream(f"records follow the final record {index}")


class SealedFileReader(io.RawIOBase):
    """A read-only file object over `open_stream`, for code that wants `read()` (image tools,
    PDF writers). Memory stays flat; a fault surfaces as the `CryptoError` from the stream."""

    def __init__(self, blocks: Iterable[Block], *, key: ContentKey, context: bytes) -> None:
        super().__init__()
        self._chunks = open_stream(blocks, key=key, context=context)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not len(self._current):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size
