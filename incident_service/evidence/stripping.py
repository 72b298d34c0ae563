"""Working copies without metadata: what a photo, document or recording says about its maker.

A phone's photo carries where it was taken (GPS), when, the device's make, model and serial
numbers, and maker notes; a PDF its author and software; a voice note its tags and recording
time. Shown to the wrong person, any of these can identify the reporter. The working copy a
caseworker opens has none of them; what was removed is returned (names and values) so that it
can be sealed for the case team, who may need it: the GPS of an arrest is evidence too.

Images are decoded and re-encoded (Pillow): nothing from the original's container survives.
HEIC becomes JPEG (browsers cannot show HEIC). PDFs lose their Info dictionary, XMP, page
metadata and active content (pypdf). MP3 and Ogg lose their tags (mutagen), WAV every chunk
besides the format and the samples, MP4 and M4A their `udta`, `meta` and XMP boxes (overwritten
by `free` boxes of the same size, so that sample offsets stay valid) and creation times.

Decoding is bounded: an image's pixel count, a PDF's pages and a recording's length are checked
before the expensive work; a file over a bound, or one that does not decode, is refused with a
reason (`CopyRefused`) and keeps only its original.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from incident_service.evidence.sniff import EvidenceType

MAX_VALUE = 2000  # characters of one removed value kept in the record
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
MP4_EPOCH = dt.datetime(1904, 1, 1, tzinfo=dt.UTC)
# Image containers the copy is written in; HEIC is shown as JPEG.
IMAGE_OUTPUT = {
    EvidenceType.JPEG: ("JPEG", EvidenceType.JPEG),
    EvidenceType.HEIC: ("JPEG", EvidenceType.JPEG),
    EvidenceType.PNG: ("PNG", EvidenceType.PNG),
    EvidenceType.WEBP: ("WEBP", EvidenceType.WEBP),
}


class CopyRefused(Exception):
    """No working copy can be made; `reason` is a short code kept in the clear."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CleaningLimits:
    max_pixels: int
    max_pdf_pages: int
    max_audio_seconds: int


@dataclass(frozen=True)
class RemovedField:
    group: str  # "GPS", "EXIF", "XMP", "PDF", "ID3", "MP4", ...
    name: str
    value: str


@dataclass
class CleanCopy:
    data: bytes
    kind: EvidenceType
    removed: list[RemovedField] = field(default_factory=list)
    # Decimal degrees from the GPS tags, for a caseworker to read on a map.
    location: tuple[float, float] | None = None


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        printable = raw.decode("utf-8", "replace")
        if printable.isprintable() and raw:
            return printable[:MAX_VALUE]
        return f"{len(raw)} bytes: {raw[:48].hex()}"
    return str(value)[:MAX_VALUE]


