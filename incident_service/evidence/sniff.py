"""What an uploaded file is, judged by its bytes alone: accepted types, structure, polyglots.

A file's name and the type its sender declares are never consulted: both are chosen by the
sender. The inspector is fed the file as it streams (`feed`), decides the type from the first
bytes, follows the type's structure through the whole stream, looks for other formats hidden in
it, and gives its verdict at the end (`finish`). Memory stays flat: it keeps the first 4 KiB,
the last 64 KiB and a few header bytes.

A *polyglot* here is a file another program would open as a different type: a ZIP (or JAR,
Office document) found by its end record, a PDF header, a RAR or 7-Zip signature anywhere, or
HTML or SVG markup at the start, where browsers sniff. Refusing them keeps a caseworker who
opens "a photo" from opening an archive or a document with it.
"""

from __future__ import annotations

import enum
import struct
from collections import deque

from incident_service.evidence.structure import (
    AdtsFrames,
    Chain,
    IsoBoxes,
    JpegSegments,
    MpegFrames,
    OggPages,
    PngChunks,
    StructureError,
    ogg_first_page_ok,
)

HEAD_SIZE = 4096
MARKUP_WINDOW = 1024
# The ZIP end record sits within its 22 bytes plus a comment of up to 65,535 bytes of the end.
ZIP_TAIL = 22 + 65535


class EvidenceType(enum.StrEnum):
    """Accepted types. The values are stored (sealed) with each file: a storage format."""

    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"
    WEBP = "webp"
    PDF = "pdf"
    MP3 = "mp3"
    M4A = "m4a"
    AAC = "aac"
    OGG = "ogg"
    WAV = "wav"
    MP4 = "mp4"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def kind(self) -> str:
        """`image`, `document`, `audio` or `video`: what a page calls the file."""
        return self.media_type.split("/")[0].replace("application", "document")


_MEDIA_TYPES = {
    EvidenceType.JPEG: "image/jpeg",
    EvidenceType.PNG: "image/png",
    EvidenceType.HEIC: "image/heic",
    EvidenceType.WEBP: "image/webp",
    EvidenceType.PDF: "application/pdf",
    EvidenceType.MP3: "audio/mpeg",
    EvidenceType.M4A: "audio/mp4",
    EvidenceType.AAC: "audio/aac",
    EvidenceType.OGG: "audio/ogg",
    EvidenceType.WAV: "audio/wav",
    EvidenceType.MP4: "video/mp4",
}


class RefusalReason(enum.StrEnum):
    """Why a file was refused; the edge turns each into a message in the sender's language."""

    EMPTY = "empty"
    UNKNOWN_TYPE = "unknown_type"
    MALFORMED = "malformed"
    TRAILING_DATA = "trailing_data"
    POLYGLOT_ZIP = "polyglot_zip"
    POLYGLOT_PDF = "polyglot_pdf"
    POLYGLOT_RAR = "polyglot_rar"
    POLYGLOT_7Z = "polyglot_7z"
    POLYGLOT_MARKUP = "polyglot_markup"
    TOO_LARGE = "too_large"


class ContentRefused(Exception):
    """The file is not one this service accepts; `reason` names why (no file bytes inside)."""

    def __init__(self, reason: RefusalReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


# Brands of the ISO base media file format (`ftyp`), by the type they make a file.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
M4A_BRANDS = frozenset({b"M4A ", b"M4B "})
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"mmp4"}
    | {b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"MSNV"}
)

# Signatures that make another program open the file, wherever they are.
_Signatures = tuple[tuple[bytes, RefusalReason], ...]
_ANYWHERE: _Signatures = (
    (b"Rar!\x1a\x07\x00", RefusalReason.POLYGLOT_RAR),
    (b"Rar!\x1a\x07\x01\x00", RefusalReason.POLYGLOT_RAR),
    (b"7z\xbc\xaf\x27\x1c", RefusalReason.POLYGLOT_7Z),
)
# PDF readers find a header well past the start; seven bytes make a chance match negligible.
_PDF_HEADERS: _Signatures = (
    (b"%PDF-1.", RefusalReason.POLYGLOT_PDF),
    (b"%PDF-2.", RefusalReason.POLYGLOT_PDF),
)
_MARKUP = (b"<html", b"<script", b"<!doctype html", b"<svg", b"<iframe", b"<body")
_OVERLAP = max(len(sig) for sig, _ in _ANYWHERE + _PDF_HEADERS) - 1


