"""Signed manifests: a list of every file of a release with its SHA-256, signed with Ed25519.

A downloaded release is a directory holding the files, `manifest.json` and `manifest.sig`
(the signature, base64). `verify_directory` checks the signature with the service's public key
and every file against the manifest, and names each file that is missing, altered or extra;
`verify_path` takes the downloaded archive, the folder it unzips into or the folder inside it.

Each download also carries three unsigned helpers so that standard tools suffice: `VERIFY.txt`
(how to check the release with OpenSSL and sha256sum, in plain words), `signing-key.pub` (the
public key as PEM, to be compared with the one the service publishes) and `SHA256SUMS` (the
manifest's hashes in the format `sha256sum -c` reads; `verify` checks it repeats the manifest).

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
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from incident_service.crypto import BadSignature, SigningKey, VerifyKey
from incident_service.crypto.signing import sign, verify, verify_key_pem

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_FORMAT = "incident-service-release/1"
INSTRUCTIONS_NAME = "VERIFY.txt"
KEY_NAME = "signing-key.pub"
SUMS_NAME = "SHA256SUMS"
# Unsigned helpers in every download: never "extra" files, and SHA256SUMS is checked.
HELPER_NAMES = frozenset({INSTRUCTIONS_NAME, KEY_NAME, SUMS_NAME})


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
    return verify_files(
        {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()},
        verify_key=verify_key,
    )


def verify_files(found: Mapping[str, bytes], *, verify_key: VerifyKey) -> Verification:
    """Check one folder's files, given by name: the signature, every file, the helpers."""
    for name in (MANIFEST_NAME, SIGNATURE_NAME):
        if name not in found:
            raise MissingFile(name)
    manifest = found[MANIFEST_NAME]
    files = {
        name: content
        for name, content in found.items()
        if name not in (MANIFEST_NAME, SIGNATURE_NAME) and name not in HELPER_NAMES
    }
    result = inspect_manifest(
        manifest=manifest,
        signature=read_signature_file(found[SIGNATURE_NAME]),
        files=files,
        verify_key=verify_key,
    )
    sums = found.get(SUMS_NAME)
    if sums is not None and sums != sha256sums(manifest):
        # `sha256sum -c` would check the files against these lines, not the signed ones.
        result.problems.append(TamperedFile(SUMS_NAME))
    return result


def _folder_with_manifest(directory: Path) -> Path:
    """The folder a download's files are in: `directory` itself, or the one folder inside it
    (what unzipping the archive makes)."""
    if (directory / MANIFEST_NAME).is_file():
        return directory
    inside = [path for path in directory.iterdir() if (path / MANIFEST_NAME).is_file()]
    if len(inside) == 1:
        return inside[0]
    if len(inside) > 1:
        names = ", ".join(sorted(path.name for path in inside))
        raise ManifestError(f"{directory}: holds several releases ({names}); name one of them")
    raise ManifestError(
        f"{directory}: no {MANIFEST_NAME} in it or in a folder inside it; give the downloaded "
        ".zip, the folder it unzips into, or the release folder inside that"
    )


def _archive_files(path: Path) -> dict[str, bytes]:
    """The files of the folder in a downloaded archive that holds the manifest."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except zipfile.BadZipFile as exc:
        raise ManifestError(f"{path.name}: not a zip archive") from exc
    folders = sorted(
        name[: -len(MANIFEST_NAME)]
        for name in entries
        if name == MANIFEST_NAME or name.endswith("/" + MANIFEST_NAME)
    )
    if len(folders) != 1:
        raise ManifestError(
            f"{path.name}: expected one {MANIFEST_NAME} in the archive, found {len(folders)}"
        )
    folder = folders[0]
    return {
        name[len(folder) :]: content
        for name, content in entries.items()
        if name.startswith(folder) and "/" not in name[len(folder) :]
    }


def verify_path(path: Path, *, verify_key: VerifyKey) -> Verification:
    """Check a download however it is given: the .zip, the folder it unzips into, or the
    release folder inside that."""
    if path.is_dir():
        return verify_directory(_folder_with_manifest(path), verify_key=verify_key)
    return verify_files(_archive_files(path), verify_key=verify_key)


def sha256sums(manifest: bytes) -> bytes:
    """The manifest's hashes in the format `sha256sum -c` reads (two spaces: text mode)."""
    document = json.loads(manifest.decode("utf-8"))
    lines = [f"{entry['sha256']}  {entry['name']}\n" for entry in document["files"]]
    return "".join(lines).encode("utf-8")


