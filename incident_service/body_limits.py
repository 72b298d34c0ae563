"""WSGI middleware: every request body is bounded in size and time, however it is framed.

Werkzeug refuses a `Content-Length` over `MAX_CONTENT_LENGTH` (413), but a chunked body
(`Transfer-Encoding: chunked`) carries no length, and 300 KB went through where 257 KB with a
length was refused. Malformed chunk framing surfaced as gunicorn's own exceptions, answered
500 with a traceback in the log. This guard counts what is read and turns those faults into
the HTTP errors they are: 413 for too much, 400 for broken framing, 408 for a client that
stops sending (the socket's read timeout, `REQUEST_READ_TIMEOUT`).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from incident_service.sealed_spool import SealedSpool

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Set on bodies without a length, whose size only the guard can judge.
UNMEASURED = "incident_service.unmeasured_body"
# The limit that applies to this request, where a route takes more than the default.
BODY_LIMIT = "incident_service.body_limit"


@dataclass(frozen=True)
class LargerBodies:
    """Requests (a method and a path prefix) whose bodies may be larger than the default:
    the pieces of a resumable evidence upload, for instance. With `exact`, the path must be
    the prefix itself; with `media_type`, only bodies of that type (a report form's text sent
    URL-encoded stays under the default, its files come as multipart)."""

    method: str
    path_prefix: str
    max_length: int
    exact: bool = False
    media_type: str | None = None

    def applies_to(self, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "") != self.method:
            return False
        if not (path == self.path_prefix if self.exact else path.startswith(self.path_prefix)):
            return False
        if self.media_type is None:
            return True
        declared = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        return declared == self.media_type


def _framing_errors() -> tuple[type[BaseException], ...]:
    try:
        from gunicorn.http.errors import NoMoreData, ParseException
    except ImportError:  # another server: its own errors are its own business
        return ()
    return (ParseException, NoMoreData)


class _GuardedInput:
    """`wsgi.input` that stops at `limit` bytes and names what went wrong when reading."""

    def __init__(
        self,
        stream: Any,
        limit: int,
        framing: tuple[type[BaseException], ...],
        client: socket.socket | None,
    ) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0
        self._framing = framing
        self._client = client

    def _refuse(self, error: Exception) -> Exception:
        """Stop reading from this client for good: gunicorn (27) lingers on a closing socket
        for up to 2 s in the worker's main thread to drain unread input, so twenty stalled
        clients would freeze the worker for 40 s. With the read side shut, there is nothing to
        drain; the answer (400, 408, 413) still goes out."""
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown(socket.SHUT_RD)
        return error

    def _call(self, method: str, *args: Any) -> Any:
        try:
            data = getattr(self._stream, method)(*args)
        except TimeoutError as exc:
            raise self._refuse(RequestTimeout()) from exc
        except self._framing as exc:
            raise self._refuse(BadRequest("malformed request body")) from exc
        if isinstance(data, bytes):
            self._count(len(data))
        elif isinstance(data, list):
            self._count(sum(len(line) for line in data))
        return data

    def _count(self, amount: int) -> None:
        self._read += amount
        if self._read > self._limit:
            raise self._refuse(RequestEntityTooLarge())

    def read(self, size: int | None = -1) -> bytes:
        # Never ask the server for more than one byte past the limit in one go.
        if size is not None and size >= 0:
            return bytes(self._call("read", min(size, self._limit - self._read + 1)))
        parts = []
        while part := bytes(self._call("read", self._limit - self._read + 1)):
            parts.append(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        return bytes(self._call("readline", size if size is not None else -1))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self._call("readlines", hint))

    def __iter__(self) -> _GuardedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class RequestBodyGuard:
    """Wrap `app` so that every body read is bounded by `max_length` bytes and, under
    gunicorn, by `read_timeout` seconds of silence from the client."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_length: int,
        read_timeout: float,
        larger: Sequence[LargerBodies] = (),
    ) -> None:
        self.app = app
        self.max_length = max_length
        self.read_timeout = read_timeout
        self.larger = tuple(larger)
        self.framing = _framing_errors()

    def limit_for(self, environ: dict[str, Any]) -> int:
        for rule in self.larger:
            if rule.applies_to(environ):
                return rule.max_length
        return self.max_length

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        client = environ.get("gunicorn.socket")
        if not isinstance(client, socket.socket):
            client = None
        else:
            client.settimeout(self.read_timeout)
        limit = self.limit_for(environ)
        if limit != self.max_length:
            environ[BODY_LIMIT] = limit
        environ["wsgi.input"] = _GuardedInput(environ["wsgi.input"], limit, self.framing, client)
        if not environ.get("CONTENT_LENGTH"):
            environ[UNMEASURED] = True
        return self.app(environ, start_response)


class _TextBoundedMultiPartParser(MultiPartParser):
    """Werkzeug's multipart parser, with `max_form_memory_size` bounding the text fields
    *together* rather than each one: a form whose files may weigh 100 MB must not let 400
    text fields of 256 KB each sit in memory. Files go to the stream factory, as before.
    It drives Werkzeug's sans-IO `MultipartDecoder` directly (its public event API: Field,
    File, Data, Epilogue), so that one running total can be kept across fields; a Werkzeug
    upgrade that changes those events fails `tests/test_evidence_form.py`."""

    def parse(
        self, stream: Any, boundary: bytes, content_length: int | None
    ) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
        decoder = MultipartDecoder(
            boundary, max_form_memory_size=self.max_form_memory_size, max_parts=self.max_form_parts
        )
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, FileStorage]] = []
        text_size = 0
        part: Field | File | None = None
        pieces: list[bytes] = []
        container: Any = None
        while True:
            data = stream.read(self.buffer_size)
            decoder.receive_data(data or None)
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, Field):
                    part, pieces = event, []
                elif isinstance(event, File):
                    part = event
                    container = self.start_file_streaming(event, content_length)
                elif isinstance(event, Data) and isinstance(part, Field):
                    text_size += len(event.data)
                    if self.max_form_memory_size is not None and (
                        text_size > self.max_form_memory_size
                    ):
                        raise RequestEntityTooLarge()
                    pieces.append(event.data)
                    if not event.more_data:
                        charset = self.get_part_charset(part.headers)
                        fields.append((part.name, b"".join(pieces).decode(charset, "replace")))
                elif isinstance(event, Data) and isinstance(part, File):
                    container.write(event.data)
                    if not event.more_data:
                        container.seek(0)
                        storage = FileStorage(
                            container, part.filename, part.name, headers=part.headers
                        )
                        files.append((part.name, storage))
                event = decoder.next_event()
            if not data or isinstance(event, Epilogue):
                break
        return self.cls(fields), self.cls(files)


class _FormParser(FormDataParser):
    def _parse_multipart(
        self, stream: Any, mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> Any:
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = _TextBoundedMultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class GuardedRequest(Request):
    """Flask's request, leaving a body without a length to the guard: Werkzeug would cut such
    a body silently at the limit (a truncated JSON document: 400) instead of refusing it.
    Posted files wait sealed (`sealed_spool`), never in a plain temporary file, and the text
    fields of a multipart body are bounded together (`MAX_FORM_MEMORY_SIZE`)."""

    form_data_parser_class = _FormParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        return SealedSpool()

    @property
    def max_content_length(self) -> int | None:
        if self.environ.get(UNMEASURED):
            return None
        if BODY_LIMIT in self.environ:
            return int(self.environ[BODY_LIMIT])
        limit: int | None = Request.max_content_length.fget(self)  # type: ignore[attr-defined]
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
