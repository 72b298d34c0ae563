"""CLI: `incident-service users create|list|deactivate` and `incident-service audit verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from incident_service import audit
from incident_service.auth import accounts, teams
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
    """Enrol EMAIL: prints a one-time password and the TOTP otpauth:// URI, once."""
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
        created = accounts.create_user(email=email, role=role, organisation=organisation)
    except accounts.AccountError as exc:
        db.session.rollback()
        click.echo(f"refused: {exc}", err=True)
        sys.exit(2)
    granted = role.opens_reports and teams.grant_from_bootstrap(
        user=created.user, keys_dir=Path(current_app.config["KEYS_DIR"])
    )
    db.session.commit()
    click.echo(f"account:            {created.user.email} ({role.value}, {organisation.slug})")
    click.echo(f"one-time password:  {created.one_time_password}")
    click.echo(f"TOTP (authenticator app): {created.totp_uri}")
    if role.opens_reports:
        if granted:
            click.echo("team key:           granted from the bootstrap file")
        else:
            click.echo("team key:           not granted; a supervisor grants it after first login")
    click.echo("Hand these over in person; they are not shown again. First login asks for a new")
    click.echo("password" + (" and a key passphrase." if role.opens_reports else "."))


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
