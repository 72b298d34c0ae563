"""Configuration: environment variables over embedded defaults, and production's refusals."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_service.resources import default_instance_path

DEFAULT_INSTANCE_PATH = default_instance_path()

# Values that ship in public code and therefore can never protect anything.
KNOWN_DEFAULT_SECRETS = frozenset({"", "dev", "changeme", "change-me", "secret", "development"})

# OWASP's Password Storage Cheat Sheet lists Argon2id settings of equal strength as (memory in
# KiB, passes): the less memory, the more passes. Production refuses fewer passes than the row
# its memory reaches.
OWASP_ARGON2ID_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))
ARGON2_MIN_MEMORY_KIB = 19456

ENVIRONMENTS = ("development", "testing", "production")
PROCESS_ROLES = ("all", "web", "worker", "evidence")
EVIDENCE_STORES = ("local", "s3")
MIB = 1024 * 1024


class UnsafeConfiguration(Exception):
    """A setting that would be unsafe in production; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


def minimum_argon2_passes(memory_kib: int) -> int | None:
    """The fewest Argon2id passes OWASP accepts with this much memory (None: too little)."""
    for memory, passes in OWASP_ARGON2ID_MINIMUMS:
        if memory_kib >= memory:
            return passes
    return None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise UnsafeConfiguration(name, f"expected a whole number, got {raw!r}") from exc


def _evidence_settings(env: Mapping[str, str], instance: str) -> dict[str, Any]:
    store = env.get("EVIDENCE_STORE") or "local"
    if store not in EVIDENCE_STORES:
        raise UnsafeConfiguration(
            "EVIDENCE_STORE", f"must be one of {', '.join(EVIDENCE_STORES)}, got {store!r}"
        )
    return {
        "EVIDENCE_STORE": store,
        "EVIDENCE_DIR": env.get("EVIDENCE_DIR") or str(Path(instance) / "evidence"),
        "EVIDENCE_S3_ENDPOINT": env.get("EVIDENCE_S3_ENDPOINT", ""),
        "EVIDENCE_S3_BUCKET": env.get("EVIDENCE_S3_BUCKET", ""),
        "EVIDENCE_S3_REGION": env.get("EVIDENCE_S3_REGION") or "us-east-1",
        "EVIDENCE_S3_ACCESS_KEY_ID": env.get("EVIDENCE_S3_ACCESS_KEY_ID", ""),
        "EVIDENCE_S3_SECRET_ACCESS_KEY": env.get("EVIDENCE_S3_SECRET_ACCESS_KEY", ""),
        "EVIDENCE_MAX_BYTES": _int(env, "EVIDENCE_MAX_BYTES", 25 * MIB),
        "EVIDENCE_MAX_FILES": _int(env, "EVIDENCE_MAX_FILES", 10),
        "EVIDENCE_MAX_REPORT_BYTES": _int(env, "EVIDENCE_MAX_REPORT_BYTES", 100 * MIB),
        "EVIDENCE_UPLOAD_HOURS": _int(env, "EVIDENCE_UPLOAD_HOURS", 24),
        "EVIDENCE_MAX_PIXELS": _int(env, "EVIDENCE_MAX_PIXELS", 100_000_000),
        "EVIDENCE_MAX_PDF_PAGES": _int(env, "EVIDENCE_MAX_PDF_PAGES", 500),
        "EVIDENCE_MAX_AUDIO_SECONDS": _int(env, "EVIDENCE_MAX_AUDIO_SECONDS", 4 * 3600),
        "TSA_URL": env.get("TSA_URL", ""),
        "TSA_CERT_FILE": env.get("TSA_CERT_FILE", ""),
    }


