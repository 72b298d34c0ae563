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
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Set on bodies without a length, whose size only the guard can judge.
UNMEASURED = "incident_service.unmeasured_body"
# The limit that applies to this request, where a route takes more than the default.
BODY_LIMIT = "incident_service.body_limit"


@dataclass(frozen=True)
class LargerBodies:
    """Requests (a method and a path prefix) whose bodies may be larger than the default:
    the pieces of a resumable evidence upload, for instance."""

    method: str
    path_prefix: str
    max_length: int


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
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        for rule in self.larger:
            if method == rule.method and path.startswith(rule.path_prefix):
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


class GuardedRequest(Request):
    """Flask's request, leaving a body without a length to the guard: Werkzeug would cut such
    a body silently at the limit (a truncated JSON document: 400) instead of refusing it."""

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
