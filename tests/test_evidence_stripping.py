"""The bounds on what the evidence worker decodes, and files it cannot clean (no database)."""

from __future__ import annotations

import io

import pytest

from incident_service.evidence.sniff import EvidenceType
from incident_service.evidence.stripping import CleaningLimits, CopyRefused, make_clean_copy
from tests import evidence_samples as samples

GENEROUS = CleaningLimits(max_pixels=10_000_000, max_pdf_pages=100, max_audio_seconds=3600)


def _pdf(pages: int, *, password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=100, height=100)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_is_a_pdf_over_the_page_cap_refused():
    limits = CleaningLimits(max_pixels=10, max_pdf_pages=2, max_audio_seconds=10)
    assert make_clean_copy(_pdf(2), EvidenceType.PDF, limits).kind is EvidenceType.PDF
    with pytest.raises(CopyRefused) as refused:
        make_clean_copy(_pdf(3), EvidenceType.PDF, limits)
    assert refused.value.reason == "too_many_pages"


def test_is_a_pdf_locked_with_a_password_refused():
    with pytest.raises(CopyRefused) as refused:
        make_clean_copy(_pdf(1, password="secret"), EvidenceType.PDF, GENEROUS)
    assert refused.value.reason == "encrypted"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (samples.wav(frames=16_000), EvidenceType.WAV),  # 2 s at 8 kHz
        (samples.mp3(frames=200), EvidenceType.MP3),  # about 5 s
        (samples.mp4_with_location(), EvidenceType.MP4),  # 5 s in its mvhd
    ],
)
def test_is_a_recording_over_the_length_cap_refused(data, kind):
    short = CleaningLimits(max_pixels=10, max_pdf_pages=1, max_audio_seconds=1)
    with pytest.raises(CopyRefused) as refused:
        make_clean_copy(data, kind, short)
    assert refused.value.reason == "too_long"
    assert make_clean_copy(data, kind, GENEROUS).kind is kind


def test_is_an_image_over_the_pixel_cap_refused_before_it_is_decoded():
    photo = samples.jpeg_with_gps(size=(200, 100))
    with pytest.raises(CopyRefused) as refused:
        make_clean_copy(photo, EvidenceType.JPEG, CleaningLimits(19_999, 1, 1))
    assert refused.value.reason == "too_many_pixels"
    assert make_clean_copy(photo, EvidenceType.JPEG, CleaningLimits(20_000, 1, 1)).location


def test_does_a_heic_photo_become_a_jpeg_the_browser_can_show():
    copy = make_clean_copy(samples.heic(), EvidenceType.HEIC, GENEROUS)
    assert copy.kind is EvidenceType.JPEG and copy.data.startswith(b"\xff\xd8\xff")


def test_is_an_image_that_does_not_decode_refused_as_corrupt():
    photo = samples.jpeg()
    broken = photo[:200] + bytes(len(photo) - 202) + b"\xff\xd9"
    with pytest.raises(CopyRefused) as refused:
        make_clean_copy(broken, EvidenceType.JPEG, GENEROUS)
    assert refused.value.reason == "corrupt"
