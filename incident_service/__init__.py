"""Incident Service: encrypted incident reporting for labour migrants — the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, send_from_directory
from markupsafe import Markup

from incident_service import keystore
from incident_service.auth import configure_login
from incident_service.body_limits import GuardedRequest, LargerBodies, RequestBodyGuard
from incident_service.compression import compress_response
from incident_service.crypto import SuiteId
from incident_service.error_pages import register_error_pages
from incident_service.extensions import babel, celery_init_app, csrf, db, limiter, login_manager
from incident_service.i18n import (
    LANGUAGES,
    STAFF_LANGUAGES,
    install_template_strings,
    select_locale,
)
from incident_service.log_redaction import configure_logging
from incident_service.resources import resource_dir
from incident_service.security import REPORTER_STYLE, apply_security_headers
from incident_service.settings import Config


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the app. `overrides` are extra Flask config values (tests, benchmarks)."""
    settings = config if config is not None else Config.from_env()
    settings.check_production()

    app = Flask(
        __name__,
        instance_path=str(Path(settings.INSTANCE_PATH).resolve()),
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.request_class = GuardedRequest
    app.config.update(settings.as_flask_config())
    app.config.update(overrides)
    app.extensions["incident_config"] = settings

    _load_keys(app, settings)
    _configure_session(app, settings)
    _configure_database(app)

    configure_logging()
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_strings(app)
    login_manager.init_app(app)
    configure_login(login_manager)
    limiter.init_app(app)
    celery_init_app(app)

    _register_blueprints(app)
    register_error_pages(app)
    app.add_url_rule("/favicon.ico", endpoint="favicon", view_func=_favicon)
    _register_template_globals(app)
    app.after_request(_after_request)
    app.wsgi_app = RequestBodyGuard(  # type: ignore[method-assign]
        app.wsgi_app,
        max_length=settings.MAX_CONTENT_LENGTH,
        read_timeout=settings.REQUEST_READ_TIMEOUT,
        larger=_larger_bodies(settings),
    )

    from incident_service.cli import register_commands

    register_commands(app)
    return app


# What multipart framing adds to a form's files and text: a boundary and a few headers per part.
MULTIPART_FRAMING = 64 * 1024


def _larger_bodies(settings: Config) -> list[LargerBodies]:
    """The only requests whose bodies may pass `MAX_CONTENT_LENGTH`: those that carry files."""
    # A piece of a resumable upload may carry a whole file (tus PATCH).
    rules = [LargerBodies("PATCH", "/api/v1/uploads/", settings.EVIDENCE_MAX_BYTES)]
    # The report form and the status page's "add evidence" post files as multipart: a
    # report's worth of files, the text of the form, and the framing. Their text fields stay
    # bounded together by MAX_FORM_MEMORY_SIZE (see `_configure_session`).
    form_limit = settings.EVIDENCE_MAX_REPORT_BYTES + settings.MAX_CONTENT_LENGTH
    # The full form (/report/full) and the "in your own words" step after sending carry files
    # too; the quick report at /report carries none, but keeps accepting what the full form sends.
    for path in ("/report", "/report/full", "/report/details/words", "/status"):
        rules.append(
            LargerBodies(
                "POST",
                path,
                form_limit + MULTIPART_FRAMING,
                exact=True,
                media_type="multipart/form-data",
            )
        )
    return rules


def _load_keys(app: Flask, settings: Config) -> None:
    keys_dir = Path(settings.KEYS_DIR)
    if settings.is_production:
        keystore.check_production_keys(keys_dir, role=settings.PROCESS_ROLE)
    else:
        created = keystore.generate_keys(
            keys_dir, suite=SuiteId.from_name(settings.HPKE_SUITE), development=True
        )
        # Said once when the keys are made; serving says it again (`run`, wsgi), other commands
        # stay quiet, so that `make run` does not print it three times.
        if created:
            keystore.warn_development(keys_dir)
    ring = keystore.load_keyring(keys_dir, role=settings.PROCESS_ROLE)
    app.extensions["incident_keys"] = ring
    if settings.SECRET_KEY:
        app.config["SECRET_KEY"] = settings.SECRET_KEY
    elif not settings.is_production and ring.secret_key:
        app.config["SECRET_KEY"] = ring.secret_key


def _configure_session(app: Flask, settings: Config) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="s",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
        # Reporters' sessions end when the browser closes: never a persistent cookie.
        SESSION_PERMANENT=False,
        # Uploads over slow mobile data can take long; the CSRF token must outlive the form.
        WTF_CSRF_TIME_LIMIT=24 * 3600,
        WTF_CSRF_SSL_STRICT=settings.is_production,
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_STORAGE_URI=settings.RATELIMIT_STORAGE_URI,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        BABEL_DEFAULT_LOCALE=settings.DEFAULT_LANGUAGE,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SEND_FILE_MAX_AGE_DEFAULT=0,
        # The text fields of a multipart form, all together (`body_limits.GuardedRequest`): no
        # more than a whole URL-encoded body may hold.
        MAX_FORM_MEMORY_SIZE=settings.MAX_CONTENT_LENGTH,
    )


