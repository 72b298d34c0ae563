"""Configuration: the embedded default needs nothing; production refuses each unsafe setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_service import create_app, keystore
from incident_service.crypto import SuiteId
from incident_service.settings import Config, UnsafeConfiguration

GOOD_SECRET = "x" * 48


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    keys = tmp_path / "keys"
    if not keys.exists():
        keystore.generate_keys(keys, suite=SuiteId.X25519, development=False)
    env = {
        "INCIDENT_ENV": "production",
        "SECRET_KEY": GOOD_SECRET,
        "DATABASE_URL": "postgresql://root@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "KEYS_DIR": str(keys),
        "INSTANCE_PATH": str(tmp_path),
        "EVIDENCE_STORE": "s3",
        "EVIDENCE_S3_ENDPOINT": "http://127.0.0.1:8333",
        "EVIDENCE_S3_BUCKET": "evidence",
        "EVIDENCE_S3_ACCESS_KEY_ID": "incident-service",
        "EVIDENCE_S3_SECRET_ACCESS_KEY": "y" * 40,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != "<unset>"}


def test_does_the_embedded_default_need_no_settings(tmp_path):
    config = Config.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert config.DATABASE_URL.startswith("sqlite:///")
    assert config.CELERY_EAGER is True
    app = create_app(config)
    keys = tmp_path / "keys"
    assert (keys / "statistics.key").exists()
    assert (keys / "statistics.key").stat().st_mode & 0o777 == 0o600
    assert keys.stat().st_mode & 0o777 == 0o700
    assert app.extensions["incident_keys"].development is True


def test_does_the_embedded_default_warn_loudly_about_development_keys(tmp_path, capsys):
    create_app(Config.from_env({"INSTANCE_PATH": str(tmp_path)}))
    assert "DEVELOPMENT KEYS" in capsys.readouterr().err


def test_does_a_sound_production_configuration_start(tmp_path):
    config = Config.from_env(production_env(tmp_path))
    config.check_production()
    keystore.check_production_keys(Path(config.KEYS_DIR), role="all")


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"SECRET_KEY": "<unset>"}, "SECRET_KEY"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-random-3f9a"}, "SECRET_KEY"),
        ({"DATABASE_URL": "sqlite:////tmp/x.db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "<unset>"}, "DATABASE_URL"),
        ({"CELERY_EAGER": "1"}, "CELERY_EAGER"),
        ({"ARGON2_MEMORY_KIB": "1024"}, "ARGON2_MEMORY_KIB"),
        ({"ARGON2_MEMORY_KIB": "19456", "ARGON2_TIME_COST": "1"}, "ARGON2_TIME_COST"),
        ({"ARGON2_MEMORY_KIB": "65536", "ARGON2_TIME_COST": "0"}, "ARGON2_TIME_COST"),
        ({"ARGON2_PARALLELISM": "0"}, "ARGON2_PARALLELISM"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI"),
        ({"EVIDENCE_STORE": "local"}, "EVIDENCE_STORE"),
        ({"EVIDENCE_S3_BUCKET": "<unset>"}, "EVIDENCE_S3_BUCKET"),
        ({"EVIDENCE_S3_SECRET_ACCESS_KEY": "short"}, "EVIDENCE_S3_SECRET_ACCESS_KEY"),
    ],
)
def test_does_production_refuse_each_unsafe_setting_by_name(tmp_path, override, setting):
    config = Config.from_env(production_env(tmp_path, **override))
    with pytest.raises(UnsafeConfiguration) as excinfo:
        create_app(config)
    assert excinfo.value.setting == setting
    assert str(excinfo.value).startswith(setting + ":")
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize(
    ("memory", "passes"), [("47104", 1), ("19456", 2), ("32768", 2), ("65536", 1)]
)
def test_does_production_take_argon2_at_the_owasp_minimum_and_not_one_pass_below(
    tmp_path, memory, passes
):
    env = production_env(tmp_path, ARGON2_MEMORY_KIB=memory, ARGON2_TIME_COST=str(passes))
    Config.from_env(env).check_production()
    weaker = production_env(tmp_path, ARGON2_MEMORY_KIB=memory, ARGON2_TIME_COST=str(passes - 1))
    with pytest.raises(UnsafeConfiguration, match=r"^ARGON2_TIME_COST: "):
        Config.from_env(weaker).check_production()


def test_does_the_argon2_refusal_name_the_setting_and_the_minimum_in_one_line(tmp_path):
    env = production_env(tmp_path, ARGON2_MEMORY_KIB="19456", ARGON2_TIME_COST="1")
    with pytest.raises(UnsafeConfiguration) as excinfo:
        Config.from_env(env).check_production()
    assert str(excinfo.value) == (
        "ARGON2_TIME_COST: must be at least 2 with ARGON2_MEMORY_KIB=19456 "
        "(OWASP minimum for Argon2id)"
    )


def test_does_production_refuse_development_keys(tmp_path):
    keys = tmp_path / "keys"
    keystore.generate_keys(keys, suite=SuiteId.X25519, development=True)
    config = Config.from_env(production_env(tmp_path))
    with pytest.raises(UnsafeConfiguration, match=r"^KEYS_DIR: .*development key"):
        create_app(config)


@pytest.mark.parametrize("missing", ["receipt-pepper.key", "statistics.pub", "signing.key"])
def test_does_production_refuse_a_missing_key_file(tmp_path, missing):
    env = production_env(tmp_path)
    (tmp_path / "keys" / missing).unlink()
    with pytest.raises(UnsafeConfiguration, match=rf"^KEYS_DIR: missing key file .*{missing}"):
        create_app(Config.from_env(env))


def test_does_the_web_process_refuse_to_hold_the_statistics_private_key(tmp_path):
    env = production_env(tmp_path, PROCESS_ROLE="web")
    with pytest.raises(UnsafeConfiguration, match=r"^KEYS_DIR: statistics.key must live"):
        create_app(Config.from_env(env))


def test_does_the_web_process_start_with_only_its_own_keys(tmp_path):
    env = production_env(tmp_path, PROCESS_ROLE="web")
    for name in keystore.WORKER_ONLY_FILES:
        (tmp_path / "keys" / name).unlink()
    app = create_app(Config.from_env(env))
    ring = app.extensions["incident_keys"]
    assert ring.statistics_private is None and ring.signing_key is None
    assert ring.statistics_public is not None


def test_is_an_unknown_environment_refused():
    with pytest.raises(UnsafeConfiguration, match=r"^INCIDENT_ENV:"):
        Config.from_env({"INCIDENT_ENV": "prod"})


def test_does_the_cli_print_a_one_line_refusal(tmp_path):
    import subprocess
    import sys

    env = production_env(tmp_path, SECRET_KEY="<unset>")
    import os

    full_env = {**os.environ, **env}
    full_env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "incident_service.cli", "keys", "show"],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY: must be set in production" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("module", "role"),
    [("incident_service.wsgi", "'web'"), ("workers.celery_app", "'worker' or 'evidence'")],
)
def test_does_a_serving_process_refuse_to_run_with_every_key(tmp_path, module, role):
    """gunicorn and Celery in production must each load only their own key files."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **production_env(tmp_path, PROCESS_ROLE="all")}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert f"PROCESS_ROLE: must be {role} for this process in production" in result.stderr


