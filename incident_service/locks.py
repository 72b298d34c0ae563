"""PostgreSQL advisory locks: one named key per job that must take turns.

Advisory locks belong to the whole database, not to a schema, so the key is derived from the
lock's name and the schema the app works in: two deployments (or two test runs) sharing one
PostgreSQL database never wait for each other, and no two jobs can pick the same number by hand.
SQLite serialises writers itself, so every helper here does nothing there.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection

from incident_service.models import db

# Every lock the app takes, by name; a name outside this list is a programming error.
AUDIT_CHAIN = "audit-chain"
PRIVACY_LEDGER = "privacy-ledger"
PUBLICATION = "publication"
EVIDENCE_LOG = "evidence-log"
FLUSH = "flush"
NAMES = frozenset({AUDIT_CHAIN, PRIVACY_LEDGER, PUBLICATION, EVIDENCE_LOG, FLUSH})


def advisory_key(name: str) -> int:
    """The signed 64-bit key PostgreSQL knows the lock `name` by, in this app's schema."""
    if name not in NAMES:
        raise ValueError(f"unknown lock {name!r}")
    schema = current_app.config.get("DATABASE_SCHEMA") or "public"
    digest = hashlib.sha256(f"incident-service/lock|{schema}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def hold_until_commit(name: str) -> None:
    """Wait for the lock and keep it until the session's transaction ends."""
    if on_postgresql():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})


def take(connection: Connection, name: str, *, wait: bool) -> bool:
    """Take the session-level lock on `connection`; without `wait`, report whether it was free."""
    key = advisory_key(name)
    if wait:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        return True
    return bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))


def release(connection: Connection, name: str) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(name)})
