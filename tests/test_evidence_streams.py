"""Sealed evidence streams: do they open to the same bytes, and refuse every kind of meddling?"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service.crypto import (
    DecryptionFailed,
    NoMatchingRecipient,
    RecipientPrivateKey,
    SuiteId,
    bindings,
)
from incident_service.crypto.streams import (
    CHUNK_SIZE,
    MAGIC,
    RECORD_SIZE,
    CommitmentSalt,
    ContentKey,
    FileDigest,
    MalformedStream,
    SealedFileReader,
    SealerFinished,
    SealerState,
    StreamSealer,
    TamperedChunk,
    TruncatedStream,
    commit,
    digest_of,
    open_content_key,
    open_stream,
    opens_commitment,
    padded_record_count,
    seal_content_key,
    seal_stream,
    sealed_length,
)

CONTEXT = bindings.evidence_stream("r" * 32, "f" * 32, "original")


def _seal(data: bytes, key: ContentKey, context: bytes = CONTEXT, block: int = 10_000) -> bytes:
    pieces = [data[i : i + block] for i in range(0, len(data), block)] or [b""]
    return b"".join(bytes(b) for b in seal_stream(pieces, key=key, context=context))


def _open(sealed: bytes, key: ContentKey, context: bytes = CONTEXT) -> bytes:
    return b"".join(open_stream([sealed], key=key, context=context))


def _records(sealed: bytes) -> list[bytes]:
    body = sealed[len(MAGIC) :]
    return [body[i : i + RECORD_SIZE] for i in range(0, len(body), RECORD_SIZE)]


def _join(records: list[bytes]) -> bytes:
    return MAGIC + b"".join(records)


@settings(max_examples=40, deadline=None)
@given(
    size=st.one_of(
        st.integers(0, 3 * CHUNK_SIZE + 10),
        st.sampled_from([CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE]),
    ),
    block=st.integers(1, 3 * CHUNK_SIZE),
)
def test_does_every_size_open_to_the_same_bytes_whatever_the_block_sizes(size, block):
    key = ContentKey.generate()
    data = os.urandom(size)
    sealed = _seal(data, key, block=block)
    assert len(sealed) == sealed_length(size)
    assert _open(sealed, key) == data
    # The opener takes the sealed bytes in blocks of any size too.
    pieces = [sealed[i : i + block] for i in range(0, len(sealed), block)]
    assert b"".join(open_stream(pieces, key=key, context=CONTEXT)) == data


def test_does_the_sealer_compute_the_sha256_as_it_streams():
    import hashlib

    key = ContentKey.generate()
    data = os.urandom(200_000)
    sealer = StreamSealer(key, context=CONTEXT)
    sealed = b"".join(bytes(b) for b in sealer.update(data))
    assert sealer.digest() is None, "no digest before the stream is finished"
    sealed += b"".join(bytes(b) for b in sealer.finish())
    assert sealer.digest() == FileDigest(hashlib.sha256(data).digest())
    assert digest_of(open_stream([sealed], key=key, context=CONTEXT)) == sealer.digest()
    with pytest.raises(SealerFinished):
        sealer.update(b"more")


def test_does_the_store_see_only_a_size_bucket_not_the_exact_size():
    """Files of 17.0 and 17.9 chunks (and 18) are stored alike; the padding stays under 1/8."""
    assert sealed_length(17 * CHUNK_SIZE + 1) == sealed_length(18 * CHUNK_SIZE)
    assert sealed_length(1) == sealed_length(CHUNK_SIZE)
    for records in (17, 100, 1000, 16384, 100_000):
        padded = padded_record_count(records * CHUNK_SIZE)
        assert records <= padded <= records * 1.125
    key = ContentKey.generate()
    assert len(_seal(os.urandom(17 * CHUNK_SIZE + 5), key)) == sealed_length(18 * CHUNK_SIZE)


def test_is_a_changed_byte_in_any_record_refused():
    key = ContentKey.generate()
    sealed = bytearray(_seal(os.urandom(3 * CHUNK_SIZE), key))
    for position in (len(MAGIC) + 5, len(MAGIC) + RECORD_SIZE + 100, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(TamperedChunk):
            _open(bytes(tampered), key)


def test_are_reordered_records_refused():
    key = ContentKey.generate()
    records = _records(_seal(os.urandom(3 * CHUNK_SIZE + 10), key))
    records[0], records[1] = records[1], records[0]
    with pytest.raises(TamperedChunk):
        _open(_join(records), key)


def test_is_a_stream_cut_short_or_missing_its_final_record_refused():
    key = ContentKey.generate()
    sealed = _seal(os.urandom(3 * CHUNK_SIZE + 10), key)
    records = _records(sealed)
    with pytest.raises(TruncatedStream):
        _open(_join(records[:-1]), key)  # final record dropped
    with pytest.raises(TruncatedStream):
        _open(sealed[: -RECORD_SIZE // 2], key)  # cut in the middle of a record
    with pytest.raises(TruncatedStream):
        _open(MAGIC, key)


def test_are_records_after_the_final_one_refused():
    key = ContentKey.generate()
    one = _records(_seal(b"a" * 10, key))
    two = _records(_seal(b"b" * (2 * CHUNK_SIZE), key))
    with pytest.raises((MalformedStream, TamperedChunk)):
        _open(_join(one + two[1:]), key)


def test_is_a_record_swapped_in_from_another_file_refused():
    """Same key, same position, but bound to another file id or the other copy."""
    key = ContentKey.generate()
    other_file = bindings.evidence_stream("r" * 32, "e" * 32, "original")
    working = bindings.evidence_stream("r" * 32, "f" * 32, "working")
    mine = _records(_seal(os.urandom(2 * CHUNK_SIZE), key))
    for context in (other_file, working):
        theirs = _records(_seal(os.urandom(2 * CHUNK_SIZE), key, context))
        with pytest.raises(TamperedChunk):
            _open(_join([theirs[0], *mine[1:]]), key)
    with pytest.raises(TamperedChunk):
        _open(_join(mine), key, other_file)
    with pytest.raises(TamperedChunk):
        _open(_join(mine), ContentKey.generate())


def test_is_a_stream_with_the_wrong_magic_refused():
    key = ContentKey.generate()
    sealed = _seal(b"x", key)
    with pytest.raises(MalformedStream):
        _open(b"ISF0" + sealed[4:], key)


def test_does_a_suspended_sealer_resume_in_another_request():
    """A resumable upload keeps the sealer's state between requests (sealed by the caller)."""
    key = ContentKey.generate()
    data = os.urandom(5 * CHUNK_SIZE + 123)
    first = StreamSealer(key, context=CONTEXT)
    out = [bytes(b) for b in first.update(data[:100_000])]
    state = SealerState.from_bytes(first.suspend().to_bytes())
    second = StreamSealer.resume(key, context=CONTEXT, state=state)
    out += [bytes(b) for b in second.update(data[100_000:])]
    out += [bytes(b) for b in second.finish()]
    assert second.digest() is None, "a resumed sealer cannot vouch for the whole hash"
    assert _open(b"".join(out), key) == data


