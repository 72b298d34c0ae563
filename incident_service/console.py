"""The `incident-service` console script: build the app, then run its command group."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from incident_service import create_app
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


if __name__ == "__main__":
    main()
