"""Staff authentication: log-in with password and TOTP, server-side sessions, unlocking keys."""

from __future__ import annotations

from flask_login import LoginManager


def _no_client_fingerprint() -> str:
    # Flask-Login would otherwise put a hash of the client's address and user agent into the
    # cookie; staff sessions are bound by their server-side row instead, and this service
    # keeps no trace of addresses or user agents anywhere.
    return ""


def configure_login(manager: LoginManager) -> None:
    """Wire Flask-Login to the server-side sessions."""
    from incident_service.auth.access import load_principal

    manager.session_protection = None
    manager._session_identifier_generator = _no_client_fingerprint
    manager.login_view = "auth.login"
    manager.user_loader(load_principal)
