"""Staff authentication: log-in with password and TOTP, server-side sessions, unlocking keys."""

from __future__ import annotations

from flask import Flask

from incident_service.extensions import login_manager


def _no_client_fingerprint() -> str:
    # Flask-Login would otherwise put a hash of the client's address and user agent into the
    # cookie; staff sessions are bound by their server-side row instead, and this service
    # keeps no trace of addresses or user agents anywhere.
    return ""


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the server-side sessions and register the blueprint."""
    from incident_service.auth.access import load_principal
    from incident_service.auth.views import blueprint

    login_manager.session_protection = None
    login_manager._session_identifier_generator = _no_client_fingerprint
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_principal)
    app.register_blueprint(blueprint)
