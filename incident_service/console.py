"""The `incident-service` console script: build the app, then run its command group."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo, run_command

from incident_service import create_app, keystore
from incident_service.cli.keys import keys_group
from incident_service.settings import UnsafeConfiguration


def _create_app() -> Flask:
    try:
        return create_app()
    except UnsafeConfiguration as exc:
        click.echo(f"refusing to start: {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Incident Service: encrypted incident reports, case handling and safe statistics."""


# `keys` sits on the group itself as well as on the app: `keys generate --out DIR` must run
# where no app can start yet (production settings before the keys exist) and must write
# nothing but DIR. Its siblings that need the app (`show`, `rotate`) load it themselves.
main.add_command(keys_group)


@click.pass_context
def _run_with_notice(ctx: click.Context, /, **options: object) -> None:
    app = ctx.ensure_object(ScriptInfo).load_app()
    ring = app.extensions["incident_keys"]
    if ring.development:
        keystore.warn_development(ring.keys_dir)
    ctx.invoke(run_command, **options)


# Flask's development server, saying once that it serves with development keys.
main.add_command(
    click.Command(
        "run",
        callback=_run_with_notice,
        params=run_command.params,
        help=run_command.help,
        short_help=run_command.short_help,
    )
)


if __name__ == "__main__":
    main()
