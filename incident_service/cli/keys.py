"""CLI: `incident-service init` and `incident-service keys show|generate|rotate`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from incident_service import keystore
from incident_service.crypto import SuiteId
from incident_service.keystore import current_keyring
from incident_service.models import db
from incident_service.resources import upgrade_database


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Migrate the database, create missing keys and the default organisation's team key."""
    from incident_service.auth.teams import bootstrap_path, ensure_organisation

    settings = current_app.extensions["incident_config"]
    keys_dir = Path(settings.KEYS_DIR)
    created = keystore.generate_keys(
        keys_dir,
        suite=SuiteId.from_name(settings.HPKE_SUITE),
        development=not settings.is_production,
    )
    for name in created:
        click.echo(f"created key file {keys_dir / name}")
    upgrade_database()
    click.echo("database migrated to the latest revision")
    organisation = ensure_organisation()
    db.session.commit()
    path = bootstrap_path(keys_dir, organisation.slug)
    if path.exists() and settings.is_production:
        click.echo(
            f"ACTION NEEDED: the team key is in the clear in {path}.\n"
            "  Create your first supervisor (`incident-service users create EMAIL --role "
            "supervisor`, which grants it), then move this file offline: web and worker refuse "
            "to start beside it."
        )
    elif path.exists():
        click.echo(
            "team key: kept in the development keys folder; `incident-service seed` grants it "
            "to the demo caseworker and supervisor. Nothing to do."
        )


@click.group("keys")
def keys_group() -> None:
    """Inspect and manage key files."""


@keys_group.command("show")
@with_appcontext
def keys_show() -> None:
    """Print the fingerprints of the public keys this process knows."""
    from sqlalchemy import select

    from incident_service.crypto import RecipientPublicKey
    from incident_service.models import Organisation, TeamKey

    ring = current_keyring()
    if ring.development:
        click.echo("WARNING: development keys")
    if ring.statistics_public is not None:
        click.echo(
            f"statistics  {ring.statistics_public.key_id.hex()}  "
            f"{ring.statistics_public.fingerprint}"
        )
    if ring.verify_key is not None:
        click.echo(f"signing     {ring.verify_key.key_id.hex()}  {ring.verify_key.fingerprint}")
    if ring.evidence_public is not None:
        evidence = ring.evidence_public
        click.echo(f"evidence    {evidence.key_id.hex()}  {evidence.fingerprint}")
    if ring.dossier_verify_key is not None:
        dossier = ring.dossier_verify_key
        click.echo(f"dossier     {dossier.key_id.hex()}  {dossier.fingerprint}")
    rows = db.session.execute(
        select(Organisation.slug, TeamKey).join(TeamKey).where(TeamKey.active.is_(True))
    ).all()
    for slug, team_key in rows:
        public = RecipientPublicKey(SuiteId.from_number(team_key.suite), team_key.public_key)
        click.echo(f"team:{slug}  {team_key.key_id}  {public.fingerprint}")


@keys_group.command("rotate")
@click.option("--organisation", "slug", default="default", show_default=True)
@click.option("--supervisor", "email", help="Unlock the current team key with this account.")
@click.option("--suite", default=None, help="HPKE suite of the new key (default: HPKE_SUITE).")
@with_appcontext
def keys_rotate(slug: str, email: str | None, suite: str | None) -> None:
    """Rotate an organisation's team key: re-seal every envelope, re-grant every holder.

    The current key is opened with a supervisor's passphrase (asked for, never echoed), or from
    the bootstrap file if it is still in the keys directory. Takes about 35 s longer than the
    re-sealing itself, to wait out other processes' memory of the old key.
    """
    from sqlalchemy import select

    from incident_service.auth import accounts, rotation, teams
    from incident_service.crypto import CryptoError
    from incident_service.models import Organisation

    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise click.ClickException(f"no organisation {slug!r}")
    actor_id = None
    if email:
        user = accounts.find_user(email)
        if user is None or user.role != "supervisor" or not user.active:
            raise click.ClickException("no active supervisor with that address")
        passphrase = click.prompt("key passphrase", hide_input=True)
        try:
            user_key = accounts.unlock_user_key(user=user, passphrase=passphrase)
            held = rotation.held_team_keys(user=user, user_key=user_key)
        except (CryptoError, teams.TeamKeyUnavailable, accounts.AccountError) as exc:
            raise click.ClickException(f"could not open the team key: {exc}") from None
        actor_id = user.id
    else:
        bootstrap = teams.load_bootstrap_key(organisation, Path(current_app.config["KEYS_DIR"]))
        if bootstrap is None:
            raise click.ClickException("give --supervisor EMAIL: no bootstrap file to use")
        held = [bootstrap]
    chosen = SuiteId.from_name(suite or current_app.config["HPKE_SUITE"])
    click.echo("switching to a new team key and re-sealing; this takes a minute or more")
    try:
        result = rotation.rotate_team_key(
            organisation=organisation, held_keys=held, suite=chosen, actor_id=actor_id
        )
    except rotation.RotationRefused as exc:
        raise click.ClickException(str(exc)) from None
    bootstrap_file = teams.bootstrap_path(Path(current_app.config["KEYS_DIR"]), slug)
    if (
        bootstrap_file.exists()
        and teams.load_bootstrap_key(organisation, bootstrap_file.parent) is None
    ):
        bootstrap_file.unlink()  # it held the retired key, which now opens nothing
        click.echo(f"removed {bootstrap_file}: it held the retired key")
    click.echo(
        f"team key {result.old_key_id} -> {result.new_key_id}: "
        f"{result.envelopes_moved} envelopes re-sealed, {result.grants_renewed} holders granted "
        "the new key (their sessions ended: they unlock again)"
    )


@keys_group.command("generate")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--suite", default="mlkem768-x25519", show_default=True)
def keys_generate(out_dir: Path, suite: str) -> None:
    """Generate production key files into OUT (then split web and worker files)."""
    created = keystore.generate_keys(out_dir, suite=SuiteId.from_name(suite), development=False)
    for name in created:
        click.echo(f"created {out_dir / name}")
    click.echo(
        "web needs: "
        + ", ".join(keystore.WEB_FILES)
        + "\nworker needs: "
        + ", ".join(keystore.WORKER_FILES)
        + "\nevidence worker needs: "
        + ", ".join(keystore.EVIDENCE_FILES)
    )
