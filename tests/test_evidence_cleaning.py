"""Clean working copies: metadata gone from the copy, kept sealed for the team, originals kept."""

from __future__ import annotations

import io
import json
import struct

import pytest
from sqlalchemy import select

from incident_service.constants import EvidenceState
from incident_service.evidence.cleaning import make_clean_copies, open_removed_metadata
from incident_service.evidence.intake import WORKING, read_file
from incident_service.evidence.store import current_store
from incident_service.models import EvidenceFile, PendingReporterAction, Report, db
from tests import evidence_samples as samples
from tests.evidence_helpers import receive, team_private_key


def _clean(data: bytes, **kwargs) -> EvidenceFile:
    received = receive(data, **kwargs)
    make_clean_copies()
    db.session.expire_all()
    return db.session.get_one(EvidenceFile, received.file_id)


def _working(row: EvidenceFile) -> bytes:
    return b"".join(read_file(row, team_private_key=team_private_key(), copy=WORKING))


def test_does_a_photo_lose_its_gps_and_serial_while_the_team_can_still_read_them(app_ctx):
    from PIL import Image

    original = samples.jpeg_with_gps()
    row = _clean(original, name="IMG_20240412_143012.jpg")
    assert row.state == EvidenceState.WORKING_COPY.value
    copy = _working(row)
    image = Image.open(io.BytesIO(copy))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not image.getexif().get_ifd(0x8825)
    for secret in (b"SM-A515F", b"R58N12ABCDE", b"Samsung", b"2024:04:12"):
        assert secret in original and secret not in copy
    removed = open_removed_metadata(row, team_private_key=team_private_key())
    assert removed is not None
    assert removed.location == pytest.approx(samples.GPS_LOCATION, abs=1e-3)
    names = {(f.group, f.name): f.value for f in removed.fields}
    assert names[("GPS", "GPSLatitudeRef")] == "N"
    assert names[("EXIF", "BodySerialNumber")] == "R58N12ABCDE"
    assert names[("EXIF", "Model")] == "SM-A515F"
    # The original is kept, byte for byte.
    assert b"".join(read_file(row, team_private_key=team_private_key())) == original


def test_is_the_removed_metadata_sealed_to_the_team_only(app_ctx):
    from incident_service.crypto import NoMatchingRecipient
    from incident_service.keystore import current_keyring

    row = _clean(samples.jpeg_with_gps())
    assert row.removed_metadata is not None and b"R58N12ABCDE" not in row.removed_metadata
    with pytest.raises(NoMatchingRecipient):
        open_removed_metadata(row, team_private_key=current_keyring().require_evidence_private())


@pytest.mark.parametrize(
    ("make", "secret"),
    [
        (samples.pdf_with_metadata, b"Rustam Nazarov"),
        (samples.mp3_with_tags, b"TIT2"),
        (samples.mp4_with_location, b"+55.7558+037.6175"),
    ],
)
def test_do_documents_and_recordings_lose_their_metadata(app_ctx, make, secret):
    original = make()
    assert secret in original
    row = _clean(original)
    assert row.state == EvidenceState.WORKING_COPY.value
    assert secret not in _working(row)
    removed = open_removed_metadata(row, team_private_key=team_private_key())
    assert removed is not None
    assert any(secret.decode() in f.value or secret.decode() == f.name for f in removed.fields)


def test_does_an_mp4_keep_its_sample_offsets(app_ctx):
    original = samples.mp4_with_location()
    copy = _working(_clean(original))
    assert len(copy) == len(original)
    assert copy.index(b"mdat") == original.index(b"mdat")
    assert b"free" in copy and b"udta" not in copy


def test_is_a_decompression_bomb_refused_with_the_original_and_report_kept(app_ctx):
    bomb = samples.png_bomb()
    row = _clean(bomb)
    assert row.state == EvidenceState.COPY_REFUSED.value
    assert row.copy_problem == "too_many_pixels"
    assert row.working_object is None
    assert db.session.get(Report, row.report_id) is not None
    assert b"".join(read_file(row, team_private_key=team_private_key())) == bomb
    actions = db.session.scalars(select(PendingReporterAction.action)).all()
    assert "evidence.copy_refused" in actions


def test_is_a_corrupt_file_refused_with_the_reason_recorded(app_ctx):
    # Passes the intake's structure check (a LIST chunk may come first) but has no format.
    no_format = (
        b"WAVE"
        + b"LIST"
        + struct.pack("<I", 4)
        + b"INFO"
        + b"data"
        + struct.pack("<I", 8)
        + b"\x00" * 8
    )
    broken = b"RIFF" + struct.pack("<I", len(no_format)) + no_format
    row = _clean(broken)
    assert row.state == EvidenceState.COPY_REFUSED.value
    assert row.copy_problem == "corrupt"


def test_is_a_file_that_decrypts_wrongly_refused_never_half_used(app_ctx):
    first = receive(samples.jpeg_with_gps())
    second = receive(
        samples.png(), report_id=db.session.get_one(EvidenceFile, first.file_id).report_id
    )
    root = current_store().root  # type: ignore[attr-defined]
    # An attacker with the store swaps one sealed object for another.
    (root / first.original_object).write_bytes((root / second.original_object).read_bytes())
    make_clean_copies()
    db.session.expire_all()
    row = db.session.get_one(EvidenceFile, first.file_id)
    assert row.state == EvidenceState.COPY_REFUSED.value
    assert row.copy_problem == "unreadable"
    assert db.session.get_one(EvidenceFile, second.file_id).state == "working_copy"


def test_does_the_copy_custody_entry_name_the_file_but_hold_no_metadata(app_ctx):
    row = _clean(samples.jpeg_with_gps())
    entries = db.session.scalars(
        select(PendingReporterAction).where(PendingReporterAction.action == "evidence.copy_made")
    ).all()
    assert len(entries) == 1
    detail = json.loads(entries[0].detail)
    assert detail["file"] == row.id and detail["removed"] > 5
    assert "55.7" not in entries[0].detail and "Samsung" not in entries[0].detail


def test_is_cleaning_idempotent(app_ctx):
    _clean(samples.jpeg())
    assert make_clean_copies().made == 0


def test_can_the_web_make_no_copy(tmp_path):
    """The web role holds only evidence.pub: the clean copy needs the evidence worker."""
    from incident_service.keystore import KeyFileMissing
    from tests.conftest import build_app

    for app in build_app(tmp_path, "sqlite"):
        with app.app_context():
            receive(samples.jpeg())
        app.extensions["incident_keys"].evidence_private = None  # as PROCESS_ROLE=web loads it
        with app.app_context(), pytest.raises(KeyFileMissing):
            make_clean_copies()
