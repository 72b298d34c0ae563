"""CLI: `incident-service partners token issue|list|revoke` — tokens for partner apps.

A partner app (a Telegram bot, a mobile app) relays many reporters from one address. With its
token it files under a quota of its own (`API_REPORT_RATE_LIMIT`) instead of the per-address
allowance the form and anonymous API callers share.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from incident_service.auth import api_tokens
from incident_service.cli import summaries
from incident_service.models import db


@click.group("partners")
def partners_group() -> None:
    """Partner apps that file reports through the API."""


@partners_group.group("token")
def token_group() -> None:
    """API tokens for partner apps."""


@token_group.command("issue")
@click.option("--label", required=True, help="the partner app the token is for")
@click.option("--days", type=int, default=api_tokens.MAX_VALID_DAYS, show_default=True)
@with_appcontext
def token_issue(label: str, days: int) -> None:
    """Issue a partner app's token; it is shown once and only its hash is kept."""
    try:
        row, token = api_tokens.issue_partner_token(label=label, valid_days=days)
        db.session.commit()
    except api_tokens.TokenNotAllowed as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"partner token {row.id} for {row.label!r}, valid until {row.expires_on}:")
    click.echo(token)


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    """List partner tokens (never the tokens themselves)."""
    for row, _user in api_tokens.list_tokens(api_tokens.PARTNER):
        state = f"revoked {row.revoked_on}" if row.revoked_on else f"valid until {row.expires_on}"
        click.echo(f"{row.id:>5}  {state}  {row.label}")


# Revoking is the same for every kind of token: the officials' command serves here too.
token_group.add_command(summaries.token_revoke, "revoke")
