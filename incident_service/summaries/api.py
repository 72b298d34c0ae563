"""JSON API for officials' clients: published releases and their signed files, by bearer token.

Only published releases exist here; a draft, an unknown id or an unknown file are the same
404. A missing, unknown, expired or revoked token is a 401 problem document (RFC 9457) with a
`WWW-Authenticate` challenge. Every file download is written to the audit trail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from incident_service.constants import ReleaseStatus
from incident_service.crypto.signing import verify_key_pem
from incident_service.keystore import KeyRing
from incident_service.models import Release, db
from incident_service.services import api_tokens, releases
from incident_service.summaries.manifest import MANIFEST_NAME, SIGNATURE_NAME, signature_file

blueprint = Blueprint("summaries_api", __name__, url_prefix="/api/v1/summaries")
PUBLIC_KEY_PATH = "/summaries/signing-key.pub"


def problem(status: int, title: str, detail: str, **headers: str) -> Response:
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


@blueprint.before_request
def require_token() -> ResponseReturnValue | None:
    if request.endpoint == "summaries_api.signing_key":
        return None  # the public key is public
    try:
        g.api_user = api_tokens.authenticate(request.headers.get("Authorization"))
    except api_tokens.TokenError as exc:
        challenge = 'Bearer realm="summaries"'
        if not isinstance(exc, api_tokens.TokenMissing):
            challenge += ', error="invalid_token"'
        return problem(401, "Unauthorized", str(exc), WWW_Authenticate=challenge)
    return None


def signing_key_document() -> dict[str, Any]:
    ring: KeyRing = current_app.extensions["incident_keys"]
    key = ring.require_verify_key()
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id.hex(),
        "fingerprint": key.fingerprint,
        "public_key_pem": verify_key_pem(key),
        "url": PUBLIC_KEY_PATH,
    }


def _release_document(release: Release) -> dict[str, Any]:
    content = releases.content_of(release)
    return {
        "id": release.id,
        "period": release.period,
        "method": release.method,
        "parameters": content["parameters"],
        "parameters_digest": release.parameters_digest,
        "generated_on": content["generated_on"],
        "published_at": release.published_at.isoformat() if release.published_at else None,
        "status": content.get("status"),
        "files": [
            {
                "name": file.name,
                "media_type": file.media_type,
                "size": len(file.content),
                "sha256": file.sha256,
                "url": url_for("summaries_api.file", release_id=release.id, name=file.name),
            }
            for file in sorted(release.files, key=lambda f: f.name)
        ],
        "manifest_url": url_for("summaries_api.file", release_id=release.id, name=MANIFEST_NAME),
        "signature_url": url_for("summaries_api.file", release_id=release.id, name=SIGNATURE_NAME),
    }


def _published(release_id: int) -> Release | None:
    release = db.session.get(Release, release_id)
    if release is None or release.status != ReleaseStatus.PUBLISHED.value:
        return None
    return release


def _not_found() -> Response:
    return problem(404, "Not Found", "no such published release or file")


@blueprint.get("")
def index() -> ResponseReturnValue:
    return jsonify(
        {
            "releases": [
                _release_document(r) for r in releases.list_releases(include_drafts=False)
            ],
            "signing_key": signing_key_document(),
        }
    )


@blueprint.get("/signing-key")
def signing_key() -> ResponseReturnValue:
    return jsonify(signing_key_document())


@blueprint.get("/<int:release_id>")
def show(release_id: int) -> ResponseReturnValue:
    release = _published(release_id)
    if release is None:
        return _not_found()
    return jsonify(_release_document(release))


@blueprint.get("/<int:release_id>/files/<name>")
def file(release_id: int, name: str) -> ResponseReturnValue:
    release = _published(release_id)
    if release is None:
        return _not_found()
    if name == MANIFEST_NAME:
        body, media_type = release.manifest or b"", "application/json"
    elif name == SIGNATURE_NAME:
        body, media_type = signature_file(release.signature or b""), "text/plain"
    else:
        stored = releases.find_file(release, name)
        if stored is None:
            return _not_found()
        body, media_type = stored.content, stored.media_type
    releases.record_download(release, name, actor_id=g.api_user.id)
    db.session.commit()
    response = Response(body, mimetype=media_type.split(";")[0])
    response.headers["Content-Type"] = media_type
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
