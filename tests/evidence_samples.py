"""Small valid files of every accepted type, made in the test run (no binary fixtures).

Images come from Pillow (HEIC through pillow-heif), the PDF from pypdf, WAV from `wave`; MP3,
AAC, Ogg, M4A and MP4 are put together byte by byte, and the Ogg pages' checksums come from
mutagen, an implementation independent of ours.
"""

from __future__ import annotations

import io
import struct
import wave

from incident_service.evidence.sniff import EvidenceType


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    image = Image.effect_noise(size, 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def jpeg() -> bytes:
    return _image("JPEG")


def png() -> bytes:
    return _image("PNG")


def webp() -> bytes:
    return _image("WEBP")


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _image("HEIF")


def pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def wav(frames: int = 800) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x01\x00" * frames)
    return out.getvalue()


def mp3(frames: int = 6, *, id3: bool = True) -> bytes:
    """MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames of silence."""
    header = b"\xff\xfb\x90\x64"
    body = header + b"\x00" * (417 - 4)
    tag = b""
    if id3:
        content = b"TIT2\x00\x00\x00\x06\x00\x00\x03test\x00"
        size = len(content)
        syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
        tag = b"ID3\x03\x00\x00" + syncsafe + content
    return tag + body * frames


def aac(frames: int = 5) -> bytes:
    """AAC-LC in ADTS frames of 64 bytes (44.1 kHz, stereo)."""
    length = 64
    header = bytes(
        [
            0xFF,
            0xF1,
            (1 << 6) | (4 << 2) | 0,
            (2 << 6) | ((length >> 11) & 0x03),
            (length >> 3) & 0xFF,
            ((length & 0x07) << 5) | 0x1F,
            0xFC,
        ]
    )
    return (header + b"\x00" * (length - 7)) * frames


def ogg() -> bytes:
    """Ogg Opus: the identification header, the comment header and one audio page."""
    from mutagen.ogg import OggPage

    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    pages = []
    for sequence, (packet, position) in enumerate(((head, 0), (tags, 0), (b"\xf8\xff\xfe", 960))):
        page = OggPage()
        page.serial = 0x1D2C
        page.sequence = sequence
        page.position = position
        page.first = sequence == 0
        page.last = sequence == 2
        page.packets = [packet]
        pages.append(page.write())
    return b"".join(pages)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _iso(major: bytes, compatible: tuple[bytes, ...], media: bytes) -> bytes:
    ftyp = _box(b"ftyp", major + struct.pack(">I", 0) + b"".join(compatible))
    mvhd = _box(b"mvhd", b"\x00" * 4 + struct.pack(">IIII", 0, 0, 1000, 0) + b"\x00" * 80)
    hdlr = _box(b"hdlr", b"\x00" * 8 + media + b"\x00" * 12 + b"\x00")
    trak = _box(b"trak", _box(b"mdia", hdlr))
    moov = _box(b"moov", mvhd + trak)
    mdat = _box(b"mdat", b"\x00" * 256)
    return ftyp + moov + mdat


def m4a() -> bytes:
    return _iso(b"M4A ", (b"M4A ", b"isom", b"mp42"), b"soun")


def mp4() -> bytes:
    return _iso(b"isom", (b"isom", b"iso2", b"avc1", b"mp41"), b"vide")


SAMPLES = {
    EvidenceType.JPEG: jpeg,
    EvidenceType.PNG: png,
    EvidenceType.HEIC: heic,
    EvidenceType.WEBP: webp,
    EvidenceType.PDF: pdf,
    EvidenceType.MP3: mp3,
    EvidenceType.M4A: m4a,
    EvidenceType.AAC: aac,
    EvidenceType.OGG: ogg,
    EvidenceType.WAV: wav,
    EvidenceType.MP4: mp4,
}


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "hidden")
    return out.getvalue()


# Where the photo was taken, as a phone writes it: 55°45'20.88"N 37°37'3.12"E (Moscow).
GPS_LOCATION = (55.7558, 37.6175)


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A phone photo: GPS position, make, model, body serial number and capture time."""
    from PIL import ExifTags, Image

    image = Image.effect_noise(size, 40).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    exif[ExifTags.Base.Model] = "SM-A515F"
    exif[ExifTags.Base.Orientation] = 1
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.BodySerialNumber] = "R58N12ABCDE"
    details[ExifTags.Base.DateTimeOriginal] = "2024:04:12 14:30:12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (55.0, 45.0, 20.88),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (37.0, 37.0, 3.0),
        }
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_bomb(side: int = 30_000) -> bytes:
    """A small PNG that claims `side` × `side` pixels: a few KB that decode to gigabytes."""
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def pdf_with_metadata() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Author": "Rustam Nazarov", "/Creator": "Scanner SN-4471"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mp3_with_tags() -> bytes:
    return mp3(frames=30)


def mp4_with_location() -> bytes:
    """MP4 whose udta holds a ©xyz location and whose mvhd holds a creation time."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0) + b"isomiso2avc1mp41")
    created = 3_795_000_000  # seconds since 1904: in 2024
    mvhd = _box(
        b"mvhd", b"\x00" * 4 + struct.pack(">IIII", created, created, 1000, 5000) + b"\x00" * 80
    )
    location = b"+55.7558+037.6175/"
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(location), 0x15C7) + location)
    udta = _box(b"udta", xyz)
    hdlr = _box(b"hdlr", b"\x00" * 8 + b"vide" + b"\x00" * 12 + b"\x00")
    trak = _box(b"trak", _box(b"mdia", hdlr))
    moov = _box(b"moov", mvhd + trak + udta)
    mdat = _box(b"mdat", b"\x00" * 256)
    return ftyp + moov + mdat
