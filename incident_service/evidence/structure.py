"""Walkers that follow a file format's chain of length-prefixed units through a stream.

Each walker reads only the headers of its units (PNG chunks, ISO media boxes, JPEG segments,
Ogg pages, MPEG and ADTS frames) as the bytes go by, so a 1 GB video costs a few header reads,
not a copy. A unit whose length points past the end, a chain that does not end where the file
ends, or bytes after the format's own end are what let one file pass for another.
"""

from __future__ import annotations

import struct


class StructureError(Exception):
    """The bytes break the format's structure; `trailing` if they run on after its end."""

    def __init__(self, message: str, *, trailing: bool = False) -> None:
        super().__init__(message)
        self.trailing = trailing


class Chain:
    """A chain of units, each starting with a header that says how long the unit is.

    Subclasses implement `read(header)`: it either asks for a longer header (returns the byte
    count), or calls `advance`, `stop` or `end_at` and returns 0.
    """

    header_size = 8

    def __init__(self, *, start: int) -> None:
        self.position = start
        self.units = 0
        self.stopped = False
        self.end: int | None = None
        self._header = bytearray()
        self._need = self.header_size

    def feed(self, data: bytes, offset: int) -> None:
        """Take the bytes at `offset`; every byte is given once, in order."""
        stream_end = offset + len(data)
        while not self.stopped and self.end is None:
            at = self.position + len(self._header)
            if at >= stream_end:
                return
            start = at - offset
            self._header += data[start : start + self._need - len(self._header)]
            if len(self._header) < self._need:
                return
            more = self.read(bytes(self._header))
            if more:
                self._need = more
                continue
            self._header.clear()
            self._need = self.header_size
            self.units += 1

    def read(self, header: bytes) -> int:
        raise StructureError("no reader for this format")

    def advance(self, length: int) -> None:
        if length < len(self._header):
            raise StructureError("a unit is shorter than its own header")
        self.position += length

    def stop(self) -> None:
        """Nothing more to follow (image data, a box that runs to the end, enough frames)."""
        self.stopped = True

    def end_at(self, offset: int) -> None:
        """The format's own end is at `offset`: any byte after it is trailing data."""
        self.end = offset

    def finish(self, total: int) -> None:
        """The stream ended after `total` bytes: does the chain end there too?"""
        if self.stopped:
            return
        if self.end is not None:
            if total > self.end:
                raise StructureError("bytes follow the end of the file", trailing=True)
            if total < self.end:
                raise StructureError("the last unit is cut short")
            return
        if self._header or self.position > total:
            raise StructureError("the last unit is cut short")


def _printable(kind: bytes) -> bool:
    return all(0x20 <= byte <= 0x7E or byte == 0xA9 for byte in kind)


class PngChunks(Chain):
    """PNG: IHDR first, chunks of length + type + data + CRC, nothing after IEND."""

    header_size = 8

    def read(self, header: bytes) -> int:
        length, kind = struct.unpack(">I4s", header)
        if not kind.isalpha() or length > 2**31 - 1:
            raise StructureError("not a PNG chunk header")
        if self.units == 0 and kind != b"IHDR":
            raise StructureError("PNG does not start with IHDR")
        if kind == b"IEND":
            self.end_at(self.position + 12 + length)
        else:
            self.advance(12 + length)
        return 0

    def finish(self, total: int) -> None:
        if self.end is None:
            raise StructureError("PNG has no IEND chunk")
        super().finish(total)


class IsoBoxes(Chain):
    """ISO base media (MP4, M4A, HEIC): top-level boxes that tile the file exactly."""

    header_size = 8

    def read(self, header: bytes) -> int:
        size, kind = struct.unpack(">I4s", header[:8])
        if not _printable(kind):
            raise StructureError("not an ISO media box", trailing=self.units > 0)
        if self.units == 0 and kind != b"ftyp":
            raise StructureError("ISO media file does not start with ftyp")
        if size == 1:
            if len(header) < 16:
                return 16
            (size,) = struct.unpack(">Q", header[8:16])
        if size == 0:
            self.stop()  # the last box runs to the end of the file
            return 0
        self.advance(size)
        return 0


