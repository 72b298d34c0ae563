"""The `incident-service` command line: every command, attached to the app by `register_commands`.

The console script itself (`incident_service.console:main`) builds the app and runs its command
group. Commands that live outside the package (the demo data's `seed`) join through the
`incident_service.commands` entry point group declared in `pyproject.toml`, so that the package
never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from flask import Flask

from incident_service.cli import evidence, keys, partners, pipeline, staff, summaries

PLUGIN_GROUP = "incident_service.commands"


def register_commands(app: Flask) -> None:
    for command in (
        keys.init_command,
        keys.keys_group,
        pipeline.pipeline_group,
        pipeline.purge_command,
        pipeline.reports_group,
        staff.users_group,
        staff.audit_group,
        summaries.summaries_group,
        partners.partners_group,
        evidence.evidence_group,
    ):
        app.cli.add_command(command)
    for entry in entry_points(group=PLUGIN_GROUP):
        app.cli.add_command(entry.load(), entry.name)