def _configure_database(app: Flask) -> None:
    uri: str = app.config["SQLALCHEMY_DATABASE_URI"]
    options: dict[str, Any] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    schema = app.config.get("DATABASE_SCHEMA")
    if uri.startswith("postgresql") and schema:
        options.setdefault("connect_args", {})["options"] = f"-csearch_path={schema}"
    if uri.startswith("sqlite"):
        _prepare_sqlite_file(uri.removeprefix("sqlite:///"), instance_path=Path(app.instance_path))
        options.setdefault("connect_args", {})["timeout"] = 30
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _prepare_sqlite_file(location: str, *, instance_path: Path) -> None:
    """Create the embedded database file 0600 in a 0700 directory before SQLite does (it would
    use the umask, usually 0644: readable by every account on a shared laptop). SQLite gives its
    -wal and -shm files the database file's mode. An existing directory is tightened only when
    it is the instance folder, which belongs to this service; any other is the operator's."""
    if not location or location.startswith(":memory:") or location.startswith("file:"):
        return
    path = Path(location)
    directory = path.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
    elif directory.resolve() == instance_path.resolve():
        directory.chmod(0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # made earlier, or by another worker starting at the same moment
        path.chmod(0o600)


def _register_blueprints(app: Flask) -> None:
    """Every page and endpoint: one blueprint per audience, registered the same way."""
    from incident_service import api, health
    from incident_service.auth import views as auth_views
    from incident_service.cases import evidence_views as _evidence_views  # noqa: F401  (routes)
    from incident_service.cases import views as case_views
    from incident_service.intake import views as reporter_views
    from incident_service.summaries import public
    from incident_service.summaries import views as summary_views

    for blueprint in (
        health.blueprint,
        reporter_views.blueprint,
        api.blueprint,
        auth_views.blueprint,
        case_views.blueprint,
        public.blueprint,
        summary_views.blueprint,
    ):
        app.register_blueprint(blueprint)


def _favicon() -> Response:
    """Browsers ask for /favicon.ico on a first visit whatever the page says: answer it from
    this site (a neutral sign, like the neutral title), rather than with a 404 each time."""
    folder = current_app.static_folder
    assert folder is not None
    return send_from_directory(folder, "favicon.ico", mimetype="image/vnd.microsoft.icon")


def _register_template_globals(app: Flask) -> None:
    from flask_babel import get_locale

    from incident_service import taxonomy

    def current_language() -> str:
        locale = get_locale()
        return locale.language if locale is not None else "en"

    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        STAFF_LANGUAGES=STAFF_LANGUAGES,
        taxonomy=taxonomy,
        current_language=current_language,
        # Our own file, refused at import if it holds "<" (security.py): it cannot end the tag.
        reporter_style=Markup(REPORTER_STYLE),  # noqa: S704
    )


def _after_request(response: Response) -> Response:
    settings: Config = current_app.extensions["incident_config"]
    response = apply_security_headers(response, production=settings.is_production)
    return compress_response(response)
