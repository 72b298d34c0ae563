"""At rest: a stolen database holds no report content and no receipt."""

from __future__ import annotations

import subprocess
import uuid

import pytest
import sqlalchemy as sa

from incident_service.models import Report, db
from tests.factories import submit


def _marker() -> str:
    return "MARKER-" + uuid.uuid4().hex


def test_does_the_raw_database_hold_neither_the_narrative_nor_the_receipt(app, backend):
    narrative_marker, contact_marker, place_marker = _marker(), _marker(), _marker()
    with app.app_context():
        result = submit(
            narrative=f"SYNTHETIC {narrative_marker} detained at the site",
            place_text=place_marker,
            contact={"channel": "PHONE", "value": contact_marker},
        )
        receipt = result.receipt
        report = db.session.get(Report, result.report_id)
        assert report is not None and report.receipt_hash != receipt.encode()
        db.session.remove()
        db.engine.dispose()
    needles = [narrative_marker, contact_marker, place_marker, receipt]
    if backend == "sqlite":
        path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        raw = b""
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(path + suffix, "rb") as handle:
                    raw += handle.read()
            except FileNotFoundError:
                pass
        assert len(raw) > 10_000
        haystacks = [raw, raw.decode("latin-1").encode("utf-16-le")]
    else:
        schema = app.config["DATABASE_SCHEMA"]
        dump = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "root", "-d", "test", "-n", schema, "--data-only"],
            capture_output=True,
            check=True,
        ).stdout
        assert b"COPY" in dump
        haystacks = [dump]
    for needle in needles:
        for haystack in haystacks:
            assert needle.encode() not in haystack
    # The receipt in its displayed form, too.
    grouped = " ".join(receipt[i : i + 4] for i in range(0, 20, 4))
    assert all(grouped.encode() not in h for h in haystacks)


def test_do_plaintext_columns_stay_within_the_operational_list(app):
    """Guard: a new plaintext column on reports must be a deliberate, documented decision."""
    allowed = {
        "id",
        "organisation_id",
        "receipt_hash",
        "submission_token_hash",
        "reporter_salt",
        "reporter_public_key",
        "statistical_section",
        "private_section",
        "status",
        "priority_override",  # sealed to the team key
        "reporter_language",  # sealed to the reporter's key
        "received_on",
        "triaged_on",
        "referred_on",
        "closed_on",
        "assignee_id",
        "event_id",
        "verification",
        "labels",
        "consent_statistics",
        "consent_follow_up",
        "consent_ombudsman",
        "deletion_requested",
        "statistics_state",
        "statistics_error",
        "unread_for_caseworkers",
    }
    with app.app_context():
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("reports")}
    assert columns == allowed


@pytest.mark.parametrize("field", ["statistical_section", "private_section"])
def test_are_sections_bound_to_their_report(app, field):
    """Swapping a section between two reports must not decrypt as the other report."""
    from incident_service.auth.teams import ensure_organisation, load_bootstrap_key
    from incident_service.constants import Section
    from incident_service.crypto import DecryptionFailed
    from incident_service.crypto.bindings import report_section as section_context
    from incident_service.crypto.envelopes import open_envelope
    from incident_service.crypto.keys import RecipientPrivateKey

    with app.app_context():
        first = submit()
        second = submit()
        organisation = ensure_organisation()
        team = load_bootstrap_key(organisation, __import__("pathlib").Path(app.config["KEYS_DIR"]))
        assert isinstance(team, RecipientPrivateKey)
        a = db.session.get(Report, first.report_id)
        b = db.session.get(Report, second.report_id)
        section = Section.STATISTICAL if field.startswith("statistical") else Section.PRIVATE
        assert open_envelope(
            getattr(a, field), context=section_context(a.id, section), private_key=team
        )
        with pytest.raises(DecryptionFailed):
            open_envelope(
                getattr(a, field), context=section_context(b.id, section), private_key=team
            )