def make_clean_copy(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    """The working copy of `data` (an accepted file of `kind`), or `CopyRefused`."""
    cleaner = _CLEANERS[kind]
    try:
        return cleaner(data, kind, limits)
    except CopyRefused:
        raise
    except Exception as exc:  # every library has its own errors for a broken file
        raise CopyRefused("corrupt", type(exc).__name__) from None


# --------------------------------------------------------------------------------------------
# Images


def _image(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    from PIL import Image, ImageOps

    if kind is EvidenceType.HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
    # Pillow refuses twice its limit outright and warns above it: both are bombs here.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise CopyRefused("too_many_pixels", f"{width}x{height}")
            removed, location = _image_metadata(image)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise CopyRefused("too_many_pixels", str(exc)[:80]) from None
    upright = ImageOps.exif_transpose(image)
    target, out_kind = IMAGE_OUTPUT[kind]
    mode = upright.mode
    if target == "JPEG":
        mode = "L" if mode in ("1", "L", "I;16") else "RGB"
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        mode = "RGBA" if "A" in mode or "transparency" in upright.info else "RGB"
    pixels = upright.convert(mode)
    # A new image from the pixels alone: no info, EXIF, XMP or ICC profile can ride along.
    fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 92} if target in ("JPEG", "WEBP") else {}
    fresh.save(out, format=target, **options)
    return CleanCopy(out.getvalue(), out_kind, removed, location)


def _image_metadata(image: Any) -> tuple[list[RemovedField], tuple[float, float] | None]:
    from PIL import ExifTags

    removed: list[RemovedField] = []
    exif = image.getexif()
    for tag, value in exif.items():
        if tag in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
            continue
        removed.append(RemovedField("EXIF", ExifTags.TAGS.get(tag, f"0x{tag:04x}"), _text(value)))
    for tag, value in exif.get_ifd(ExifTags.IFD.Exif).items():
        name = ExifTags.TAGS.get(tag, f"0x{tag:04x}")
        if tag == ExifTags.Base.MakerNote:
            value = bytes(value) if isinstance(value, bytes | bytearray) else value
        removed.append(RemovedField("EXIF", name, _text(value)))
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    for tag, value in gps.items():
        removed.append(RemovedField("GPS", ExifTags.GPSTAGS.get(tag, f"0x{tag:04x}"), _text(value)))
    for key, value in image.info.items():
        # Text and binary blocks (XMP, comments, PNG text, ICC profiles, Photoshop data) can
        # name people and devices; numbers and flags (dpi, loop, gamma) describe pixels.
        if key == "exif" or not isinstance(value, str | bytes | bytearray):
            continue
        group = "XMP" if key in ("xmp", "XML:com.adobe.xmp") else "image"
        removed.append(RemovedField(group, str(key), _text(value)))
    return removed, _gps_location(gps)


def _gps_location(gps: dict[int, Any]) -> tuple[float, float] | None:
    def degrees(values: Any, ref: Any, negative: str) -> float:
        d, m, s = (float(part) for part in values)
        sign = -1.0 if str(ref).upper().startswith(negative) else 1.0
        return sign * (d + m / 60 + s / 3600)

    try:
        latitude = degrees(gps[2], gps.get(1, "N"), "S")
        longitude = degrees(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return round(latitude, 6), round(longitude, 6)


# --------------------------------------------------------------------------------------------
# PDF


_ACTIVE_KEYS = ("/OpenAction", "/AA")


def _pdf(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise CopyRefused("encrypted")
    pages = len(reader.pages)
    if pages > limits.max_pdf_pages:
        raise CopyRefused("too_many_pages", str(pages))
    removed = [RemovedField("PDF", str(k), _text(v)) for k, v in (reader.metadata or {}).items()]
    root: Any = reader.trailer["/Root"]
    if "/Metadata" in root:
        xmp = root["/Metadata"].get_object().get_data()
        removed.append(RemovedField("XMP", "document", _text(xmp)))
    writer = PdfWriter(clone_from=reader)
    writer.metadata = None
    catalog = writer._root_object
    for key in ("/Metadata", "/PieceInfo", *_ACTIVE_KEYS):
        if key in catalog:
            if key in _ACTIVE_KEYS:
                removed.append(RemovedField("PDF", key, "active content"))
            del catalog[NameObject(key)]
    names = catalog.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                removed.append(RemovedField("PDF", key, "removed"))
                del names[NameObject(key)]
    for number, page in enumerate(writer.pages, start=1):
        for key in ("/Metadata", "/PieceInfo", "/AA"):
            if key in page:
                removed.append(RemovedField("PDF", f"page {number} {key}", "removed"))
                del page[NameObject(key)]
    out = io.BytesIO()
    writer.write(out)
    return CleanCopy(out.getvalue(), EvidenceType.PDF, removed)


# --------------------------------------------------------------------------------------------
# Audio: tags through mutagen, WAV chunks by hand


def _check_length(seconds: float, limits: CleaningLimits) -> None:
    if seconds > limits.max_audio_seconds:
        raise CopyRefused("too_long", f"{int(seconds)} s")


def _mp3(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    from mutagen import apev2, id3
    from mutagen.mp3 import MP3

    buffer = io.BytesIO(data)
    audio: Any = MP3(buffer)
    _check_length(audio.info.length, limits)
    removed = [
        RemovedField("ID3", key, _text(frame.pprint())) for key, frame in (audio.tags or {}).items()
    ]
    buffer.seek(0)
    id3.delete(buffer)
    buffer.seek(0)
    try:
        ape = apev2.APEv2(buffer)
        removed += [RemovedField("APE", key, _text(value)) for key, value in ape.items()]
        buffer.seek(0)
        apev2.delete(buffer)
    except apev2.APENoHeaderError:
        pass
    return CleanCopy(_whole(buffer), EvidenceType.MP3, removed)


def _whole(buffer: io.BytesIO) -> bytes:
    buffer.seek(0)
    return buffer.read()


def _ogg(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    import mutagen

    buffer = io.BytesIO(data)
    audio = mutagen.File(buffer)
    if audio is None:
        raise CopyRefused("corrupt", "not Opus or Vorbis")
    _check_length(audio.info.length, limits)
    removed = [RemovedField("Vorbis comment", k, _text(v)) for k, v in (audio.tags or {}).items()]
    if audio.tags is not None:
        audio.tags.clear()
        buffer.seek(0)
        audio.save(buffer)
    return CleanCopy(_whole(buffer), EvidenceType.OGG, removed)


def _aac(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    from mutagen.aac import AAC

    audio: Any = AAC(io.BytesIO(data))
    _check_length(audio.info.length, limits)
    return CleanCopy(data, EvidenceType.AAC, [])  # ADTS frames carry no tags


_WAV_KEEP = frozenset({b"fmt ", b"data", b"fact"})


def _wav(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    kept = [b"WAVE"]
    removed: list[RemovedField] = []
    byte_rate = samples = 0
    for chunk_id, body in _riff_chunks(data):
        if chunk_id in _WAV_KEEP:
            kept.append(chunk_id + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) % 2))
            if chunk_id == b"fmt ":
                byte_rate = struct.unpack("<I", body[8:12])[0]
            if chunk_id == b"data":
                samples = len(body)
            continue
        removed += _riff_fields(chunk_id, body)
    if not byte_rate:
        raise CopyRefused("corrupt", "no fmt chunk")
    _check_length(samples / byte_rate, limits)
    payload = b"".join(kept)
    return CleanCopy(b"RIFF" + struct.pack("<I", len(payload)) + payload, EvidenceType.WAV, removed)


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        body = data[position + 8 : position + 8 + size]
        if len(body) != size:
            raise CopyRefused("corrupt", "RIFF chunk runs past the end")
        yield chunk_id, body
        position += 8 + size + size % 2


def _riff_fields(chunk_id: bytes, body: bytes) -> list[RemovedField]:
    name = chunk_id.decode("latin-1").strip()
    if chunk_id == b"LIST" and body[:4] == b"INFO":
        fields = []
        for sub_id, sub_body in _riff_chunks(b"RIFF\x00\x00\x00\x00" + body):
            fields.append(RemovedField("RIFF INFO", sub_id.decode("latin-1"), _text(sub_body)))
        return fields
    return [RemovedField("RIFF", name, _text(body))]


# --------------------------------------------------------------------------------------------
# MP4 and M4A: metadata boxes overwritten in place


_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})
_METADATA_BOXES = frozenset({b"udta", b"meta"})
_TIMED_HEADERS = frozenset({b"mvhd", b"tkhd", b"mdhd"})


def _boxes(data: bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, payload start, box end) of each box between `start` and `end`."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise CopyRefused("corrupt", "box runs past its parent")
        yield kind, position, position + header, position + size
        position += size


def _mp4(data: bytes, kind: EvidenceType, limits: CleaningLimits) -> CleanCopy:
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    copy = bytearray(data)
    tags: Any
    try:
        tags = MP4(io.BytesIO(data)).tags or {}
    except MutagenError:
        tags = {}  # no track mutagen understands: the boxes below are removed all the same
    removed = [RemovedField("MP4 tag", key, _text(value)) for key, value in tags.items()]
    duration = _walk_mp4(copy, 0, len(copy), removed)
    if duration is not None:
        _check_length(duration, limits)
    return CleanCopy(bytes(copy), kind, removed)


def _walk_mp4(data: bytearray, start: int, end: int, removed: list[RemovedField]) -> float | None:
    duration = None
    for box, begin, payload, finish in list(_boxes(data, start, end)):
        is_xmp = box == b"uuid" and data[payload : payload + 16] == XMP_UUID
        if box in _METADATA_BOXES or is_xmp:
            if box == b"udta":
                removed += _udta_fields(data, payload, finish)
            elif is_xmp:
                removed.append(
                    RemovedField("XMP", "uuid", _text(bytes(data[payload + 16 : finish])))
                )
            _overwrite_with_free(data, begin, payload, finish)
        elif box in _CONTAINERS:
            found = _walk_mp4(data, payload, finish, removed)
            duration = duration if found is None else found
        elif box in _TIMED_HEADERS:
            seconds = _clear_times(data, box, payload, removed)
            if box == b"mvhd":
                duration = seconds
    return duration


def _overwrite_with_free(data: bytearray, begin: int, payload: int, finish: int) -> None:
    data[begin + 4 : begin + 8] = b"free"
    data[payload:finish] = bytes(finish - payload)


def _udta_fields(data: bytearray, start: int, end: int) -> list[RemovedField]:
    fields = []
    for box, _begin, payload, finish in _boxes(data, start, end):
        body = bytes(data[payload:finish])
        if box.startswith(b"\xa9") and len(body) >= 4:
            body = body[4:]  # a 16-bit length and a 16-bit language come first
        fields.append(RemovedField("MP4 udta", box.decode("latin-1"), _text(body)))
    return fields


def _clear_times(data: bytearray, box: bytes, payload: int, removed: list[RemovedField]) -> float:
    """Zero a header's creation and modification times; return its duration in seconds."""
    version = data[payload]
    width = 8 if version == 1 else 4
    times = payload + 4
    code = "Q" if width == 8 else "I"
    created, modified = struct.unpack(f">{code}{code}", data[times : times + 2 * width])
    for label, value in (("creation time", created), ("modification time", modified)):
        if value:
            moment = MP4_EPOCH + dt.timedelta(seconds=value)
            removed.append(RemovedField("MP4 " + box.decode(), label, moment.isoformat()))
    data[times : times + 2 * width] = bytes(2 * width)
    if box != b"mvhd":
        return 0.0
    scale_at = times + 2 * width
    (timescale,) = struct.unpack(">I", data[scale_at : scale_at + 4])
    (length,) = struct.unpack(f">{code}", data[scale_at + 4 : scale_at + 4 + width])
    return length / timescale if timescale else 0.0


_CLEANERS: dict[EvidenceType, Callable[[bytes, EvidenceType, CleaningLimits], CleanCopy]] = {
    EvidenceType.JPEG: _image,
    EvidenceType.PNG: _image,
    EvidenceType.WEBP: _image,
    EvidenceType.HEIC: _image,
    EvidenceType.PDF: _pdf,
    EvidenceType.MP3: _mp3,
    EvidenceType.OGG: _ogg,
    EvidenceType.AAC: _aac,
    EvidenceType.WAV: _wav,
    EvidenceType.M4A: _mp4,
    EvidenceType.MP4: _mp4,
}
