"""Helpers for release tests: accounts for the people who publish and download releases,
reading a release's tables, and skipping PDF layout where a test does not look at PDFs."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from typing import Any

from incident_service.auth.teams import ensure_organisation
from incident_service.constants import Role
from incident_service.models import Release, User, db

# A day after every period the tests use, so that they are all finished.
TODAY = dt.date(2025, 6, 1)
Q4 = ["2024-10", "2024-11", "2024-12"]


def make_user(role: Role, *, email: str | None = None, active: bool = True) -> User:
    """A staff account row for service-level tests (log-in is not what they exercise)."""
    organisation = ensure_organisation()
    user = User(
        organisation_id=organisation.id,
        email=email or f"{role.value}-{secrets.token_hex(4)}@example.org",
        role=role.value,
        password_hash="not-a-real-hash",
        must_change_password=False,
        totp_secret_sealed=b"not-a-real-secret",
        active=active,
    )
    db.session.add(user)
    db.session.commit()
    return user


def content(release: Release) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(release.content)
    return document


def audit(release: Release) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(release.disclosure_audit)
    return document


def all_tables(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from document.get("tables", {}).values()
    yield from (document.get("case_handling") or {}).get("tables", {}).values()


def value(document: dict[str, Any], table: str, key: str) -> Any:
    for row in document["tables"][table]["rows"]:
        if row["key"] == key:
            return row["value"]
    raise KeyError(f"{table}/{key}")


FAKE_PDF = b"%PDF-1.7\n% a stand-in: this test does not look at PDF layout\n%%EOF\n"
