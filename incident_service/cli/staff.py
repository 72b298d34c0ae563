"""CLI: `incident-service users create|grant|list|deactivate` and `audit verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from incident_service import audit
from incident_service.auth import accounts, enrolment, teams
from incident_service.constants import Role
from incident_service.models import Organisation, User, db


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role", "role_name", type=click.Choice([role.value for role in Role]), required=True
)
@click.option(
    "--organisation",
    "slug",
    default=teams.DEFAULT_ORGANISATION_SLUG,
    show_default=True,
    help="Slug of the organisation the account belongs to.",
)
@click.option(
    "--create-organisation",
    is_flag=True,
    help="Create the organisation (and its team key) if it does not exist yet.",
)
@with_appcontext
def users_create(email: str, role_name: str, slug: str, create_organisation: bool) -> None:
    """Enrol EMAIL: prints a one-time password, once, and nothing else.

    No TOTP secret and no key: the new staff member enrols the authenticator app and makes the
    key pair at their own first login, so the operator who hands over the password never holds
    their second factor. The first supervisor is then granted the team key with `users grant`.
    """
    role = Role(role_name)
    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        if slug != teams.DEFAULT_ORGANISATION_SLUG and not create_organisation:
            click.echo(
                f"no organisation {slug!r}; add --create-organisation to create it", err=True
            )
            sys.exit(2)
        organisation = teams.ensure_organisation(slug=slug, name=slug)
    try:
        created = enrolment.create_user(email=email, role=role, organisation=organisation)
    except accounts.AccountError as exc:
        db.session.rollback()
        click.echo(f"refused: {exc}", err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"account:            {created.user.email} ({role.value}, {organisation.slug})")
    click.echo(f"one-time password:  {created.one_time_password}")
    click.echo("Hand it over in person; it is not shown again. At the first login (the code field")
    click.echo("left empty) they add an authenticator app and choose a password", nl=False)
    if role.opens_reports:
        click.echo(" and a key passphrase;")
        click.echo("they are then shown their key fingerprint. The team key is granted only to")
        click.echo("that fingerprint, read out by them: by a supervisor in the staff pages, or for")
        click.echo("the first supervisor with `incident-service users grant EMAIL --fingerprint`.")
    else:
        click.echo(".")


@users_group.command("grant")
@click.argument("email")
@click.option(
    "--fingerprint",
    required=True,
    help="The key fingerprint the person read out to you from their own screen after setup.",
)
@with_appcontext
def users_grant(email: str, fingerprint: str) -> None:
    """Grant EMAIL the team key from the bootstrap file (the first supervisors).

    Only after their first login, and only to the key whose fingerprint they read out to you.
    """
    user = accounts.find_user(email)
    if user is None or not user.active:
        click.echo("no such account", err=True)
        sys.exit(2)
    try:
        granted = teams.grant_from_bootstrap(
            user=user, keys_dir=Path(current_app.config["KEYS_DIR"]), typed_fingerprint=fingerprint
        )
    except teams.TeamKeyUnavailable:
        click.echo("refused: they have not finished their first login yet", err=True)
        sys.exit(2)
    except teams.HolderNotConfirmed:
        db.session.rollback()
        click.echo(
            "refused: that is not the fingerprint of their key; ask them to read it again from "
            "their own screen (if they cannot log in, someone else set the account up)",
            err=True,
        )
        sys.exit(2)
    if not granted:
        click.echo(
            "refused: the bootstrap file is not here; a supervisor grants the key in the staff "
            "pages (Team keys)",
            err=True,
        )
        sys.exit(2)
    db.session.commit()
    click.echo(f"team key granted to {user.email} from the bootstrap file")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List accounts (email, role, organisation, state)."""
    rows = db.session.execute(
        select(User, Organisation.slug).join(Organisation).order_by(Organisation.slug, User.email)
    ).all()
    for user, slug in rows:
        state = (
            "deactivated"
            if not user.active
            else "first login pending"
            if user.must_change_password
            else "active"
        )
        click.echo(f"{user.email}\t{user.role}\t{slug}\t{state}")


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def users_deactivate(email: str) -> None:
    """Deactivate EMAIL and end its sessions."""
    user = accounts.find_user(email)
    if user is None:
        click.echo("no such account", err=True)
        sys.exit(2)
    accounts.deactivate_user(user=user, actor_id=None)
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@click.option(
    "--head",
    "expected_head",
    default=None,
    help="A head hash printed by an earlier run (kept outside the database): it must still be "
    "in the chain.",
)
@with_appcontext
def audit_verify(expected_head: str | None) -> None:
    """Check every entry's hash and link; name the first broken entry."""
    try:
        report = audit.verify_chain(expected_head=expected_head)
    except audit.AuditChainBroken as exc:
        click.echo(f"audit chain BROKEN at entry {exc.entry_id}: {exc.reason}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {report.entries} entries, last hash {report.last_hash}")


@audit_group.command("fold")
@with_appcontext
def audit_fold() -> None:
    """Put the reporter actions of days that have ended into the chain (beat does it hourly)."""
    click.echo(f"{audit.fold_reporter_actions()} reporter action(s) joined the audit chain")


@audit_group.command("coarsen")
@with_appcontext
def audit_coarsen() -> None:
    """Rewrite times finer than this version keeps (entries written before it), after checking
    the chain, and re-chain; prints the old and new heads to keep."""
    try:
        old_head, new_head, changed = audit.coarsen_chain()
    except audit.AuditChainBroken as exc:
        click.echo(f"audit chain BROKEN at entry {exc.entry_id}: {exc.reason}", err=True)
        sys.exit(1)
    click.echo(f"{changed} entries coarsened; head {old_head} -> {new_head}")
