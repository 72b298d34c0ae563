"""The evidence transparency log: every accepted file's commitment, appended for good, under
signed tree heads, with inclusion and consistency proofs that anyone can check offline.

Commitments wait until their day is over and are then appended as one batch in random order,
so a leaf's index says which day a file arrived and nothing finer: tree heads are signed (and
timestamped) by the hour, and an index inside an hourly head would date the report to the hour.
The worker calls `publish_tree_head` hourly and at each release; the signing key is the
worker's (the same Ed25519 key that signs releases, whose public half is published).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from incident_service import locks
from incident_service.crypto import BadSignature, CryptoError, SigningKey, VerifyKey, bindings
from incident_service.crypto.signing import sign, verify
from incident_service.crypto.timestamps import (
    certificate_der_from_pem,
    timestamp_request,
    token_from_response,
    verify_message_token,
)
from incident_service.evidence import merkle
from incident_service.keystore import current_keyring
from incident_service.models import EvidenceFile, EvidenceLogLeaf, EvidenceTreeHead, db, today

log = logging.getLogger(__name__)

INCLUSION_KIND = "evidence-inclusion-proof"
CONSISTENCY_KIND = "evidence-consistency-proof"
FORMAT_VERSION = 1
TSA_TIMEOUT_SECONDS = 15
TSA_MAX_RESPONSE = 256 * 1024


class LeafNotYetLogged(Exception):
    """The file's commitment waits for its day's batch, or for the next signed tree head."""


class EvidenceNotFound(Exception):
    """No evidence file with that id."""


class TreeHeadNotFound(Exception):
    """No signed tree head of that size."""


class ProofDocumentInvalid(Exception):
    """A proof document is malformed, or does not verify; the message says what failed."""


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree size and root hash, signed by the service on a day, optionally timestamped."""

    tree_size: int
    root_hash: bytes
    signed_on: dt.date
    signature: bytes
    key_id: str
    timestamp_token: bytes | None = None

    @property
    def message(self) -> bytes:
        return bindings.evidence_tree_head(
            self.tree_size, self.root_hash, self.signed_on.isoformat()
        )

    @property
    def stamped_bytes(self) -> bytes:
        """What the timestamp covers: the signed message and its signature."""
        return self.message + self.signature

    def verify(self, key: VerifyKey, *, tsa_certificate: bytes | None = None) -> None:
        """Check the signature (and the timestamp, if any); raise `ProofDocumentInvalid`."""
        if key.key_id.hex() != self.key_id:
            raise ProofDocumentInvalid("the tree head was signed with another key")
        try:
            verify(self.message, self.signature, key)
        except BadSignature:
            raise ProofDocumentInvalid("the tree head's signature does not verify") from None
        if self.timestamp_token is not None:
            try:
                verify_message_token(
                    self.timestamp_token, self.stamped_bytes, tsa_certificate=tsa_certificate
                )
            except CryptoError as exc:
                raise ProofDocumentInvalid(f"the tree head's timestamp: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "signed_on": self.signed_on.isoformat(),
            "signature": self.signature.hex(),
            "key_id": self.key_id,
        }
        if self.timestamp_token is not None:
            document["timestamp_token"] = base64.b64encode(self.timestamp_token).decode("ascii")
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SignedTreeHead:
        token = document.get("timestamp_token")
        try:
            return cls(
                tree_size=int(document["tree_size"]),
                root_hash=bytes.fromhex(document["root_hash"]),
                signed_on=dt.date.fromisoformat(document["signed_on"]),
                signature=bytes.fromhex(document["signature"]),
                key_id=str(document["key_id"]),
                timestamp_token=base64.b64decode(token, validate=True) if token else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ProofDocumentInvalid("the tree head is malformed") from exc

    @classmethod
    def from_row(cls, row: EvidenceTreeHead) -> SignedTreeHead:
        return cls(
            row.tree_size,
            row.root_hash,
            row.signed_on,
            row.signature,
            row.key_id,
            row.timestamp_token,
        )


def _lock_log() -> None:
    """Serialise appends: two workers must not hand out the same indexes."""
    locks.hold_until_commit(locks.EVIDENCE_LOG)


def tree_size() -> int:
    count = db.session.scalar(
        select(func.count())
        .select_from(EvidenceLogLeaf)
        .where(EvidenceLogLeaf.leaf_index.is_not(None))
    )
    return int(count or 0)


def append_pending(*, before: dt.date) -> int:
    """Append every waiting commitment received before `before`, one shuffled batch per day,
    oldest day first; return how many were appended (no commit)."""
    _lock_log()
    waiting = db.session.scalars(
        select(EvidenceLogLeaf)
        .where(EvidenceLogLeaf.leaf_index.is_(None), EvidenceLogLeaf.received_on < before)
        .order_by(EvidenceLogLeaf.received_on)
    ).all()
    next_index = tree_size()
    shuffler = secrets.SystemRandom()
    for _day, batch in groupby(waiting, key=lambda leaf: leaf.received_on):
        leaves = list(batch)
        shuffler.shuffle(leaves)
        for leaf in leaves:
            leaf.leaf_index = next_index
            next_index += 1
    db.session.flush()
    return len(waiting)


def leaf_hashes(size: int) -> list[bytes]:
    """The hashes of the first `size` leaves, in log order (32 bytes a leaf in memory)."""
    rows = db.session.scalars(
        select(EvidenceLogLeaf.commitment)
        .where(EvidenceLogLeaf.leaf_index.is_not(None), EvidenceLogLeaf.leaf_index < size)
        .order_by(EvidenceLogLeaf.leaf_index)
    ).all()
    if len(rows) != size:
        raise TreeHeadNotFound(f"the log holds {len(rows)} leaves, not {size}")
    return [merkle.leaf_hash(commitment) for commitment in rows]


def latest_tree_head() -> SignedTreeHead | None:
    row = db.session.scalar(
        select(EvidenceTreeHead).order_by(EvidenceTreeHead.tree_size.desc()).limit(1)
    )
    return SignedTreeHead.from_row(row) if row is not None else None


def tree_head(size: int) -> SignedTreeHead:
    row = db.session.get(EvidenceTreeHead, size)
    if row is None:
        raise TreeHeadNotFound(f"no signed tree head of size {size}")
    return SignedTreeHead.from_row(row)


def publish_tree_head(
    *, on: dt.date | None = None, signing_key: SigningKey | None = None
) -> SignedTreeHead | None:
    """Append the commitments of finished days and sign a tree head if the log grew (no commit).

    Returns the newest head (None while the log is empty). Run hourly and at each release: a
    run that finds nothing new only retries a missing timestamp.
    """
    day = on or today()
    append_pending(before=day)
    size = tree_size()
    latest = latest_tree_head()
    if latest is not None and latest.tree_size == size:
        return _stamp_if_missing(latest)
    if size == 0:
        return None
    key = signing_key or current_keyring().require_signing_key()
    root = merkle.root_hash(leaf_hashes(size))
    message = bindings.evidence_tree_head(size, root, day.isoformat())
    head = SignedTreeHead(size, root, day, sign(message, key), key.verify_key.key_id.hex())
    db.session.add(
        EvidenceTreeHead(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            signed_on=head.signed_on,
            signature=head.signature,
            key_id=head.key_id,
        )
    )
    db.session.flush()
    return _stamp_if_missing(head)


def _stamp_if_missing(head: SignedTreeHead) -> SignedTreeHead:
    if head.timestamp_token is not None or not current_app.config.get("TSA_URL"):
        return head
    try:
        token = request_timestamp(head.stamped_bytes)
    except Exception as exc:  # a TSA outage must not stop the log; the next run retries
        log.warning("evidence tree head %s not timestamped: %s", head.tree_size, exc)
        return head
    row = db.session.get_one(EvidenceTreeHead, head.tree_size)
    row.timestamp_token = token
    db.session.flush()
    return SignedTreeHead.from_row(row)


def request_timestamp(message: bytes) -> bytes:
    """Ask the configured TSA to stamp SHA-256(message); return the checked token."""
    url = str(current_app.config["TSA_URL"])
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("TSA_URL must be an http or https URL")
    request = timestamp_request(message)
    http_request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=request.der,
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    with urllib.request.urlopen(http_request, timeout=TSA_TIMEOUT_SECONDS) as answer:  # noqa: S310
        body = answer.read(TSA_MAX_RESPONSE)
    return token_from_response(body, request, tsa_certificate=pinned_tsa_certificate())


def pinned_tsa_certificate() -> bytes | None:
    path = current_app.config.get("TSA_CERT_FILE")
    return certificate_der_from_pem(Path(path).read_bytes()) if path else None


def inclusion_proof(file_id: str) -> dict[str, Any]:
    """A self-contained proof that the file's commitment is in the log under the newest head."""
    row = db.session.get(EvidenceFile, file_id)
    if row is None:
        raise EvidenceNotFound(file_id)
    leaf = db.session.get(EvidenceLogLeaf, row.commitment)
    head = latest_tree_head()
    if leaf is None or leaf.leaf_index is None or head is None or head.tree_size <= leaf.leaf_index:
        raise LeafNotYetLogged("the file's commitment is not under a signed tree head yet")
    path = merkle.inclusion_path(leaf.leaf_index, leaf_hashes(head.tree_size))
    return {
        "kind": INCLUSION_KIND,
        "version": FORMAT_VERSION,
        "commitment": row.commitment.hex(),
        "leaf_index": leaf.leaf_index,
        "tree_head": head.to_json(),
        "audit_path": [node.hex() for node in path],
    }


def consistency_proof(first_size: int, second_size: int | None = None) -> dict[str, Any]:
    """A proof that the log of `first_size` leaves is a prefix of the later one."""
    second = tree_head(second_size) if second_size is not None else latest_tree_head()
    if second is None:
        raise TreeHeadNotFound("no signed tree head yet")
    first = tree_head(first_size)
    if first.tree_size > second.tree_size:
        raise TreeHeadNotFound("the first tree head must not be the larger one")
    path = merkle.consistency_path(first.tree_size, leaf_hashes(second.tree_size))
    return {
        "kind": CONSISTENCY_KIND,
        "version": FORMAT_VERSION,
        "first": first.to_json(),
        "second": second.to_json(),
        "path": [node.hex() for node in path],
    }


def _hashes(values: Any) -> tuple[bytes, ...]:
    try:
        return tuple(bytes.fromhex(value) for value in values)
    except (TypeError, ValueError) as exc:
        raise ProofDocumentInvalid("a proof path is malformed") from exc


def verify_inclusion_document(
    document: Mapping[str, Any], *, verify_key: VerifyKey, tsa_certificate: bytes | None = None
) -> SignedTreeHead:
    """Offline: the head is the service's, and the commitment is in the tree it signs."""
    head = SignedTreeHead.from_json(document.get("tree_head") or {})
    head.verify(verify_key, tsa_certificate=tsa_certificate)
    try:
        commitment = bytes.fromhex(document["commitment"])
        proof = merkle.InclusionProof(
            int(document["leaf_index"]), head.tree_size, _hashes(document["audit_path"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofDocumentInvalid("the inclusion proof is malformed") from exc
    try:
        merkle.verify_inclusion(proof, commitment, head.root_hash)
    except merkle.ProofInvalid as exc:
        raise ProofDocumentInvalid(f"the inclusion proof fails: {exc}") from None
    return head


def verify_consistency_document(
    document: Mapping[str, Any], *, verify_key: VerifyKey, tsa_certificate: bytes | None = None
) -> tuple[SignedTreeHead, SignedTreeHead]:
    """Offline: both heads are the service's, and the later log extends the earlier one."""
    first = SignedTreeHead.from_json(document.get("first") or {})
    second = SignedTreeHead.from_json(document.get("second") or {})
    for head in (first, second):
        head.verify(verify_key, tsa_certificate=tsa_certificate)
    proof = merkle.ConsistencyProof(
        first.tree_size, second.tree_size, _hashes(document.get("path", []))
    )
    try:
        merkle.verify_consistency(proof, first.root_hash, second.root_hash)
    except merkle.ProofInvalid as exc:
        raise ProofDocumentInvalid(f"the consistency proof fails: {exc}") from None
    return first, second


def verify_document(
    document: Mapping[str, Any], *, verify_key: VerifyKey, tsa_certificate: bytes | None = None
) -> str:
    """Check an inclusion or a consistency proof document; return a one-line account."""
    kind = document.get("kind")
    if kind == INCLUSION_KIND:
        head = verify_inclusion_document(
            document, verify_key=verify_key, tsa_certificate=tsa_certificate
        )
        return (
            f"commitment {document['commitment']} is leaf {document['leaf_index']} of the "
            f"log of {head.tree_size} signed on {head.signed_on.isoformat()}"
        )
    if kind == CONSISTENCY_KIND:
        first, second = verify_consistency_document(
            document, verify_key=verify_key, tsa_certificate=tsa_certificate
        )
        return (
            f"the log of {first.tree_size} ({first.signed_on.isoformat()}) is a prefix of the "
            f"log of {second.tree_size} ({second.signed_on.isoformat()})"
        )
    raise ProofDocumentInvalid(f"not an evidence proof document (kind {kind!r})")
