"""Test fixtures: an app per test on SQLite or PostgreSQL, clients, and small factories.

Every test that takes `app` runs twice, once per database backend. `TEST_DATABASES` narrows
that (``sqlite`` or ``postgresql``). With ``CI=true`` a missing PostgreSQL or Redis fails the
run instead of skipping, so a green CI always means the whole suite ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from incident_service import create_app
from incident_service.auth.teams import ensure_organisation
from incident_service.models import db
from incident_service.settings import Config

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
# Each pytest-xdist worker gets its own block of Redis databases, so that one worker's Celery
# processes never take another's task messages and an attack test's dump holds only its own
# keys: the suite's database and three below it for tests that flush a database of their own
# (gw0 → 15 and 14–12, gw1 → 11 and 10–8).
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_REDIS_DATABASES_PER_WORKER = 4
REDIS_URL = os.environ.get(
    "TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _REDIS_DATABASES_PER_WORKER * _XDIST_INDEX}"
)


def redis_url_below(offset: int) -> str:
    """A Redis database of this worker's block other than the suite's (`offset` 1 to 3), for a
    test that flushes or dumps a database of its own."""
    if not 1 <= offset < _REDIS_DATABASES_PER_WORKER:
        raise ValueError(f"offset {offset} is outside this worker's block")
    base, _, number = REDIS_URL.rpartition("/")
    return f"{base}/{int(number) - offset}"


BACKENDS = [b for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b]


def service_missing(what: str, why: str) -> None:
    """Skip locally, fail in CI: CI must never pass with part of the suite silently skipped."""
    message = f"{what} is not reachable ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


_postgres_checked: dict[str, str | None] = {}


def require_postgres() -> str:
    if POSTGRES_URL not in _postgres_checked:
        try:
            engine = sa.create_engine(POSTGRES_URL)
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            engine.dispose()
            _postgres_checked[POSTGRES_URL] = None
        except Exception as exc:
            _postgres_checked[POSTGRES_URL] = type(exc).__name__
    problem = _postgres_checked[POSTGRES_URL]
    if problem is not None:
        service_missing("PostgreSQL", problem)
    return POSTGRES_URL


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        service_missing("Redis", type(exc).__name__)
    return REDIS_URL


def test_config(tmp_path: Path, backend: str, **overrides: object) -> tuple[Config, dict]:
    """A testing Config and the extra Flask settings for one backend."""
    extra: dict[str, object] = {}
    if backend == "postgresql":
        database_url = require_postgres()
        schema = "t_" + secrets.token_hex(6)
        extra["DATABASE_SCHEMA"] = schema
    else:
        database_url = f"sqlite:///{tmp_path / 'test.db'}"
    values = dict(
        INCIDENT_ENV="testing",
        INSTANCE_PATH=str(tmp_path),
        DATABASE_URL=database_url,
        KEYS_DIR=str(tmp_path / "keys"),
        REDIS_URL=REDIS_URL,
        CELERY_EAGER=True,
        # Argon2id at test strength: correctness, not cost, is what the suite checks.
        ARGON2_MEMORY_KIB=1024,
        ARGON2_TIME_COST=1,
        RATELIMIT_STORAGE_URI="memory://",
        # Tests file many reports from one test client; the filing limit has its own tests.
        REPORT_RATE_LIMIT="10000 per minute",
        API_REPORT_RATE_LIMIT="10000 per minute",
        ANONYMISE_MIN_BATCH=1,
    )
    values.update(overrides)  # type: ignore[arg-type]
    return Config(**values), extra  # type: ignore[arg-type]


def _create_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def _drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def build_app(
    tmp_path: Path, backend: str, *, create_tables: bool = True, **overrides: object
) -> Iterator[Flask]:
    config, extra = test_config(tmp_path, backend, **overrides)
    schema = extra.get("DATABASE_SCHEMA")
    if schema:
        _create_schema(config.DATABASE_URL, str(schema))
    app = create_app(config, WTF_CSRF_ENABLED=False, **extra)
    try:
        with app.app_context():
            if create_tables:
                db.create_all()
                ensure_organisation()
                db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema:
            _drop_schema(config.DATABASE_URL, str(schema))


@pytest.fixture(autouse=True)
def _fresh_queue_memory() -> Iterator[None]:
    """Each test's web process starts with an empty queue index, as a new process would (the
    memory is per process, and every test's database numbers its organisation 1)."""
    from incident_service.cases import queue_index

    queue_index.CACHE.clear()
    yield


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    yield from build_app(tmp_path, backend)


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def csrf_app(tmp_path: Path, backend: str) -> Iterator[Flask]:
    """An app with CSRF protection on, for tests that check it."""
    config, extra = test_config(tmp_path, backend)
    schema = extra.get("DATABASE_SCHEMA")
    if schema:
        _create_schema(config.DATABASE_URL, str(schema))
    app = create_app(config, **extra)
    try:
        with app.app_context():
            db.create_all()
            ensure_organisation()
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema:
            _drop_schema(config.DATABASE_URL, str(schema))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def no_pdf_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip WeasyPrint layout (seconds per document) in release tests that never open a PDF."""
    from tests.release_helpers import FAKE_PDF

    monkeypatch.setattr(
        "incident_service.releases.documents.render.render_pdf", lambda html: FAKE_PDF
    )


# --------------------------------------------------------------------------------------------
# Browser tests: the app on a real HTTP server in a thread, and Debian's headless Chromium.

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def serve_over_http() -> Iterator[Callable[[Flask], str]]:
    """`serve_over_http(app)` serves the app in a thread until the test ends; returns its URL."""
    import threading

    from werkzeug.serving import make_server

    running = []

    def serve(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    try:
        yield serve
    finally:
        for server, thread in running:
            server.shutdown()
            thread.join(timeout=10)


@pytest.fixture
def headless_chromium() -> Iterator[Callable[..., object]]:
    """`headless_chromium(window=(width, height), javascript=...)` starts a browser that is
    closed when the test ends. Without a working Chromium the test is skipped (failed in CI)."""
    import shutil

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        service_missing("Chromium", "chromium or chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    started = []

    def start(*, window: tuple[int, int], javascript: bool) -> object:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--window-size={window[0]},{window[1]}",
        ):
            options.add_argument(flag)
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2}
            )
        try:
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except Exception as exc:  # a broken browser install is a missing service, not a bug here
            service_missing("Chromium", type(exc).__name__)
        started.append(driver)
        driver.set_window_size(*window)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            driver.quit()


# The reporter's phone: 360 × 740 CSS px, as the cheapest phones in use show a page.
PHONE = (360, 740)


@pytest.fixture
def server(csrf_app: Flask, serve_over_http: Callable[[Flask], str]) -> str:
    """The app with CSRF on, served over HTTP in a thread for the duration of the test."""
    return serve_over_http(csrf_app)


@pytest.fixture
def phone(headless_chromium: Callable[..., Any]) -> Any:
    """Headless Chromium on a 360 px phone with JavaScript off, as a careful reporter's."""
    driver = headless_chromium(window=PHONE, javascript=False)
    driver.implicitly_wait(30)  # elements of the next page appear after a form is submitted
    return driver