def identify(head: bytes) -> EvidenceType:
    """The accepted type whose signature `head` (the first bytes) carries, or refuse it."""
    if head.startswith(b"\xff\xd8\xff"):
        return EvidenceType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return EvidenceType.PNG
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return EvidenceType.WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return EvidenceType.WAV
    if head.startswith((b"%PDF-1.", b"%PDF-2.")):
        return EvidenceType.PDF
    if head.startswith(b"OggS"):
        return EvidenceType.OGG
    if head[4:8] == b"ftyp":
        return _iso_type(head)
    if head.startswith(b"ID3") or MpegFrames.is_frame_header(head[:4]):
        return EvidenceType.MP3
    if AdtsFrames.is_frame_header(head[:7]):
        return EvidenceType.AAC
    raise ContentRefused(RefusalReason.UNKNOWN_TYPE, "no accepted type starts like this")


def _iso_type(head: bytes) -> EvidenceType:
    (size,) = struct.unpack(">I", head[:4])
    if size < 16 or size > len(head):
        raise ContentRefused(RefusalReason.MALFORMED, "file type box out of range")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, size - 3, 4)}
    for brands, found in ((M4A_BRANDS, EvidenceType.M4A), (HEIF_BRANDS, EvidenceType.HEIC)):
        if major in brands:
            return found
    if major in MP4_BRANDS or (major == b"qt  " and compatible & MP4_BRANDS):
        if compatible & M4A_BRANDS and not compatible & {b"avc1", b"mp42"}:
            return EvidenceType.M4A
        return EvidenceType.MP4
    if compatible & HEIF_BRANDS:
        return EvidenceType.HEIC
    raise ContentRefused(RefusalReason.UNKNOWN_TYPE, f"ISO media brand {major!r} not accepted")


def _structure_for(kind: EvidenceType, head: bytes) -> Chain | None:
    """The walker that follows `kind`'s structure through the stream (None: checked at the
    end from the head and the length alone)."""
    if kind is EvidenceType.JPEG:
        return JpegSegments(start=2)
    if kind is EvidenceType.PNG:
        return PngChunks(start=8)
    if kind in (EvidenceType.HEIC, EvidenceType.M4A, EvidenceType.MP4):
        return IsoBoxes(start=0)
    if kind is EvidenceType.OGG:
        return OggPages(start=0)
    if kind is EvidenceType.MP3:
        return MpegFrames(start=_id3_length(head))
    if kind is EvidenceType.AAC:
        return AdtsFrames(start=0)
    return None


def _id3_length(head: bytes) -> int:
    """Bytes of an ID3v2 tag at the start (0 if none); the size is stored in 7-bit bytes."""
    if not head.startswith(b"ID3"):
        return 0
    if len(head) < 10 or any(byte & 0x80 for byte in head[6:10]):
        raise ContentRefused(RefusalReason.MALFORMED, "ID3 tag header")
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | byte
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


