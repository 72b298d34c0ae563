"""Files posted with a form wait sealed until they are read: nothing unsealed touches disk.

Werkzeug spools each file of a multipart body to a temporary file once the body passes 500 KB.
A photo of an expulsion order must never lie on the web host's disk in the clear, not even for
the seconds a request takes (a crash, a swap file or a seized disk would keep it). Here each
file is sealed as the parser writes it (`crypto.streams`, the chunked AEAD of evidence) under a
random key held only by this object, into a temporary file that spills to disk past a
megabyte; reading opens it again. When the request ends, the key goes with the object.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator

from incident_service.crypto import bindings
from incident_service.crypto.streams import ContentKey, SealedFileReader, StreamSealer

# Sealed bytes kept in memory before the spool moves to a temporary file.
IN_MEMORY = 1024 * 1024
READ_BLOCK = 256 * 1024


class SpoolClosedForWriting(Exception):
    """Bytes were written after the spool was read: a parser bug, never a client's doing."""


class SealedSpool(io.RawIOBase):
    """Write the file (as the form parser does), `seek(0)`, then read it back as it came."""

    def __init__(self) -> None:
        super().__init__()
        self._key = ContentKey.generate()
        self._context = bindings.form_upload_spool()
        self._sealer: StreamSealer | None = StreamSealer(
            self._key, context=self._context, hash_content=False
        )
        self._sealed = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self._reader: SealedFileReader | None = None
        self._length = 0

    def writable(self) -> bool:
        return self._sealer is not None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._sealer is None:
            raise SpoolClosedForWriting("the spool has been read")
        for block in self._sealer.update(data):
            self._sealed.write(block)
        size = len(memoryview(data).cast("B"))
        self._length += size
        return size

    @property
    def length(self) -> int:
        """How many bytes were written (the file's size)."""
        return self._length

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only back to the start is supported: the parser's `seek(0)`, or a second reading."""
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("a sealed spool is read from the start only")
        if self._sealer is not None:
            for block in self._sealer.finish():
                self._sealed.write(block)
            self._sealer = None
        self._sealed.seek(0)
        self._reader = SealedFileReader(self._blocks(), key=self._key, context=self._context)
        return 0

    def tell(self) -> int:
        if self._sealer is not None:
            return self._length
        raise io.UnsupportedOperation("a sealed spool does not tell its place while read")

    def _blocks(self) -> Iterator[bytes]:
        while block := self._sealed.read(READ_BLOCK):
            yield block

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._reader is None:
            self.seek(0)
        assert self._reader is not None
        return self._reader.readinto(buffer)

    def close(self) -> None:
        self._sealed.close()
        super().close()
