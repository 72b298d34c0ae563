"""`/api/v1/summaries`: published releases and their signed files for officials' API clients.

Routes live on the shared `/api/v1` blueprint (imported by `incident_service.api`),
so errors are the API's RFC 9457 problem details. Every route but the public key needs a bearer
token issued to an official; a missing, unknown, expired or revoked token is a 401 with a
`WWW-Authenticate` challenge. Only published releases exist here: a draft, an unknown id and an
unknown file are the same 404. Every download is written to the audit trail.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from incident_service.api.blueprint import blueprint
from incident_service.api.openapi import registry
from incident_service.api.problems import ApiProblem
from incident_service.auth import api_tokens
from incident_service.constants import ReleaseStatus
from incident_service.crypto.signing import verify_key_pem
from incident_service.keystore import current_keyring
from incident_service.models import Release, db
from incident_service.releases import lifecycle as releases
from incident_service.releases.documents.manifest import MANIFEST_NAME, SIGNATURE_NAME
from incident_service.summaries.downloads import attachment, release_file

PUBLIC_KEY_PATH = "/summaries/signing-key.pub"
F = TypeVar("F", bound=Callable[..., Any])


def official_token(view: F) -> F:
    """Let the request through only with a valid official's bearer token (in `g.api_user`)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            g.api_user = api_tokens.authenticate(request.headers.get("Authorization"))
        except api_tokens.TokenError as exc:
            challenge = 'Bearer realm="summaries"'
            if not isinstance(exc, api_tokens.TokenMissing):
                challenge += ', error="invalid_token"'
            raise ApiProblem(
                401,
                title=_("A valid API token is needed."),
                detail=str(exc),
                headers={"WWW-Authenticate": challenge},
            ) from exc
        return view(*args, **kwargs)

    return cast(F, wrapped)


def signing_key_document() -> dict[str, Any]:
    ring = current_keyring()
    key = ring.require_verify_key()
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id.hex(),
        "fingerprint": key.fingerprint,
        "public_key_pem": verify_key_pem(key),
        "url": PUBLIC_KEY_PATH,
    }


def _file_url(release: Release, name: str) -> str:
    return url_for("api.summaries_file", release_id=release.id, name=name)


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
                "url": _file_url(release, file.name),
            }
            for file in sorted(release.files, key=lambda f: f.name)
        ],
        "manifest_url": _file_url(release, MANIFEST_NAME),
        "signature_url": _file_url(release, SIGNATURE_NAME),
    }


def _published(release_id: int) -> Release:
    release = db.session.get(Release, release_id)
    if release is None or release.status != ReleaseStatus.PUBLISHED.value:
        raise ApiProblem(404)
    return release


@blueprint.get("/summaries")
@official_token
def summaries_index() -> ResponseReturnValue:
    return jsonify(
        {
            "releases": [
                _release_document(r) for r in releases.list_releases(include_drafts=False)
            ],
            "signing_key": signing_key_document(),
        }
    )


@blueprint.get("/summaries/signing-key")
def summaries_signing_key() -> ResponseReturnValue:
    return jsonify(signing_key_document())


@blueprint.get("/summaries/<int:release_id>")
@official_token
def summaries_show(release_id: int) -> ResponseReturnValue:
    return jsonify(_release_document(_published(release_id)))


@blueprint.get("/summaries/<int:release_id>/files/<name>")
@official_token
def summaries_file(release_id: int, name: str) -> ResponseReturnValue:
    release = _published(release_id)
    found = release_file(release, name)
    if found is None:
        raise ApiProblem(404)
    releases.record_download(release, name, actor_id=g.api_user.id)
    db.session.commit()
    return attachment(*found, name)


# --------------------------------------------------------------------------------------------
# OpenAPI description

registry.add_security_scheme(
    "officialToken",
    {
        "type": "http",
        "scheme": "bearer",
        "description": "A token issued to an official (`incident-service summaries token issue`).",
    },
)
registry.add_tag("summaries", "Published, signed releases of disclosure-controlled figures")
registry.add_schema(
    "SigningKey",
    {
        "type": "object",
        "required": ["algorithm", "key_id", "fingerprint", "public_key_pem", "url"],
        "properties": {
            "algorithm": {"const": "Ed25519"},
            "key_id": {"type": "string"},
            "fingerprint": {"type": "string"},
            "public_key_pem": {"type": "string"},
            "url": {"type": "string"},
        },
    },
)
registry.add_schema(
    "ReleaseFile",
    {
        "type": "object",
        "required": ["name", "media_type", "size", "sha256", "url"],
        "properties": {
            "name": {"type": "string"},
            "media_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "url": {"type": "string"},
        },
    },
)
registry.add_schema(
    "Release",
    {
        "type": "object",
        "required": ["id", "period", "method", "parameters_digest", "files", "manifest_url"],
        "properties": {
            "id": {"type": "integer"},
            "period": {"type": "string", "examples": ["2024-11", "2024-Q4", "2024"]},
            "method": {"enum": ["suppression", "dp"]},
            "parameters": {"type": "object"},
            "parameters_digest": {"type": "string"},
            "generated_on": {"type": "string", "format": "date"},
            "published_at": {"type": ["string", "null"]},
            "status": {"enum": ["ok", "no_reports", "too_few"]},
            "files": {"type": "array", "items": registry.ref("ReleaseFile")},
            "manifest_url": {"type": "string"},
            "signature_url": {"type": "string"},
        },
    },
)
registry.add_schema(
    "ReleaseList",
    {
        "type": "object",
        "required": ["releases", "signing_key"],
        "properties": {
            "releases": {"type": "array", "items": registry.ref("Release")},
            "signing_key": registry.ref("SigningKey"),
        },
    },
)
_TOKEN_REFUSED = registry.problem_response(
    "No token, or an unknown, expired or revoked one (with a WWW-Authenticate challenge)"
)
_OFFICIAL: list[dict[str, list[str]]] = [{"officialToken": []}]
registry.add_operation(
    "/summaries",
    "get",
    {
        "operationId": "listSummaries",
        "summary": "Published releases, newest period first, and the signing key",
        "tags": ["summaries"],
        "security": _OFFICIAL,
        "responses": {
            "200": registry.json_response("ReleaseList", "Published releases"),
            "401": _TOKEN_REFUSED,
        },
    },
)
registry.add_operation(
    "/summaries/signing-key",
    "get",
    {
        "operationId": "getSigningKey",
        "summary": "The Ed25519 key that signs release manifests (public, no token needed)",
        "tags": ["summaries"],
        "responses": {"200": registry.json_response("SigningKey", "The public key")},
    },
)
registry.add_operation(
    "/summaries/{release_id}",
    "get",
    {
        "operationId": "getSummary",
        "summary": "One published release",
        "tags": ["summaries"],
        "security": _OFFICIAL,
        "parameters": [
            {"name": "release_id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],
        "responses": {
            "200": registry.json_response("Release", "The release"),
            "401": _TOKEN_REFUSED,
            "404": registry.problem_response("No published release with this id"),
        },
    },
)
registry.add_operation(
    "/summaries/{release_id}/files/{name}",
    "get",
    {
        "operationId": "getSummaryFile",
        "summary": "A file of a published release, its manifest.json or manifest.sig",
        "tags": ["summaries"],
        "security": _OFFICIAL,
        "parameters": [
            {"name": "release_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "description": "The file, as an attachment",
                "content": {"application/octet-stream": {}},
            },
            "401": _TOKEN_REFUSED,
            "404": registry.problem_response("No such published release or file"),
        },
    },
)