VERIFY_TEXT = """\
How to check this release with standard tools
==============================================

This folder holds a summary published by the incident service. The files in it:

- manifest.json lists every file of the release with its size and SHA-256 hash;
- manifest.sig is the Ed25519 signature of manifest.json, in base64;
- signing-key.pub is the public key the service signs releases with (PEM);
- SHA256SUMS repeats the hashes of manifest.json in the form sha256sum reads;
- VERIFY.txt is this text.

The last three are helpers and are not signed themselves. Only the signature and the public key
you trust make the release trustworthy.

1. Make sure the key is the service's. Download the key from the service's site
   (/summaries/signing-key.pub), or take it from the service's documentation, and compare:

       cmp signing-key.pub the-key-you-downloaded.pub

   No output means they are the same. This key's fingerprint is {fingerprint}.

2. Check the signature of the manifest with OpenSSL (version 3.0 or later):

       openssl base64 -d -A -in manifest.sig -out manifest.sig.bin
       openssl pkeyutl -verify -pubin -inkey signing-key.pub -rawin \\
           -in manifest.json -sigfile manifest.sig.bin

   It must print "Signature Verified Successfully". Anything else means that manifest.json was
   changed or signed with another key: do not use the files.

3. Check every file against the manifest:

       sha256sum -c SHA256SUMS

   (on macOS: shasum -a 256 -c SHA256SUMS). Every line must end in "OK". Each line of
   SHA256SUMS must also appear in manifest.json as the "sha256" and "name" of one file, since
   it is manifest.json that is signed; the service's own tool checks that for you:

       incident-service summaries verify {folder}.zip --key signing-key.pub


Как проверить эту сводку стандартными средствами
================================================

manifest.json перечисляет все файлы сводки с их размером и хешем SHA-256; manifest.sig — подпись
Ed25519 файла manifest.json (base64); signing-key.pub — открытый ключ сервиса (PEM); SHA256SUMS
повторяет хеши из manifest.json в формате sha256sum. Последние три файла и этот текст не
подписаны.

1. Убедитесь, что ключ принадлежит сервису: скачайте ключ с сайта сервиса
   (/summaries/signing-key.pub) и сравните: cmp signing-key.pub скачанный-ключ.pub
   (пустой вывод — ключи совпадают). Отпечаток ключа: {fingerprint}.

2. Проверьте подпись манифеста (OpenSSL 3.0 или новее):

       openssl base64 -d -A -in manifest.sig -out manifest.sig.bin
       openssl pkeyutl -verify -pubin -inkey signing-key.pub -rawin \\
           -in manifest.json -sigfile manifest.sig.bin

   Должно быть выведено "Signature Verified Successfully". Иначе файл manifest.json изменён
   или подписан другим ключом: не используйте файлы.

3. Проверьте каждый файл: sha256sum -c SHA256SUMS — каждая строка должна заканчиваться на "OK".
   Каждая строка SHA256SUMS должна совпадать с "sha256" и "name" одного из файлов в
   manifest.json (подписан именно manifest.json).
"""


def download_helpers(manifest: bytes, verify_key: VerifyKey, *, folder: str) -> dict[str, bytes]:
    """VERIFY.txt, the public key and SHA256SUMS, for a download of the release `manifest`."""
    return {
        INSTRUCTIONS_NAME: VERIFY_TEXT.format(fingerprint=verify_key.fingerprint, folder=folder)
        .replace("\n", "\r\n")
        .encode("utf-8"),
        KEY_NAME: verify_key_pem(verify_key).encode("ascii"),
        SUMS_NAME: sha256sums(manifest),
    }


def write_directory(
    directory: Path,
    *,
    files: Sequence[FileLike],
    manifest: bytes,
    signature: bytes,
    verify_key: VerifyKey | None = None,
) -> None:
    """Lay a release out as it is downloaded (used by the CLI export and by tests); with the
    public key, the helpers that let standard tools check it too."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        (directory / file.name).write_bytes(file.content)
    (directory / MANIFEST_NAME).write_bytes(manifest)
    (directory / SIGNATURE_NAME).write_bytes(signature_file(signature))
    if verify_key is not None:
        helpers = download_helpers(manifest, verify_key, folder=directory.name)
        for name, content in helpers.items():
            (directory / name).write_bytes(content)
