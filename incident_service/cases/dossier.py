"""A referral dossier: the case PDF, the evidence files chosen (originals, working copies or
both), a signed manifest tying each original to the evidence log, and their custody entries.

Built on the web, in the caseworker's request, because only the caseworker's session holds the
team key that opens the case and the files; signed there with the dossier key (`dossier.key`,
the web's only private key: docs/decisions.md says why it is not the worker's release key).
Every file put in a dossier gets an "exported" custody entry.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from incident_service.cases import export as case_export
from incident_service.crypto import RecipientPrivateKey
from incident_service.crypto.signing import sign, verify_key_pem
from incident_service.evidence import custody
from incident_service.evidence import dossier as fmt
from incident_service.evidence import log as evidence_log
from incident_service.evidence.case_files import EXTENSIONS, EvidenceFileNotFound, get_case_file
from incident_service.evidence.cleaning import open_removed_metadata
from incident_service.evidence.intake import ORIGINAL, WORKING, read_file, verify_original
from incident_service.keystore import current_keyring
from incident_service.models import Report, today

COPIES = (ORIGINAL, WORKING)


class EmptyDossier(Exception):
    """Nothing was chosen: no case part and no file."""


@dataclass(frozen=True)
class Dossier:
    data: bytes
    filename: str


def build_dossier(
    *,
    report: Report,
    parts: Iterable[str],
    files: Mapping[str, Iterable[str]],
    team_key: RecipientPrivateKey,
    actor_id: int,
) -> Dossier:
    """The zip for `report` with the case `parts` and, per file id, the copies chosen
    (`original`, `working`). Records the export of the case and of each file (no commit).
    Raises `EmptyDossier`, `case_files.EvidenceFileNotFound`, or `EvidenceIntegrityError` if
    an original no longer matches what was taken at intake."""
    chosen_parts = sorted(set(parts) & set(case_export.EXPORT_PARTS))
    chosen_files = {
        file_id: sorted(set(copies) & set(COPIES)) for file_id, copies in files.items() if copies
    }
    if not chosen_parts and not chosen_files:
        raise EmptyDossier
    members: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    if chosen_parts:
        pdf = case_export.export_case_pdf(
            report=report, parts=chosen_parts, team_key=team_key, actor_id=actor_id
        )
        _add(members, entries, "case.pdf", pdf, role="case", media_type="application/pdf")
    for number, (file_id, copies) in enumerate(sorted(chosen_files.items()), start=1):
        row = get_case_file(report.id, file_id)
        for copy in copies:
            _add_file(members, entries, number, row, copy, team_key)
        custody.record_staff_event(
            custody.EXPORTED, row=row, actor_id=actor_id, detail={"copies": copies}
        )
    trail = [entry.as_json() for entry in custody.custody_entries(chosen_files)]
    custody_json = json.dumps(trail, ensure_ascii=False, indent=2).encode() + b"\n"
    _add(
        members,
        entries,
        "custody.json",
        custody_json,
        role="custody",
        media_type="application/json",
    )
    return Dossier(_zip(report, members, entries), f"dossier-{report.id[:8]}.zip")


def _add(
    members: dict[str, bytes],
    entries: list[dict[str, Any]],
    path: str,
    content: bytes,
    *,
    role: str,
    media_type: str,
    **facts: Any,
) -> None:
    members[path] = content
    entries.append(
        {
            "path": path,
            "role": role,
            "media_type": media_type,
            "size": len(content),
            "sha256": fmt.sha256_hex(content),
            **facts,
        }
    )


def _add_file(
    members: dict[str, bytes],
    entries: list[dict[str, Any]],
    number: int,
    row: Any,
    copy: str,
    team_key: RecipientPrivateKey,
) -> None:
    if copy == WORKING:
        removed = open_removed_metadata(row, team_private_key=team_key)
        if removed is None or row.working_object is None:
            raise EvidenceFileNotFound(row.id)
        content = b"".join(read_file(row, team_private_key=team_key, copy=WORKING))
        path = f"files/{number:02d}-working.{EXTENSIONS[removed.working_type]}"
        _add(
            members,
            entries,
            path,
            content,
            role="working",
            media_type=removed.working_type.media_type,
            file_id=row.id,
        )
        return
    metadata = verify_original(row, team_private_key=team_key)  # hash and commitment re-checked
    content = b"".join(read_file(row, team_private_key=team_key))
    try:
        proof: dict[str, Any] | None = evidence_log.inclusion_proof(row.id)
    except evidence_log.LeafNotYetLogged:
        proof = None  # logged the day after it arrived; the commitment still binds it
    _add(
        members,
        entries,
        f"files/{number:02d}-original.{EXTENSIONS[metadata.kind]}",
        content,
        role="original",
        media_type=metadata.kind.media_type,
        file_id=row.id,
        received_on=metadata.received_on.isoformat(),
        salt=metadata.salt.secret.hex(),
        commitment=metadata.commitment.hex,
        inclusion_proof=proof,
    )


def _zip(report: Report, members: dict[str, bytes], entries: list[dict[str, Any]]) -> bytes:
    ring = current_keyring()
    key = ring.require_dossier_key()
    log_key = ring.verify_key
    document: dict[str, Any] = {
        "format": fmt.FORMAT,
        "case": report.id,
        "created_on": today().isoformat(),
        "signing_key": {
            "algorithm": "Ed25519",
            "key_id": key.verify_key.key_id.hex(),
            "fingerprint": key.verify_key.fingerprint,
        },
        "log_key": (
            {"key_id": log_key.key_id.hex(), "fingerprint": log_key.fingerprint}
            if log_key is not None
            else None
        ),
        "files": entries,
    }
    manifest = fmt.manifest_bytes(document)
    sums = fmt.sums_file(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Fixed member times: a zip's own times would date the export to the second.
        day = dt.date.fromisoformat(document["created_on"])
        for name, content in [
            *sorted(members.items()),
            (fmt.MANIFEST, manifest),
            (fmt.MANIFEST_SIGNATURE, sign(manifest, key)),
            (fmt.SUMS, sums),
            (fmt.SUMS_SIGNATURE, sign(sums, key)),
            (fmt.PUBLIC_KEY, verify_key_pem(key.verify_key).encode("ascii")),
            (fmt.README, _readme(key.verify_key.fingerprint)),
        ]:
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


def _readme(fingerprint: str) -> bytes:
    lines = [
        _("Referral dossier: how to check it"),
        "",
        _("1. Compare this fingerprint with the one the organisation published:"),
        f"   {fingerprint}",
        _("2. Check the signature of the list of files:"),
        "   openssl pkeyutl -verify -pubin -inkey dossier-key.pem -rawin \\",
        "           -in SHA256SUMS -sigfile SHA256SUMS.sig",
        _("3. Check every file against the list:"),
        "   sha256sum -c SHA256SUMS",
        _("See manifest.json for each original's commitment and its proof in the evidence log."),
        "",
    ]
    return "\n".join(lines).encode("utf-8")
