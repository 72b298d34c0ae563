"""`incident-service evidence ...`: the transparency log's proofs, tree heads, and checking them
offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from incident_service.cli.summaries import load_verify_key
from incident_service.crypto.timestamps import certificate_der_from_pem
from incident_service.evidence import log as evidence_log
from incident_service.keystore import KeyFileMissing
from incident_service.models import db

EXPECTED = (
    evidence_log.EvidenceNotFound,
    evidence_log.LeafNotYetLogged,
    evidence_log.TreeHeadNotFound,
    KeyFileMissing,
)


@click.group("evidence")
def evidence_group() -> None:
    """Inclusion and consistency proofs of the evidence log, and their offline check."""


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@evidence_group.command("prove")
@click.argument("file_id")
@with_appcontext
def prove_command(file_id: str) -> None:
    """Print the inclusion proof (JSON) of FILE_ID's commitment under the newest tree head."""
    try:
        _print(evidence_log.inclusion_proof(file_id))
    except EXPECTED as exc:
        raise click.ClickException(str(exc) or type(exc).__name__) from exc


@evidence_group.command("consistency")
@click.argument("first_size", type=int)
@click.argument("second_size", type=int, required=False)
@with_appcontext
def consistency_command(first_size: int, second_size: int | None) -> None:
    """Print the consistency proof (JSON) from the head of FIRST_SIZE to SECOND_SIZE (default:
    the newest head)."""
    try:
        _print(evidence_log.consistency_proof(first_size, second_size))
    except EXPECTED as exc:
        raise click.ClickException(str(exc)) from exc


@evidence_group.command("head")
@with_appcontext
def head_command() -> None:
    """Print the newest signed tree head (JSON)."""
    head = evidence_log.latest_tree_head()
    if head is None:
        raise click.ClickException("the evidence log has no signed tree head yet")
    _print(head.to_json())


@evidence_group.command("publish")
@with_appcontext
def publish_command() -> None:
    """Append the finished days' commitments and sign a tree head now (needs the signing key;
    the worker does this hourly and at each release)."""
    try:
        head = evidence_log.publish_tree_head()
        db.session.commit()
    except EXPECTED as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    if head is None:
        click.echo("the evidence log is empty")
        return
    click.echo(f"tree head {head.tree_size} {head.root_hash.hex()} signed on {head.signed_on}")


@evidence_group.command("verify")
@click.argument("proof", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the service's public key (signing-key.pub); default: this installation's key",
)
@click.option(
    "--tsa-cert",
    "tsa_cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the timestamping authority's certificate (PEM) that stamps must come from",
)
@with_appcontext
def verify_command(proof: Path, key_path: Path | None, tsa_cert: Path | None) -> None:
    """Check an inclusion or consistency proof from a file, offline (no database is read)."""
    key = load_verify_key(key_path)
    pinned = certificate_der_from_pem(tsa_cert.read_bytes()) if tsa_cert else None
    try:
        document = json.loads(proof.read_text(encoding="utf-8"))
        account = evidence_log.verify_document(document, verify_key=key, tsa_certificate=pinned)
    except (ValueError, evidence_log.ProofDocumentInvalid) as exc:
        raise click.ClickException(f"FAILED: {exc}") from exc
    click.echo(f"OK: {account}; signed by {key.fingerprint}")


@evidence_group.command("verify-dossier")
@click.argument("dossier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the organisation's published dossier key (PEM); default: the key in the dossier, "
    "whose fingerprint you must then compare with the published one",
)
@click.option(
    "--log-key",
    "log_key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the service's release signing key (signing-key.pub), to check the tree heads",
)
def verify_dossier_command(dossier: Path, key_path: Path | None, log_key_path: Path | None) -> None:
    """Check a referral dossier offline: signatures, every file's SHA-256, each original's
    commitment and its inclusion proof in the evidence log. Reads no database."""
    from incident_service.crypto import CryptoError
    from incident_service.crypto.signing import verify_key_from_pem
    from incident_service.evidence.dossier import DossierInvalid, verify_dossier

    try:
        key = verify_key_from_pem(key_path.read_bytes()) if key_path else None
        log_key = load_verify_key(log_key_path) if log_key_path else None
        check = verify_dossier(dossier.read_bytes(), dossier_key=key, log_key=log_key)
    except (DossierInvalid, CryptoError, ValueError) as exc:
        raise click.ClickException(f"FAILED: {exc}") from exc
    click.echo(f"OK: {len(check.files)} files match the signed manifest")
    click.echo(f"signed by {check.key_fingerprint}")
    if check.key_from_dossier:
        click.echo(
            "  (the key inside the dossier: compare this fingerprint with the published one)"
        )
    for path in check.originals_logged:
        state = "under a signed tree head" if log_key else "under its tree head (head unchecked)"
        click.echo(f"{path}: commitment in the evidence log, {state}")
    for path in check.originals_not_yet_logged:
        click.echo(f"{path}: commitment matches; not yet in the log when the dossier was made")