@dataclass(frozen=True)
class Config:
    """Every setting the service reads, with the embedded default beside it.

    `Config.from_env()` is the only place environment variables are read; `as_flask_config()`
    hands the values to Flask in the upper-case form extensions expect.
    """

    INCIDENT_ENV: str = "development"
    PROCESS_ROLE: str = "all"
    INSTANCE_PATH: str = str(DEFAULT_INSTANCE_PATH)
    SECRET_KEY: str | None = None
    DATABASE_URL: str = ""
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    # Whether REDIS_URL was given (rather than the default): a configured broker means tasks go
    # to it unless CELERY_EAGER=1 says otherwise, and /healthz reports on it either way.
    REDIS_CONFIGURED: bool = False
    CELERY_EAGER: bool = True
    KEYS_DIR: str = ""
    HPKE_SUITE: str = "mlkem768-x25519"
    # Argon2id for human-chosen secrets. 64 MiB / 3 passes is the interactive default;
    # tests lower it so the suite stays fast, production refuses anything weaker than 19 MiB.
    ARGON2_MEMORY_KIB: int = 65536
    ARGON2_TIME_COST: int = 3
    ARGON2_PARALLELISM: int = 1
    # How much Argon2 the web may run (auth/argon2_budget.py): at once across every web process
    # (keep it below the number of gunicorn workers, so some always serve reporters), and per
    # address bucket.
    ARGON2_MAX_CONCURRENT: int = 1
    ARGON2_ADDRESS_LIMIT: str = "20 per minute;200 per hour"
    # Logins checked at once across every web process; more are turned away at once (429).
    LOGIN_MAX_CONCURRENT: int = 1
    ANONYMISE_MIN_BATCH: int = 20
    ANONYMISE_MAX_WAIT: int = 6 * 3600
    # The fewest records written together once the oldest waiting report is overdue: a batch
    # of one would tie its record to its report by time alone, so such reports wait longer.
    ANONYMISE_MIN_OVERDUE_BATCH: int = 5
    SUPPRESSION_THRESHOLD: int = 10
    # The ε of a differentially private release when none is given, and the most one may ask
    # for: release parameters can only make protection stricter than the configured defaults.
    DP_RELEASE_EPSILON: float = 1.0
    DP_LIFETIME_EPSILON: float = 10.0
    RETENTION_DAYS: int = 365
    SESSION_IDLE_MINUTES: int = 30
    RATELIMIT_STORAGE_URI: str = "memory://"
    # Reports are short; a narrative of 20,000 characters in Cyrillic is about 40 KB.
    MAX_CONTENT_LENGTH: int = 256 * 1024
    # Seconds a client may stay silent while sending a request body (gunicorn): a phone on a
    # bad link stalls for seconds, not for the minutes a deliberate slow upload would.
    REQUEST_READ_TIMEOUT: int = 20
    DEFAULT_LANGUAGE: str = "ru"
    # Bearer token that monitoring sends to /healthz to see pipeline details (empty: only on a
    # developer's machine).
    HEALTHZ_TOKEN: str = ""
    # Reverse proxies in front of the web process that set X-Forwarded-For. 0: trust none, so a
    # client cannot choose the address its rate limits are counted under.
    TRUSTED_PROXIES: int = 0
    # Reports stored per (daily-salted) address: the form, and partner apps through the API.
    REPORT_RATE_LIMIT: str = "10 per hour;30 per day"
    API_REPORT_RATE_LIMIT: str = "600 per hour"
    # Evidence files: where their sealed streams are kept. `local` is a folder under the
    # instance path (the embedded default); production uses an S3-compatible object store.
    EVIDENCE_STORE: str = "local"
    EVIDENCE_DIR: str = ""
    EVIDENCE_S3_ENDPOINT: str = ""
    EVIDENCE_S3_BUCKET: str = ""
    EVIDENCE_S3_REGION: str = "us-east-1"
    EVIDENCE_S3_ACCESS_KEY_ID: str = ""
    EVIDENCE_S3_SECRET_ACCESS_KEY: str = ""
    # The largest file accepted (bytes), judged as it streams; files and bytes per report (the
    # bytes counted as `evidence.limits` explains); hours an unfinished resumable upload lives.
    EVIDENCE_MAX_BYTES: int = 25 * MIB
    EVIDENCE_MAX_FILES: int = 10
    EVIDENCE_MAX_REPORT_BYTES: int = 100 * MIB
    EVIDENCE_UPLOAD_HOURS: int = 24
    # What the evidence worker agrees to decode for a clean copy: an image's pixels, a PDF's
    # pages, a recording's length. Larger files keep their original and get no working copy.
    EVIDENCE_MAX_PIXELS: int = 100_000_000
    EVIDENCE_MAX_PDF_PAGES: int = 500
    EVIDENCE_MAX_AUDIO_SECONDS: int = 4 * 3600
    # An RFC 3161 timestamping authority that stamps each evidence log tree head (optional),
    # and its certificate (PEM) that stamps must be signed with.
    TSA_URL: str = ""
    TSA_CERT_FILE: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        incident_env = env.get("INCIDENT_ENV", "development")
        if incident_env not in ENVIRONMENTS:
            raise UnsafeConfiguration(
                "INCIDENT_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, got {incident_env!r}"
            )
        role = env.get("PROCESS_ROLE", "all")
        if role not in PROCESS_ROLES:
            raise UnsafeConfiguration(
                "PROCESS_ROLE", f"must be one of {', '.join(PROCESS_ROLES)}, got {role!r}"
            )
        instance = env.get("INSTANCE_PATH") or str(DEFAULT_INSTANCE_PATH)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance) / 'incident.db'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        redis_configured = bool(env.get("REDIS_URL"))
        redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        eager = _flag(
            env.get("CELERY_EAGER"), default=incident_env != "production" and not redis_configured
        )
        limiter_default = "memory://" if eager else redis_url
        return cls(
            INCIDENT_ENV=incident_env,
            PROCESS_ROLE=role,
            INSTANCE_PATH=instance,
            SECRET_KEY=env.get("SECRET_KEY") or None,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            REDIS_CONFIGURED=redis_configured,
            CELERY_EAGER=eager,
            KEYS_DIR=env.get("KEYS_DIR") or str(Path(instance) / "keys"),
            HPKE_SUITE=env.get("HPKE_SUITE", "mlkem768-x25519"),
            ARGON2_MEMORY_KIB=_int(env, "ARGON2_MEMORY_KIB", 65536),
            ARGON2_TIME_COST=_int(env, "ARGON2_TIME_COST", 3),
            ARGON2_PARALLELISM=_int(env, "ARGON2_PARALLELISM", 1),
            ARGON2_MAX_CONCURRENT=_int(env, "ARGON2_MAX_CONCURRENT", 1),
            ARGON2_ADDRESS_LIMIT=env.get("ARGON2_ADDRESS_LIMIT") or "20 per minute;200 per hour",
            LOGIN_MAX_CONCURRENT=_int(env, "LOGIN_MAX_CONCURRENT", 1),
            ANONYMISE_MIN_BATCH=_int(env, "ANONYMISE_MIN_BATCH", 20),
            ANONYMISE_MAX_WAIT=_int(env, "ANONYMISE_MAX_WAIT", 6 * 3600),
            ANONYMISE_MIN_OVERDUE_BATCH=_int(env, "ANONYMISE_MIN_OVERDUE_BATCH", 5),
            SUPPRESSION_THRESHOLD=_int(env, "SUPPRESSION_THRESHOLD", 10),
            DP_RELEASE_EPSILON=float(env.get("DP_RELEASE_EPSILON") or 1.0),
            DP_LIFETIME_EPSILON=float(env.get("DP_LIFETIME_EPSILON") or 10.0),
            RETENTION_DAYS=_int(env, "RETENTION_DAYS", 365),
            SESSION_IDLE_MINUTES=_int(env, "SESSION_IDLE_MINUTES", 30),
            RATELIMIT_STORAGE_URI=env.get("RATELIMIT_STORAGE_URI") or limiter_default,
            MAX_CONTENT_LENGTH=_int(env, "MAX_CONTENT_LENGTH", 256 * 1024),
            REQUEST_READ_TIMEOUT=_int(env, "REQUEST_READ_TIMEOUT", 20),
            DEFAULT_LANGUAGE=env.get("DEFAULT_LANGUAGE", "ru"),
            HEALTHZ_TOKEN=env.get("HEALTHZ_TOKEN", ""),
            TRUSTED_PROXIES=_int(env, "TRUSTED_PROXIES", 0),
            REPORT_RATE_LIMIT=env.get("REPORT_RATE_LIMIT") or "10 per hour;30 per day",
            API_REPORT_RATE_LIMIT=env.get("API_REPORT_RATE_LIMIT") or "600 per hour",
            **_evidence_settings(env, instance),
        )

    @property
    def is_production(self) -> bool:
        return self.INCIDENT_ENV == "production"

    def check_production(self) -> None:
        """Refuse settings that are only acceptable on a developer's laptop.

        Key files are checked separately (`incident_service.keys.check_production_keys`)
        because that needs the files themselves.
        """
        if not self.is_production:
            return
        secret = self.SECRET_KEY
        if secret is None:
            raise UnsafeConfiguration("SECRET_KEY", "must be set in production")
        if secret.strip().lower() in KNOWN_DEFAULT_SECRETS or len(secret) < 32:
            raise UnsafeConfiguration(
                "SECRET_KEY", "is a default or shorter than 32 characters; generate a random one"
            )
        if self.DATABASE_URL.startswith("sqlite"):
            raise UnsafeConfiguration(
                "DATABASE_URL", "SQLite is the embedded default only; use PostgreSQL in production"
            )
        if self.CELERY_EAGER:
            raise UnsafeConfiguration(
                "CELERY_EAGER", "tasks must run in a separate worker in production"
            )
        self._check_argon2()
        for name in ("ANONYMISE_MIN_BATCH", "ANONYMISE_MIN_OVERDUE_BATCH"):
            if int(getattr(self, name)) < 2:
                raise UnsafeConfiguration(
                    name, "a batch of one ties its record to its report; use at least 2"
                )
        if self.RATELIMIT_STORAGE_URI.startswith("memory"):
            raise UnsafeConfiguration(
                "RATELIMIT_STORAGE_URI", "in-memory limits are per process; use Redis"
            )
        self._check_evidence_store()

    def _check_evidence_store(self) -> None:
        # The web process writes originals and the worker reads them: a folder inside one
        # container is neither shared nor backed up (docs/decisions.md, evidence files).
        if self.EVIDENCE_STORE != "s3":
            raise UnsafeConfiguration(
                "EVIDENCE_STORE", "production keeps evidence in an S3-compatible object store"
            )
        for name in ("EVIDENCE_S3_BUCKET", "EVIDENCE_S3_ACCESS_KEY_ID"):
            if not getattr(self, name):
                raise UnsafeConfiguration(name, "must be set when EVIDENCE_STORE is s3")
        if len(self.EVIDENCE_S3_SECRET_ACCESS_KEY) < 16:
            raise UnsafeConfiguration(
                "EVIDENCE_S3_SECRET_ACCESS_KEY", "must be set to a long random secret"
            )

    def _check_argon2(self) -> None:
        if self.ARGON2_MEMORY_KIB < ARGON2_MIN_MEMORY_KIB:
            raise UnsafeConfiguration(
                "ARGON2_MEMORY_KIB", f"must be at least {ARGON2_MIN_MEMORY_KIB} (19 MiB)"
            )
        passes = minimum_argon2_passes(self.ARGON2_MEMORY_KIB)
        if passes is not None and passes > self.ARGON2_TIME_COST:
            raise UnsafeConfiguration(
                "ARGON2_TIME_COST",
                f"must be at least {passes} with ARGON2_MEMORY_KIB={self.ARGON2_MEMORY_KIB} "
                "(OWASP minimum for Argon2id)",
            )
        if self.ARGON2_PARALLELISM < 1:
            raise UnsafeConfiguration("ARGON2_PARALLELISM", "must be at least 1")

    def check_serving_role(self, *expected: str) -> None:
        """A serving process in production must say what it is, so that it loads only its keys.

        The command line may run with `PROCESS_ROLE=all` on an operator's machine; gunicorn and
        Celery may not (Celery runs as the statistics `worker` or as the `evidence` worker).
        """
        if self.is_production and self.PROCESS_ROLE not in expected:
            roles = " or ".join(repr(role) for role in expected)
            raise UnsafeConfiguration(
                "PROCESS_ROLE", f"must be {roles} for this process in production"
            )

    def as_flask_config(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name.isupper()
        }
        values["SQLALCHEMY_DATABASE_URI"] = self.DATABASE_URL
        values["TESTING"] = self.INCIDENT_ENV == "testing"
        return values
