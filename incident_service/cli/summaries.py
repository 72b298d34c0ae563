"""`incident-service summaries ...`: generate, publish, export and verify releases; API tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from incident_service.auth import api_tokens
from incident_service.crypto import CryptoError, VerifyKey
from incident_service.crypto.signing import verify_key_from_pem
from incident_service.keystore import KeyFileMissing, current_keyring
from incident_service.models import User, db
from incident_service.releases import lifecycle as releases
from incident_service.releases.disclosure import AuditFailed
from incident_service.releases.documents.manifest import (
    ManifestError,
    verify_path,
    write_directory,
)
from incident_service.releases.errors import ReleaseError
from incident_service.releases.periods import PeriodError
from incident_service.releases.privacy import PrivacyBudgetExhausted

# The failures a staff member can act on; each carries a message written for them.
EXPECTED = (
    PeriodError,
    ReleaseError,
    PrivacyBudgetExhausted,
    AuditFailed,
    KeyFileMissing,
)


@click.group("summaries")
def summaries_group() -> None:
    """Generate, publish, export and verify releases; issue API tokens to officials."""


def _user(email: str) -> User:
    user: User | None = db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    )
    if user is None:
        raise click.ClickException(f"no staff account {email}")
    return user


@contextmanager
def _committed() -> Iterator[None]:
    """Commit what the block did; on an expected failure, roll it back and say why."""
    try:
        yield
        db.session.commit()
    except EXPECTED as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc


@summaries_group.command("generate")
@click.option("--period", required=True, help="2024-11, 2024-Q4 or 2024")
@click.option(
    "--method", type=click.Choice(["suppression", "dp"]), default="suppression", show_default=True
)
@click.option("--epsilon", type=float, help="privacy budget of a dp release")
@click.option("--threshold", type=int, help="smallest count shown (suppression)")
@click.option("--languages", help="comma-separated document languages (ru,en,tg)")
@with_appcontext
def generate_command(
    period: str,
    method: str,
    epsilon: float | None,
    threshold: int | None,
    languages: str | None,
) -> None:
    """Generate (or find) the release of PERIOD; it stays a draft until a supervisor publishes."""
    parameters: dict[str, Any] = {}
    if epsilon is not None:
        parameters["epsilon"] = epsilon
    if threshold is not None:
        parameters["threshold"] = threshold
        parameters["protection_width"] = threshold
    if languages:
        parameters["languages"] = [part.strip() for part in languages.split(",") if part.strip()]
    try:
        release = releases.generate_release(
            period=period, method=method, parameters=parameters or None
        )
    except EXPECTED as exc:
        raise click.ClickException(str(exc)) from exc
    content = releases.content_of(release)
    click.echo(
        f"release {release.id}: {release.period} {release.method} ({release.status}), "
        f"{len(release.files)} files, reports: {_shown(content.get('reports'))}"
    )
    if content.get("status") == "no_reports":
        click.echo("no reports were recorded for this period")


def _shown(value: object) -> str:
    return "not shown" if value is None else str(value)


@summaries_group.command("list")
@with_appcontext
def list_command() -> None:
    """List releases, newest period first."""
    for release in releases.list_releases(include_drafts=True):
        click.echo(
            f"{release.id:>5}  {release.period:<8} {release.method:<12} {release.status:<10} "
            f"{release.parameters_digest[:12]}"
        )


@summaries_group.command("publish")
@click.argument("release_id", type=int)
@click.option("--by", "email", required=True, help="the supervisor publishing it")
@with_appcontext
def publish_command(release_id: int, email: str) -> None:
    """Publish a draft: officials can see and download it from now on."""
    with _committed():
        release = releases.publish_release(release_id, actor=_user(email))
    click.echo(f"release {release.id} ({release.period}) is published")


@summaries_group.command("discard")
@click.argument("release_id", type=int)
@click.option("--by", "email", required=True, help="the supervisor discarding it")
@with_appcontext
def discard_command(release_id: int, email: str) -> None:
    """Delete a threshold-rule draft so it can be generated again from current data."""
    with _committed():
        releases.discard_draft(release_id, actor=_user(email))
    click.echo(f"draft {release_id} discarded")


@summaries_group.command("export")
@click.argument("release_id", type=int)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(release_id: int, directory: Path) -> None:
    """Write a release's files, manifest and signature into DIRECTORY."""
    try:
        release = releases.get_release(release_id)
    except EXPECTED as exc:
        raise click.ClickException(str(exc)) from exc
    write_directory(
        directory,
        files=release.files,
        manifest=release.manifest or b"",
        signature=release.signature or b"",
        verify_key=current_keyring().require_verify_key(),
    )
    click.echo(
        f"wrote {len(release.files) + 2} files to {directory}, with VERIFY.txt, "
        "signing-key.pub and SHA256SUMS"
    )


def load_verify_key(path: Path | None) -> VerifyKey:
    if path is None:
        ring = current_keyring()
        try:
            return ring.require_verify_key()
        except KeyFileMissing as exc:
            raise click.ClickException(f"{exc}; pass --key signing-key.pub") from exc
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("{"):
            document = json.loads(text)
            return VerifyKey(base64.b64decode(document["public"]))
        return verify_key_from_pem(text)
    except (CryptoError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{path} is not an Ed25519 public key") from exc


@summaries_group.command("verify")
@click.argument("download", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the service's public key (signing-key.pub); default: this installation's key",
)
@with_appcontext
def verify_command(download: Path, key_path: Path | None) -> None:
    """Check a downloaded release: the signature, and every file against the manifest.
    DOWNLOAD is the .zip, the folder it unzips into, or the release folder inside that."""
    key = load_verify_key(key_path)
    try:
        result = verify_path(download, verify_key=key)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in result.problems:
        click.echo(f"FAILED {problem}", err=True)
    for name in result.extra:
        click.echo(f"note: {name} is not part of the release", err=True)
    if not result.ok:
        raise click.ClickException(
            f"{len(result.problems)} file(s) do not match the signed manifest"
        )
    click.echo(
        f"OK: {result.period} ({result.method}), {len(result.checked)} files match the manifest "
        f"signed by {key.fingerprint}"
    )
    if result.evidence_tree_size is not None:
        click.echo(f"the release pins the evidence log at {result.evidence_tree_size} leaves")


@summaries_group.group("token")
def token_group() -> None:
    """API tokens for officials' clients."""


@token_group.command("issue")
@click.argument("email")
@click.option("--days", type=int, default=api_tokens.DEFAULT_VALID_DAYS, show_default=True)
@click.option("--label", default="", help="what the token is for")
@with_appcontext
def token_issue(email: str, days: int, label: str) -> None:
    """Issue a token to the official EMAIL; it is shown once and only its hash is kept."""
    try:
        row, token = api_tokens.issue_token(user=_user(email), label=label, valid_days=days)
        db.session.commit()
    except api_tokens.TokenNotAllowed as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"token {row.id} for {email}, valid until {row.expires_on}:")
    click.echo(token)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    try:
        row = api_tokens.revoke_token(token_id)
        db.session.commit()
    except api_tokens.TokenError as exc:
        raise click.ClickException(f"no token {token_id}") from exc
    click.echo(f"token {row.id} revoked on {row.revoked_on}")


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    """List tokens (never the tokens themselves)."""
    for row, user in api_tokens.list_tokens():
        state = f"revoked {row.revoked_on}" if row.revoked_on else f"valid until {row.expires_on}"
        owner = user.email if user is not None else "-"
        click.echo(f"{row.id:>5}  {owner:<40} {state}  {row.label}")
