"""Summaries for officials: rendering, signing and serving disclosure-controlled releases.

The release logic lives in `services/releases.py`; this package turns a release into files
(`render`, `export`, `charts`, `narrative`), signs and verifies them (`manifest`), and serves
them (`views` for staff and officials, `api` for token holders, `cli` for operators).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the summaries pages and the public key to `app`."""
    from incident_service.summaries import public, views

    # The officials' API routes live on the shared /api/v1 blueprint (`summaries.api`, listed
    # in `incident_service.api.API_MODULES`).
    app.register_blueprint(public.blueprint)
    app.register_blueprint(views.blueprint)
