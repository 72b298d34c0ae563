"""The referral dossier's format, and its offline check (`incident-service evidence
verify-dossier`), which needs nothing but the zip and, ideally, the published keys.

A dossier is a zip:

    manifest.json       what is inside: each file's path, SHA-256, size, type, role; for an
                        original also its day received, salt, commitment and inclusion proof
    manifest.sig        Ed25519 signature of manifest.json (64 raw bytes)
    SHA256SUMS          the same hashes in `sha256sum` format, so `sha256sum -c` checks them
    SHA256SUMS.sig      Ed25519 signature of SHA256SUMS (64 raw bytes)
    dossier-key.pem     the public key that signed (compare its fingerprint with the published one)
    case.pdf            the case as exported (the parts the caseworker chose), if any
    custody.json        the custody entries of the files inside
    files/...           the originals and working copies chosen
    README.txt          how to check it with standard tools

An original is tied to the evidence log: SHA-256 and salt recompute its commitment, and the
inclusion proof places that commitment under a tree head signed by the service's release key.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incident_service.crypto import BadSignature, CryptoError, VerifyKey
from incident_service.crypto.signing import verify, verify_key_from_pem
from incident_service.crypto.streams import (
    Commitment,
    CommitmentSalt,
    FileDigest,
    digest_of,
    opens_commitment,
)
from incident_service.evidence import log as evidence_log

FORMAT = "incident-service-dossier/1"
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig"
SUMS = "SHA256SUMS"
SUMS_SIGNATURE = "SHA256SUMS.sig"
PUBLIC_KEY = "dossier-key.pem"
README = "README.txt"
# Files that the manifest does not list: the signatures, the key, the instructions.
UNLISTED = frozenset({MANIFEST, MANIFEST_SIGNATURE, SUMS, SUMS_SIGNATURE, PUBLIC_KEY, README})
MAX_MEMBER = 512 * 1024 * 1024


class DossierInvalid(Exception):
    """The dossier does not verify; the message says what failed, naming the file."""


def sha256_hex(data: bytes) -> str:
    return digest_of([data]).hex


def sums_file(entries: list[dict[str, Any]]) -> bytes:
    """`sha256sum` format: the hash, two spaces, the path; one line each."""
    return "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in entries).encode("utf-8")


def manifest_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


@dataclass
class DossierCheck:
    """What the offline check found; `ok` only if there is no problem."""

    files: list[str] = field(default_factory=list)
    originals_logged: list[str] = field(default_factory=list)
    originals_not_yet_logged: list[str] = field(default_factory=list)
    key_fingerprint: str = ""
    key_from_dossier: bool = False


def _read_zip(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER:
                    raise DossierInvalid(f"{info.filename}: larger than any dossier member")
                members[info.filename] = archive.read(info)
            return members
    except zipfile.BadZipFile as exc:
        raise DossierInvalid(f"not a zip file: {exc}") from None


def _check_signature(message: bytes, signature: bytes, key: VerifyKey, name: str) -> None:
    try:
        verify(message, signature, key)
    except BadSignature:
        raise DossierInvalid(
            f"{name}: the signature does not match (altered, or another key)"
        ) from None


def verify_dossier(
    data: bytes, *, dossier_key: VerifyKey | None = None, log_key: VerifyKey | None = None
) -> DossierCheck:
    """Check a dossier offline; raise `DossierInvalid` naming the first fault.

    Without `dossier_key` the key inside the dossier is used (the caller must then compare its
    fingerprint with the published one: whoever altered a dossier could replace it). Without
    `log_key` the inclusion proofs are checked against the tree head they carry but the head's
    signature is not."""
    members = _read_zip(data)
    for name in (MANIFEST, MANIFEST_SIGNATURE, SUMS, SUMS_SIGNATURE):
        if name not in members:
            raise DossierInvalid(f"{name}: missing")
    check = DossierCheck()
    if dossier_key is None:
        if PUBLIC_KEY not in members:
            raise DossierInvalid(f"{PUBLIC_KEY}: missing, and no key was given")
        try:
            dossier_key = verify_key_from_pem(members[PUBLIC_KEY])
        except CryptoError as exc:
            raise DossierInvalid(f"{PUBLIC_KEY}: {exc}") from None
        check.key_from_dossier = True
    check.key_fingerprint = dossier_key.fingerprint
    _check_signature(members[MANIFEST], members[MANIFEST_SIGNATURE], dossier_key, MANIFEST)
    _check_signature(members[SUMS], members[SUMS_SIGNATURE], dossier_key, SUMS)
    document = json.loads(members[MANIFEST])
    if document.get("format") != FORMAT:
        raise DossierInvalid(f"{MANIFEST}: not a dossier manifest this version can read")
    entries: list[dict[str, Any]] = document["files"]
    if members[SUMS] != sums_file(entries):
        raise DossierInvalid(f"{SUMS}: does not list exactly what the manifest lists")
    for entry in entries:
        _check_member(entry, members, check, log_key)
    extra = sorted(set(members) - UNLISTED - {entry["path"] for entry in entries})
    if extra:
        raise DossierInvalid(f"{extra[0]}: not listed in the manifest")
    return check


def _check_member(
    entry: Mapping[str, Any], members: Mapping[str, bytes], check: DossierCheck, log_key: Any
) -> None:
    path = entry["path"]
    content = members.get(path)
    if content is None:
        raise DossierInvalid(f"{path}: listed in the manifest but missing")
    if sha256_hex(content) != entry["sha256"] or len(content) != entry["size"]:
        raise DossierInvalid(f"{path}: its content does not match the signed manifest")
    check.files.append(path)
    if entry.get("role") != "original":
        return
    digest = FileDigest(bytes.fromhex(entry["sha256"]))
    commitment = Commitment(bytes.fromhex(entry["commitment"]))
    if not opens_commitment(commitment, digest, CommitmentSalt(bytes.fromhex(entry["salt"]))):
        raise DossierInvalid(f"{path}: its SHA-256 and salt do not give its commitment")
    proof = entry.get("inclusion_proof")
    if proof is None:
        check.originals_not_yet_logged.append(path)
        return
    if proof.get("commitment") != entry["commitment"]:
        raise DossierInvalid(f"{path}: the inclusion proof is for another commitment")
    try:
        if log_key is not None:
            evidence_log.verify_inclusion_document(proof, verify_key=log_key)
        else:
            _verify_proof_path(proof)
    except evidence_log.ProofDocumentInvalid as exc:
        raise DossierInvalid(f"{path}: {exc}") from None
    check.originals_logged.append(path)


def _verify_proof_path(proof: Mapping[str, Any]) -> None:
    """The Merkle path alone, when no log key was given to check the head's signature."""
    from incident_service.evidence import merkle

    head = evidence_log.SignedTreeHead.from_json(proof.get("tree_head") or {})
    try:
        path = merkle.InclusionProof(
            int(proof["leaf_index"]),
            head.tree_size,
            tuple(bytes.fromhex(node) for node in proof["audit_path"]),
        )
        merkle.verify_inclusion(path, bytes.fromhex(proof["commitment"]), head.root_hash)
    except (KeyError, TypeError, ValueError, merkle.ProofInvalid) as exc:
        raise evidence_log.ProofDocumentInvalid(f"the inclusion proof fails: {exc}") from None
