"""Signed manifests: a list of every file of a release with its SHA-256, signed with Ed25519.

A downloaded release is a directory holding the files, `manifest.json` and `manifest.sig`
(the signature, base64). `verify_directory` checks the signature with the service's public key
and every file against the manifest, and names each file that is missing, altered or extra.

Every manifest since the evidence flow carries `evidence_log`: the evidence log's newest signed
tree head when the release was generated (null while the log is empty), so that each published
release pins the log's state; a later consistency proof shows the log was only appended to
since. Manifests without the field (older releases) verify as before.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from incident_service.crypto import BadSignature, SigningKey, VerifyKey
from incident_service.crypto.signing import sign, verify

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_FORMAT = "incident-service-release/1"


class FileLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def media_type(self) -> str: ...

    @property
    def content(self) -> bytes: ...


class ManifestError(Exception):
    """A release that does not verify; the message names the file at fault."""


class BadManifestSignature(ManifestError):
    def __init__(self) -> None:
        super().__init__(
            f"{MANIFEST_NAME}: the signature does not match (the manifest was altered or was "
            "signed by another key)"
        )


class TamperedFile(ManifestError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: its content does not match the signed manifest")
        self.name = name


class MissingFile(ManifestError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: listed in the manifest but missing")
        self.name = name


def build_manifest(
    *,
    period: str,
    method: str,
    parameters: Mapping[str, Any],
    parameters_digest: str,
    generated_on: dt.date,
    files: Sequence[FileLike],
    verify_key: VerifyKey,
    evidence_tree_head: Mapping[str, Any] | None = None,
) -> bytes:
    document = {
        "format": MANIFEST_FORMAT,
        "period": period,
        "method": method,
        "parameters": dict(parameters),
        "parameters_digest": parameters_digest,
        "generated_on": generated_on.isoformat(),
        "signing_key": {
            "algorithm": "Ed25519",
            "key_id": verify_key.key_id.hex(),
            "fingerprint": verify_key.fingerprint,
        },
        "files": [
            {
                "name": file.name,
                "media_type": file.media_type,
                "size": len(file.content),
                "sha256": hashlib.sha256(file.content).hexdigest(),
            }
            for file in sorted(files, key=lambda f: f.name)
        ],
        "evidence_log": dict(evidence_tree_head) if evidence_tree_head is not None else None,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return text.encode("utf-8")


def sign_manifest(manifest: bytes, key: SigningKey) -> bytes:
    return sign(manifest, key)


def signature_file(signature: bytes) -> bytes:
    return base64.b64encode(signature) + b"\n"


def read_signature_file(data: bytes) -> bytes:
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadManifestSignature() from exc


@dataclass
class Verification:
    period: str
    method: str
    # The evidence log's tree head the release pins (its signature checked), if it has one.
    evidence_tree_size: int | None = None
    checked: list[str] = field(default_factory=list)
    problems: list[ManifestError] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_manifest(
    *,
    manifest: bytes,
    signature: bytes,
    files: Mapping[str, bytes],
    verify_key: VerifyKey,
) -> Verification:
    """Raise on a bad signature; otherwise list every file problem (raising the first one)."""
    result = inspect_manifest(
        manifest=manifest, signature=signature, files=files, verify_key=verify_key
    )
    if result.problems:
        raise result.problems[0]
    return result


def inspect_manifest(
    *,
    manifest: bytes,
    signature: bytes,
    files: Mapping[str, bytes],
    verify_key: VerifyKey,
) -> Verification:
    try:
        verify(manifest, signature, verify_key)
    except BadSignature as exc:
        raise BadManifestSignature() from exc
    document = json.loads(manifest.decode("utf-8"))
    if document.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{MANIFEST_NAME}: not a release manifest this version can read")
    result = Verification(period=document["period"], method=document["method"])
    if document.get("evidence_log"):
        result.evidence_tree_size = _check_tree_head(document["evidence_log"], verify_key)
    listed = set()
    for entry in document["files"]:
        name = entry["name"]
        listed.add(name)
        content = files.get(name)
        if content is None:
            result.problems.append(MissingFile(name))
        elif hashlib.sha256(content).hexdigest() != entry["sha256"]:
            result.problems.append(TamperedFile(name))
        else:
            result.checked.append(name)
    result.extra = sorted(set(files) - listed)
    return result


def _check_tree_head(document: Mapping[str, Any], verify_key: VerifyKey) -> int:
    from incident_service.evidence.log import ProofDocumentInvalid, SignedTreeHead

    try:
        head = SignedTreeHead.from_json(document)
        head.verify(verify_key)
    except ProofDocumentInvalid as exc:
        raise ManifestError(f"{MANIFEST_NAME}: the evidence log's tree head: {exc}") from None
    return head.tree_size


def verify_directory(directory: Path, *, verify_key: VerifyKey) -> Verification:
    """Check a downloaded release directory; every problem is listed, none is skipped."""
    manifest_path = directory / MANIFEST_NAME
    signature_path = directory / SIGNATURE_NAME
    for path in (manifest_path, signature_path):
        if not path.is_file():
            raise MissingFile(path.name)
    files = {
        path.name: path.read_bytes()
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name not in (MANIFEST_NAME, SIGNATURE_NAME)
    }
    return inspect_manifest(
        manifest=manifest_path.read_bytes(),
        signature=read_signature_file(signature_path.read_bytes()),
        files=files,
        verify_key=verify_key,
    )


def write_directory(
    directory: Path, *, files: Sequence[FileLike], manifest: bytes, signature: bytes
) -> None:
    """Lay a release out as it is downloaded (used by the CLI export and by tests)."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        (directory / file.name).write_bytes(file.content)
    (directory / MANIFEST_NAME).write_bytes(manifest)
    (directory / SIGNATURE_NAME).write_bytes(signature_file(signature))
