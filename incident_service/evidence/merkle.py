"""A Merkle tree after RFC 9162 §2.1: tree hashes, inclusion and consistency proofs, and their
verification, as pure functions over leaf hashes.

Hashes are SHA-256; a leaf is hashed as H(0x00 || leaf) and a node as H(0x01 || left || right),
so a leaf can never pass for a node. A tree of n > 1 leaves splits at k, the largest power of
two below n: the left subtree is always complete. The verifiers follow the RFC's iterative
algorithms (§2.1.3.2 and §2.1.4.2); the provers follow its recursive definitions, so the tests
can check one against the other.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

HASH_LENGTH = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofInvalid(Exception):
    """A proof does not show what it claims (wrong path, wrong root, out of range)."""


@dataclass(frozen=True)
class InclusionProof:
    """That the leaf at `leaf_index` is in the tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class ConsistencyProof:
    """That the tree of `first_size` leaves is a prefix of the tree of `second_size` leaves."""

    first_size: int
    second_size: int
    path: tuple[bytes, ...]


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already hashed leaves, computed bottom-up without recursion."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # Fold complete subtrees as a binary counter does: a stack of (height, hash).
    stack: list[tuple[int, bytes]] = []
    for index, hashed in enumerate(leaf_hashes):
        height, current = 0, hashed
        count = index
        while count & 1:
            _, left = stack.pop()
            current = node_hash(left, current)
            height += 1
            count >>= 1
        stack.append((height, current))
    current = stack.pop()[1]
    while stack:
        current = node_hash(stack.pop()[1], current)
    return current


def inclusion_path(leaf_index: int, leaf_hashes: Sequence[bytes]) -> tuple[bytes, ...]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaf_hashes)
    if not 0 <= leaf_index < n:
        raise ProofInvalid("leaf index outside the tree")
    return tuple(_path(leaf_index, leaf_hashes, 0, n))


def _path(m: int, leaves: Sequence[bytes], start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, leaves, start, start + k), root_hash(leaves[start + k : end])]
    return [*_path(m - k, leaves, start + k, end), root_hash(leaves[start : start + k])]


def consistency_path(first_size: int, leaf_hashes: Sequence[bytes]) -> tuple[bytes, ...]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (empty when m is 0 or n)."""
    n = len(leaf_hashes)
    if not 0 <= first_size <= n:
        raise ProofInvalid("first tree size outside the tree")
    if first_size in (0, n):
        return ()
    return tuple(_subproof(first_size, leaf_hashes, 0, n, complete=True))


def _subproof(
    m: int, leaves: Sequence[bytes], start: int, end: int, *, complete: bool
) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [root_hash(leaves[start:end])]
    k = _split(n)
    if m <= k:
        inner = _subproof(m, leaves, start, start + k, complete=complete)
        return [*inner, root_hash(leaves[start + k : end])]
    inner = _subproof(m - k, leaves, start + k, end, complete=False)
    return [*inner, root_hash(leaves[start : start + k])]


def verify_inclusion(proof: InclusionProof, leaf: bytes, root: bytes) -> None:
    """RFC 9162 §2.1.3.2, for the leaf's *data* (it is hashed here). Raises `ProofInvalid`."""
    if not 0 <= proof.leaf_index < proof.tree_size:
        raise ProofInvalid("leaf index outside the tree")
    fn, sn = proof.leaf_index, proof.tree_size - 1
    result = leaf_hash(leaf)
    for sibling in proof.path:
        _check_length(sibling)
        if sn == 0:
            raise ProofInvalid("inclusion path is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or not hmac.compare_digest(result, root):
        raise ProofInvalid("inclusion path does not lead to the root")


def verify_consistency(proof: ConsistencyProof, first_root: bytes, second_root: bytes) -> None:
    """RFC 9162 §2.1.4.2. Raises `ProofInvalid`."""
    first, second, path = proof.first_size, proof.second_size, list(proof.path)
    for node in path:
        _check_length(node)
    if not 0 <= first <= second:
        raise ProofInvalid("the first tree is larger than the second")
    if first == second:
        if path or not hmac.compare_digest(first_root, second_root):
            raise ProofInvalid("equal sizes need equal roots and an empty proof")
        return
    if first == 0:
        if path or not hmac.compare_digest(first_root, EMPTY_ROOT):
            raise ProofInvalid("an empty tree is consistent with any tree, with an empty proof")
        return
    if not path:
        raise ProofInvalid("consistency proof is empty")
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofInvalid("consistency proof is too long")
        if fn & 1 or fn == sn:
            first_result = node_hash(node, first_result)
            second_result = node_hash(node, second_result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_result = node_hash(second_result, node)
        fn, sn = fn >> 1, sn >> 1
    if (
        sn != 0
        or not hmac.compare_digest(first_result, first_root)
        or not hmac.compare_digest(second_result, second_root)
    ):
        raise ProofInvalid("consistency proof does not lead to both roots")


def _check_length(node: bytes) -> None:
    if len(node) != HASH_LENGTH:
        raise ProofInvalid("a proof node is not a SHA-256 hash")
