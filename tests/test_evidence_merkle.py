"""The Merkle tree (RFC 9162 §2.1): do proofs verify for every tree size, and fail when any
byte of the proof, the leaf or the root changes?"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service.evidence import merkle


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH written straight from the RFC's recursive definition, as an oracle."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = reference_root(leaves[:k]), reference_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position % len(changed)] ^= 0x01
    return bytes(changed)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 300))
def test_does_the_root_match_the_rfc_definition_for_every_size(size):
    leaves = _leaves(size)
    assert merkle.root_hash([merkle.leaf_hash(x) for x in leaves]) == reference_root(leaves)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), size=st.integers(1, 300))
def test_does_an_inclusion_proof_verify_and_fail_on_any_changed_byte(data, size):
    leaves = _leaves(size)
    hashes = [merkle.leaf_hash(x) for x in leaves]
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root_hash(hashes)
    proof = merkle.InclusionProof(index, size, merkle.inclusion_path(index, hashes))
    merkle.verify_inclusion(proof, leaves[index], root)
    flip = data.draw(st.integers(0, 10_000))
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_inclusion(proof, _flip(leaves[index], flip), root)
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_inclusion(proof, leaves[index], _flip(root, flip))
    if proof.path:
        which = flip % len(proof.path)
        path = list(proof.path)
        path[which] = _flip(path[which], flip)
        with pytest.raises(merkle.ProofInvalid):
            merkle.verify_inclusion(
                merkle.InclusionProof(index, size, tuple(path)), leaves[index], root
            )
    if size > 1:
        other = (index + 1) % size
        with pytest.raises(merkle.ProofInvalid):
            merkle.verify_inclusion(
                merkle.InclusionProof(other, size, proof.path), leaves[index], root
            )


@settings(max_examples=80, deadline=None)
@given(data=st.data(), second=st.integers(1, 300))
def test_does_a_consistency_proof_verify_and_fail_on_any_changed_byte(data, second):
    first = data.draw(st.integers(1, second))
    leaves = _leaves(second)
    hashes = [merkle.leaf_hash(x) for x in leaves]
    first_root, second_root = reference_root(leaves[:first]), reference_root(leaves)
    proof = merkle.ConsistencyProof(first, second, merkle.consistency_path(first, hashes))
    merkle.verify_consistency(proof, first_root, second_root)
    flip = data.draw(st.integers(0, 10_000))
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_consistency(proof, _flip(first_root, flip), second_root)
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_consistency(proof, first_root, _flip(second_root, flip))
    if proof.path:
        which = flip % len(proof.path)
        path = list(proof.path)
        path[which] = _flip(path[which], flip)
        with pytest.raises(merkle.ProofInvalid):
            merkle.verify_consistency(
                merkle.ConsistencyProof(first, second, tuple(path)), first_root, second_root
            )


def test_is_a_rewritten_history_inconsistent():
    """A log that changed an old leaf cannot prove it extends the head it signed before."""
    leaves = _leaves(20)
    rewritten = [*leaves[:3], b"x" * 32, *leaves[4:]]
    old_root = reference_root(leaves[:10])
    hashes = [merkle.leaf_hash(x) for x in rewritten]
    proof = merkle.ConsistencyProof(10, 20, merkle.consistency_path(10, hashes))
    with pytest.raises(merkle.ProofInvalid):
        merkle.verify_consistency(proof, old_root, reference_root(rewritten))