class JpegSegments(Chain):
    """JPEG: marker segments with lengths, up to the start of the compressed image (SOS)."""

    header_size = 4

    def read(self, header: bytes) -> int:
        if header[0] != 0xFF:
            raise StructureError("JPEG segment does not start with a marker")
        marker = header[1]
        if marker == 0xDA:
            if self.units == 0:
                raise StructureError("JPEG image data before any table")
            self.stop()
            return 0
        if marker in (0x00, 0x01, 0xD8, 0xFF) or 0xD0 <= marker <= 0xD9:
            raise StructureError("unexpected JPEG marker before the image data")
        (length,) = struct.unpack(">H", header[2:4])
        if length < 2:
            raise StructureError("JPEG segment length too short")
        self.advance(2 + length)
        return 0

    def finish(self, total: int) -> None:
        if not self.stopped:
            raise StructureError("JPEG ends before its image data")


class OggPages(Chain):
    """Ogg: pages of 27 bytes + segment table + body, back to back to the end."""

    header_size = 27

    def read(self, header: bytes) -> int:
        if header[:4] != b"OggS" or header[4] != 0:
            raise StructureError("not an Ogg page", trailing=self.units > 0)
        segments = header[26]
        if len(header) < 27 + segments:
            return 27 + segments
        if self.units == 0 and not header[5] & 0x02:
            raise StructureError("first Ogg page does not begin a stream")
        self.advance(27 + segments + sum(header[27 : 27 + segments]))
        return 0


def ogg_first_page_ok(head: bytes) -> bool:
    """Does the first page carry an Opus or Vorbis header, under a correct checksum?"""
    if len(head) < 27 or head[:4] != b"OggS":
        return False
    segments = head[26]
    size = 27 + segments + sum(head[27 : 27 + segments])
    if len(head) < size:
        return False
    page = bytearray(head[:size])
    (stored,) = struct.unpack("<I", page[22:26])
    page[22:26] = b"\x00\x00\x00\x00"
    payload = page[27 + segments :]
    return ogg_crc(bytes(page)) == stored and payload.startswith((b"OpusHead", b"\x01vorbis"))


def _ogg_crc_table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def ogg_crc(data: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, no final xor)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


_MPEG1_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Two frames in a row make a chance match in other data unlikely; more tells nothing new.
FRAMES_TO_CHECK = 2


class MpegFrames(Chain):
    """MP3 (MPEG audio layer III): frames whose headers give their own lengths."""

    header_size = 4

    @staticmethod
    def frame_length(header: bytes) -> int | None:
        if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
            return None
        version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
        bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
        if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
            return None
        padding = (header[2] >> 1) & 1
        rate = _SAMPLE_RATES[version][rate_index]
        if version == 3:
            return 144 * _MPEG1_BITRATES[bitrate_index] * 1000 // rate + padding
        return 72 * _MPEG2_BITRATES[bitrate_index] * 1000 // rate + padding

    @classmethod
    def is_frame_header(cls, header: bytes) -> bool:
        return cls.frame_length(header) is not None

    def read(self, header: bytes) -> int:
        length = self.frame_length(header)
        if length is None:
            raise StructureError("not an MPEG audio frame")
        self.advance(length)
        if self.units + 1 >= FRAMES_TO_CHECK:
            self.stop()
        return 0

    def finish(self, total: int) -> None:
        if not self.stopped and (self.units == 0 or self._header or self.position > total):
            raise StructureError("no complete MPEG audio frame")


class AdtsFrames(Chain):
    """AAC in ADTS frames: a 12-bit sync, layer 0, and a 13-bit frame length."""

    header_size = 7

    @staticmethod
    def frame_length(header: bytes) -> int | None:
        if len(header) < 7 or header[0] != 0xFF or header[1] & 0xF6 != 0xF0:
            return None
        if (header[2] >> 2) & 0x0F >= 13:
            return None
        length = ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
        return length if length >= 7 else None

    @classmethod
    def is_frame_header(cls, header: bytes) -> bool:
        return cls.frame_length(header) is not None

    def read(self, header: bytes) -> int:
        length = self.frame_length(header)
        if length is None:
            raise StructureError("not an ADTS frame")
        self.advance(length)
        if self.units + 1 >= FRAMES_TO_CHECK:
            self.stop()
        return 0

    def finish(self, total: int) -> None:
        if not self.stopped and (self.units == 0 or self._header or self.position > total):
            raise StructureError("no complete ADTS frame")