def test_does_the_web_process_refuse_a_team_key_bootstrap_file(tmp_path):
    env = production_env(tmp_path, PROCESS_ROLE="web")
    for name in keystore.WORKER_ONLY_FILES:
        (tmp_path / "keys" / name).unlink()
    (tmp_path / "keys" / "team-default.key").write_text("{}")
    with pytest.raises(UnsafeConfiguration, match=r"^KEYS_DIR: team-default.key holds a team"):
        create_app(Config.from_env(env))


def test_does_setting_redis_url_alone_send_tasks_to_the_broker(tmp_path):
    """An operator who points the web at Redis and starts a worker must see the worker used."""
    configured = Config.from_env(
        {"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/3"}
    )
    assert configured.CELERY_EAGER is False
    assert configured.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/3"
    forced = Config.from_env(
        {"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://x/3", "CELERY_EAGER": "1"}
    )
    assert forced.CELERY_EAGER is True


def test_does_healthz_report_a_configured_broker_even_in_eager_mode(tmp_path):
    from incident_service.health import pipeline_checks

    config = Config.from_env(
        {"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0", "CELERY_EAGER": "1"}
    )
    app = create_app(config)
    with app.app_context():
        from incident_service.resources import upgrade_database

        upgrade_database()
        checks = pipeline_checks()
    assert checks["mode"] == "eager" and checks["broker"] is False


def test_does_production_and_only_production_tell_browsers_to_use_https_only(tmp_path):
    """On a developer's http://127.0.0.1 the header would be ignored, and on a real host name
    it would lock that browser out of plain HTTP there for a year."""
    app = create_app(Config.from_env(production_env(tmp_path / "production")))
    page = app.test_client().get("/", base_url="https://reports.example.org")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    embedded = create_app(Config.from_env({"INSTANCE_PATH": str(tmp_path / "embedded")}))
    assert "Strict-Transport-Security" not in embedded.test_client().get("/").headers
