"""gzip for the few responses that may be compressed, and for no other.

Compression makes a response's length depend on how much of its text repeats. When a page
carries a secret (a receipt, a CSRF token, a report's thread) next to text an attacker can
choose, the attacker learns the secret a character at a time from the lengths of the pages it
makes the browser fetch (BREACH). So nothing is compressed unless its view says so with
`allow_compression()`, and only views whose responses carry no secret, or nothing that any
request can put into them, may say so. The list, and why each entry is safe, is in
docs/decisions.md ("Page weight"); tests/test_compression.py holds every route to it.

Style sheets are the one exception that needs no call: `static` serves files from the release,
the same bytes for everyone. The proxy in front must not compress on its own (`gzip off;`,
docs/operations.md): it cannot tell a receipt page from the form.
"""

from __future__ import annotations

import gzip

from flask import Response, g, request

COMPRESSIBLE_TYPES = frozenset({"text/html", "text/css"})
# Below this, the gzip header and the Vary header cost about what compression saves.
MIN_LENGTH = 1024
# Level 6 is within 1 % of 9 on these pages at about half the CPU.
LEVEL = 6


def allow_compression() -> None:
    """Let the response being built be compressed. Call only for a response that holds no
    secret, or into which no request can put text of its choosing (see the module's doc)."""
    g.compression_allowed = True


def is_allowed() -> bool:
    return bool(g.get("compression_allowed")) or request.endpoint == "static"


def compress_response(response: Response) -> Response:
    """gzip the response if its view allowed it and the browser takes gzip. `Vary` is set on
    every allowed response, compressed or not, so that no cache hands one client's form over
    to another that cannot read it."""
    if not is_allowed() or response.mimetype not in COMPRESSIBLE_TYPES:
        return response
    response.vary.add("Accept-Encoding")
    if (
        response.status_code != 200
        or "Content-Encoding" in response.headers
        or request.accept_encodings["gzip"] <= 0
    ):
        return response
    response.direct_passthrough = False  # a static file: read it into memory (it is small)
    body = response.get_data()
    if len(body) < MIN_LENGTH:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    # A byte range would be a range of the compressed body; none is offered.
    response.headers.pop("Accept-Ranges", None)
    return response
