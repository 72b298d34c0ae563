"""Helpers for evidence tests: a report to attach files to, the team key, and intake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from incident_service.auth.teams import load_bootstrap_key, team_public_key
from incident_service.crypto import RecipientPrivateKey
from incident_service.evidence.intake import ReceivedFile, receive_file
from incident_service.models import Organisation, db
from tests.factories import submit


def organisation() -> Organisation:
    found = db.session.scalar(select(Organisation).where(Organisation.slug == "default"))
    assert found is not None
    return found


def team_private_key() -> RecipientPrivateKey:
    key = load_bootstrap_key(organisation(), Path(current_app.config["KEYS_DIR"]))
    assert key is not None
    return key


def new_report() -> str:
    report_id = submit().report_id
    db.session.commit()
    return str(report_id)


def receive(
    data: bytes,
    *,
    report_id: str | None = None,
    name: str | None = None,
    day: dt.date | None = None,
    block: int = 50_000,
) -> ReceivedFile:
    report = report_id or new_report()
    owner = organisation()
    received = receive_file(
        (data[i : i + block] for i in range(0, len(data), block)),
        report_id=report,
        organisation_id=owner.id,
        team_key=team_public_key(owner),
        original_name=name,
        received_on=day,
    )
    db.session.commit()
    return received