def test_does_the_file_object_read_what_was_sealed():
    key = ContentKey.generate()
    data = os.urandom(3 * CHUNK_SIZE + 7)
    reader = SealedFileReader([_seal(data, key)], key=key, context=CONTEXT)
    assert reader.read(10) + reader.read() == data


def test_is_the_content_key_sealed_to_the_team_and_evidence_keys_alone_and_bound_to_its_file():
    team = RecipientPrivateKey.generate(SuiteId.X25519)
    evidence = RecipientPrivateKey.generate(SuiteId.X25519)
    other = RecipientPrivateKey.generate(SuiteId.X25519)
    key = ContentKey.generate()
    context = bindings.evidence_content_key("r" * 32, "f" * 32)
    envelope = seal_content_key(
        key, context=context, team_key=team.public, evidence_key=evidence.public
    )
    assert open_content_key(envelope, context=context, private_key=team) == key
    assert open_content_key(envelope, context=context, private_key=evidence) == key
    with pytest.raises(NoMatchingRecipient):
        open_content_key(envelope, context=context, private_key=other)
    with pytest.raises(DecryptionFailed):
        open_content_key(
            envelope,
            context=bindings.evidence_content_key("r" * 32, "e" * 32),
            private_key=team,
        )


def test_does_a_commitment_open_only_with_its_salt_and_its_file():
    digest = digest_of([b"photo"])
    salt = CommitmentSalt.generate()
    commitment = commit(digest, salt)
    assert opens_commitment(commitment, digest, salt)
    assert not opens_commitment(commitment, digest, CommitmentSalt.generate())
    assert not opens_commitment(commitment, digest_of([b"photo!"]), salt)
    assert commitment.value != digest.value


def test_is_the_fingerprint_short_and_taken_from_the_sha256():
    digest = digest_of([b"abc"])
    assert digest.fingerprint == "BA78 16BF 8F01 CFEA"
    assert repr(ContentKey.generate()) == "ContentKey(…)"
