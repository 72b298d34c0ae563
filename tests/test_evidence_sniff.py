"""Content sniffing: is every accepted type recognised by its bytes, and is everything else —
other types, broken files, polyglots — refused with a reason?"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service.evidence.sniff import (
    ContentInspector,
    ContentRefused,
    EvidenceType,
    RefusalReason,
)
from tests import evidence_samples as samples


def inspect(data: bytes, block: int = 4096, **options: object) -> EvidenceType:
    inspector = ContentInspector(**options)  # type: ignore[arg-type]
    for start in range(0, len(data), block):
        inspector.feed(data[start : start + block])
    return inspector.finish()


def refusal(data: bytes, block: int = 4096) -> RefusalReason:
    with pytest.raises(ContentRefused) as excinfo:
        inspect(data, block)
    return excinfo.value.reason


@pytest.mark.parametrize("kind", list(samples.SAMPLES))
def test_is_each_accepted_type_recognised_by_its_bytes(kind):
    data = samples.SAMPLES[kind]()
    assert inspect(data) is kind
    assert inspect(data, block=1) is kind, "one byte at a time gives the same verdict"


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(list(samples.SAMPLES)), block=st.integers(1, 5000))
def test_does_the_verdict_not_depend_on_how_the_stream_is_cut(kind, block):
    assert inspect(samples.SAMPLES[kind](), block) is kind


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", RefusalReason.EMPTY),
        (b"GIF89a" + b"\x00" * 100, RefusalReason.UNKNOWN_TYPE),
        (b"MZ\x90\x00" + b"\x00" * 100, RefusalReason.UNKNOWN_TYPE),
        (b"Just some words typed by someone.", RefusalReason.UNKNOWN_TYPE),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", RefusalReason.UNKNOWN_TYPE),
    ],
)
def test_are_other_types_refused_by_name(data, reason):
    assert refusal(data) is reason


def test_is_a_zip_or_office_document_refused():
    assert refusal(samples.zip_archive()) is RefusalReason.UNKNOWN_TYPE


@pytest.mark.parametrize("kind", list(samples.SAMPLES))
def test_is_any_accepted_file_with_a_zip_appended_refused(kind):
    """The classic GIFAR/JPEG+ZIP: unzip finds the archive by its end record."""
    reason = refusal(samples.SAMPLES[kind]() + samples.zip_archive())
    assert reason in (RefusalReason.POLYGLOT_ZIP, RefusalReason.TRAILING_DATA)


def test_is_a_jpeg_with_a_zip_appended_refused_as_a_polyglot():
    assert refusal(samples.jpeg() + samples.zip_archive()) is RefusalReason.POLYGLOT_ZIP


def test_is_a_jpeg_with_a_pdf_appended_or_in_a_comment_refused():
    assert refusal(samples.jpeg() + samples.pdf()) is RefusalReason.POLYGLOT_PDF
    image = samples.jpeg()
    comment = b"%PDF-1.7\n1 0 obj<<>>endobj\n"
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    assert refusal(image[:2] + segment + image[2:]) is RefusalReason.POLYGLOT_PDF


def test_is_a_signature_split_across_two_blocks_still_found():
    data = samples.jpeg() + b"\x00" * 5000 + b"Rar!\x1a\x07\x00" + b"\x00" * 100
    at = data.index(b"Rar!")
    inspector = ContentInspector()
    inspector.feed(data[: at + 3])
    with pytest.raises(ContentRefused) as excinfo:
        inspector.feed(data[at + 3 :])
        inspector.finish()
    assert excinfo.value.reason is RefusalReason.POLYGLOT_RAR


def test_are_archives_hidden_inside_a_video_refused():
    video = samples.mp4()
    seven = b"7z\xbc\xaf\x27\x1c" + b"\x00" * 32
    hidden = video[:-256] + seven + video[-256 + len(seven) :]
    assert refusal(hidden) is RefusalReason.POLYGLOT_7Z


def test_is_markup_a_browser_would_render_refused():
    image = samples.jpeg()
    comment = b"<html><script>alert(1)</script></html>"
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    assert refusal(image[:2] + segment + image[2:]) is RefusalReason.POLYGLOT_MARKUP


@pytest.mark.parametrize(
    "kind", [EvidenceType.PNG, EvidenceType.WAV, EvidenceType.WEBP, EvidenceType.OGG]
)
def test_are_bytes_after_the_formats_own_end_refused(kind):
    assert refusal(samples.SAMPLES[kind]() + b"extra bytes " * 4) is RefusalReason.TRAILING_DATA


@pytest.mark.parametrize(
    "kind",
    [EvidenceType.PNG, EvidenceType.MP4, EvidenceType.M4A, EvidenceType.HEIC, EvidenceType.WAV],
)
def test_is_a_cut_short_file_refused_as_malformed(kind):
    data = samples.SAMPLES[kind]()
    assert refusal(data[: len(data) - 20]) is RefusalReason.MALFORMED


def test_is_an_ogg_file_with_a_broken_checksum_refused():
    data = bytearray(samples.ogg())
    data[30] ^= 0xFF
    assert refusal(bytes(data)) is RefusalReason.MALFORMED


def test_is_a_pdf_without_its_end_marker_refused():
    data = samples.pdf()
    assert refusal(data.replace(b"%%EOF", b"%%EON")) is RefusalReason.MALFORMED


def test_is_a_file_over_the_limit_refused_while_it_streams():
    inspector = ContentInspector(max_bytes=10_000)
    with pytest.raises(ContentRefused) as excinfo:
        inspector.feed(samples.wav()[:44])
        for _ in range(100):
            inspector.feed(b"\x00" * 1000)
    assert excinfo.value.reason is RefusalReason.TOO_LARGE
    assert inspector.length <= 11_000, "refused as soon as the limit was passed"


def test_is_a_quicktime_or_avif_file_refused():
    ftyp = b"\x00\x00\x00\x14ftypavif\x00\x00\x00\x00avif"
    assert refusal(ftyp + b"\x00\x00\x00\x08free") is RefusalReason.UNKNOWN_TYPE
