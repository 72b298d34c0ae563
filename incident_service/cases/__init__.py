"""The caseworker's workspace: the queue, the case view, triage, events and export."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from incident_service.cases.views import blueprint

    app.register_blueprint(blueprint)
