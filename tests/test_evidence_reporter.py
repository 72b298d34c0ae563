"""The service functions the reporter's pages call: attach from a form, attach later with the
receipt, and list a report's files (name, size, type, short fingerprint)."""

from __future__ import annotations

import hashlib
import io

import pytest
from werkzeug.datastructures import FileStorage

from incident_service.intake.evidence import (
    attach_to_new_report,
    attach_with_receipt,
    list_reporter_files,
)
from incident_service.intake.reporter_access import open_with_receipt
from incident_service.models import EvidenceFile, db
from tests import evidence_samples as samples
from tests.factories import submit


@pytest.fixture
def page(app):
    """Inside a reporter's request, as the pages call these functions (messages in English)."""
    with app.test_request_context("/status?lang=en"):
        yield app


def _upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="image/png")


def _fingerprint(data: bytes) -> str:
    head = hashlib.sha256(data).hexdigest()[:16].upper()
    return " ".join(head[i : i + 4] for i in range(0, 16, 4))


def test_does_the_form_attach_good_files_and_refuse_the_rest_with_reasons(page):
    result = submit()
    photo = samples.jpeg_with_gps()
    outcome = attach_to_new_report(
        result.report_id,
        [
            _upload(photo, "arrest.jpg"),
            _upload(samples.jpeg() + samples.zip_archive(), "photo.jpg"),
            FileStorage(stream=io.BytesIO(b""), filename=""),  # a file field left empty
        ],
    )
    assert [item.name for item in outcome.attached] == ["arrest.jpg"]
    attached = outcome.attached[0]
    assert attached.size == len(photo) and attached.media_type == "image/jpeg"
    assert attached.kind == "image" and attached.fingerprint == _fingerprint(photo)
    assert [(item.name, item.reason) for item in outcome.refused] == [("photo.jpg", "polyglot_zip")]
    assert "another kind of file" in outcome.refused[0].message
    db.session.rollback()
    assert db.session.get(EvidenceFile, attached.file_id) is not None  # committed


def test_does_adding_evidence_with_the_receipt_hold_the_report_limits(page):
    page.config.update(EVIDENCE_MAX_FILES=2)
    result = submit()
    access = open_with_receipt(result.receipt)
    first = attach_with_receipt(access, [_upload(samples.png(), "a.png")])
    assert len(first.attached) == 1
    second = attach_with_receipt(
        access, [_upload(samples.pdf(), "b.pdf"), _upload(samples.ogg(), "c.ogg")]
    )
    assert [item.name for item in second.attached] == ["b.pdf"]
    assert [(item.name, item.reason) for item in second.refused] == [("c.ogg", "files")]
    assert "at most 2 files" in second.refused[0].message


def test_is_a_file_over_the_size_limit_refused_before_it_is_stored(page):
    page.config.update(EVIDENCE_MAX_BYTES=10_000)
    result = submit()
    outcome = attach_to_new_report(result.report_id, [_upload(samples.wav(frames=20_000), "v")])
    assert outcome.attached == [] and outcome.refused[0].reason == "file_size"
    assert db.session.scalar(db.select(db.func.count()).select_from(EvidenceFile)) == 0


def test_does_the_status_page_list_the_files_for_the_receipt_holder_only(page):
    mine, other = submit(), submit()
    photo, voice = samples.jpeg(), samples.ogg()
    attach_to_new_report(mine.report_id, [_upload(photo, "photo.jpg"), _upload(voice, "v.ogg")])
    attach_to_new_report(other.report_id, [_upload(samples.png(), "theirs.png")])
    listed = list_reporter_files(open_with_receipt(mine.receipt))
    assert [(f.name, f.size, f.media_type, f.fingerprint) for f in listed] == [
        ("photo.jpg", len(photo), "image/jpeg", _fingerprint(photo)),
        ("v.ogg", len(voice), "audio/ogg", _fingerprint(voice)),
    ]
    assert [f.name for f in list_reporter_files(open_with_receipt(other.receipt))] == ["theirs.png"]
    row = db.session.scalars(db.select(EvidenceFile)).first()
    assert row is not None and row.reporter_summary is not None
    assert b"photo.jpg" not in row.reporter_summary and b"theirs" not in row.reporter_summary
