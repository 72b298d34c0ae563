"""What a reader downloads from a release: its stored files, the manifest and its signature.

The staff pages (`views`) and the officials' API (`api`) serve the same bytes under the same
names; each edge says "not found" in its own way and records who downloaded.
"""

from __future__ import annotations

from flask import Response

from incident_service.models import Release
from incident_service.releases import lifecycle as releases
from incident_service.releases.documents.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    signature_file,
)


def release_file(release: Release, name: str) -> tuple[bytes, str] | None:
    """The content and media type of the file called `name`: a stored file, the manifest or
    the signature file; None if the release has no file of that name."""
    if name == MANIFEST_NAME:
        return release.manifest or b"", "application/json"
    if name == SIGNATURE_NAME:
        return signature_file(release.signature or b""), "text/plain"
    stored = releases.find_file(release, name)
    if stored is None:
        return None
    return stored.content, stored.media_type


def attachment(body: bytes, media_type: str, name: str) -> Response:
    """A download saved as `name`, its Content-Type exactly as stored (charset included)."""
    response = Response(body, mimetype=media_type.split(";")[0])
    response.headers["Content-Type"] = media_type
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