class ContentInspector:
    """Feed a file's bytes in order, then `finish()` for its type or a `ContentRefused`."""

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.kind: EvidenceType | None = None
        self.length = 0
        self._head = bytearray()
        self._structure: Chain | None = None
        self._broken: StructureError | None = None
        self._carry = b""
        self._tail: deque[bytes] = deque()
        self._tail_length = 0

    def feed(self, block: bytes | bytearray | memoryview) -> None:
        data = bytes(block)
        if not data:
            return
        offset = self.length
        self.length += len(data)
        if self.max_bytes is not None and self.length > self.max_bytes:
            raise ContentRefused(RefusalReason.TOO_LARGE, f"over {self.max_bytes} bytes")
        if len(self._head) < HEAD_SIZE:
            self._head += data[: HEAD_SIZE - len(self._head)]
            if len(self._head) == HEAD_SIZE:
                self._decide()
        self._scan(data, offset)
        self._keep_tail(data)

    def finish(self) -> EvidenceType:
        if self.length == 0:
            raise ContentRefused(RefusalReason.EMPTY, "no bytes")
        if self.kind is None:
            self._decide()
        assert self.kind is not None
        self._check_markup()
        tail = b"".join(self._tail)[-ZIP_TAIL:]
        if _holds_zip_end(tail):
            raise ContentRefused(RefusalReason.POLYGLOT_ZIP, "a ZIP archive ends this file")
        if self._broken is not None:
            raise _refusal(self._broken)
        self._check_end(tail)
        return self.kind

    def _decide(self) -> None:
        head = bytes(self._head)
        self.kind = identify(head)
        if self.kind is not EvidenceType.PDF:
            # Blocks fed before the type was known were not searched for a PDF header.
            for signature, reason in _PDF_HEADERS:
                if signature in head:
                    raise ContentRefused(reason, "a PDF header is inside")
        if self.kind is EvidenceType.OGG and not ogg_first_page_ok(head):
            raise ContentRefused(RefusalReason.MALFORMED, "first Ogg page is not Opus or Vorbis")
        self._structure = _structure_for(self.kind, head)
        if self._structure is not None:
            self._walk(head, 0)

    def _walk(self, data: bytes, offset: int) -> None:
        assert self._structure is not None
        try:
            self._structure.feed(data, offset)
        except StructureError as exc:
            # Kept until the end: what follows a broken structure may be an archive, and the
            # reporter should hear "an archive is hidden in it" rather than "it is broken".
            self._broken = exc
            self._structure = None

    def _scan(self, data: bytes, offset: int) -> None:
        """Look for other formats' signatures, including across the edge of two blocks."""
        if self._structure is not None and offset >= HEAD_SIZE:
            self._walk(data, offset)
        elif self._structure is not None and offset + len(data) > HEAD_SIZE:
            self._walk(data[HEAD_SIZE - offset :], HEAD_SIZE)
        signatures: _Signatures = _ANYWHERE
        if self.kind is not None and self.kind is not EvidenceType.PDF:
            signatures = _ANYWHERE + _PDF_HEADERS
        window = self._carry + data[: _OVERLAP * 2]
        for signature, reason in signatures:
            if signature in window or signature in data:
                raise ContentRefused(reason, "another format's signature is inside")
        self._carry = data[-_OVERLAP:]

    def _keep_tail(self, data: bytes) -> None:
        self._tail.append(data)
        self._tail_length += len(data)
        while self._tail_length - len(self._tail[0]) >= ZIP_TAIL:
            self._tail_length -= len(self._tail.popleft())

    def _check_markup(self) -> None:
        start = bytes(self._head[:MARKUP_WINDOW]).lower()
        if any(tag in start for tag in _MARKUP):
            raise ContentRefused(RefusalReason.POLYGLOT_MARKUP, "markup a browser would render")

    def _check_end(self, tail: bytes) -> None:
        kind, head, total = self.kind, bytes(self._head), self.length
        if kind in (EvidenceType.WEBP, EvidenceType.WAV):
            _check_riff(head, total)
        elif kind is EvidenceType.PDF and b"%%EOF" not in tail[-1024:]:
            raise ContentRefused(RefusalReason.MALFORMED, "no end-of-file marker near the end")
        if self._structure is not None:
            try:
                self._structure.finish(total)
            except StructureError as exc:
                raise _refusal(exc) from None


def _refusal(error: StructureError) -> ContentRefused:
    reason = RefusalReason.TRAILING_DATA if error.trailing else RefusalReason.MALFORMED
    return ContentRefused(reason, str(error))


def _check_riff(head: bytes, total: int) -> None:
    """A RIFF file (WebP, WAV) is one chunk: its declared size covers the file exactly."""
    if len(head) < 16:
        raise ContentRefused(RefusalReason.MALFORMED, "RIFF header too short")
    (size,) = struct.unpack("<I", head[4:8])
    expected = 8 + size + (size & 1)
    if total > expected:
        raise ContentRefused(RefusalReason.TRAILING_DATA, "bytes after the RIFF chunk")
    if total < 8 + size:
        raise ContentRefused(RefusalReason.MALFORMED, "RIFF chunk is cut short")
    first = head[12:16]
    wanted = (b"VP8 ", b"VP8L", b"VP8X") if head[8:12] == b"WEBP" else (b"fmt ", b"LIST", b"JUNK")
    if first not in wanted:
        raise ContentRefused(RefusalReason.MALFORMED, f"unexpected first RIFF chunk {first!r}")


def _holds_zip_end(tail: bytes) -> bool:
    """Is there a plausible ZIP end-of-central-directory record near the end?

    Checked as unzip finds one: the signature, disk numbers of zero, matching entry counts, at
    least one entry, a directory before the record and a comment that fits in the file. A
    chance match in compressed data would need about 80 bits to line up.
    """
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0:
        record = tail[at : at + 22]
        if len(record) == 22:
            disk, cd_disk, on_disk, entries, cd_size, cd_offset, comment = struct.unpack(
                "<HHHHIIH", record[4:]
            )
            if (
                disk == 0
                and cd_disk == 0
                and on_disk == entries
                and entries > 0
                and cd_size > 0
                and at + 22 + comment <= len(tail)
                and cd_offset < 2**32 - 1
            ):
                return True
        at = tail.rfind(b"PK\x05\x06", 0, at)
    return False
