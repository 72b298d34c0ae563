"""Summaries for officials: rendering, signing and serving disclosure-controlled releases.

The release logic lives in `services/releases.py`; this package turns a release into files
(`render`, `export`, `charts`, `narrative`), signs and verifies them (`manifest`), and serves
them (`views` for staff and officials, `api` for token holders, `cli` for operators).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the summaries pages, the public key and the officials' API to `app`."""
    from incident_service.extensions import csrf
    from incident_service.summaries import api, public, views

    # Bearer-token GET endpoints: no cookie is involved, so there is nothing for CSRF to guard.
    csrf.exempt(api.blueprint)
    app.register_blueprint(public.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(views.blueprint)
