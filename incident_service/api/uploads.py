"""Evidence uploads for partner apps: the tus 1.0 resumable-upload protocol under /api/v1/uploads.

Core protocol plus the creation, termination and expiration extensions. The report a file
belongs to is proved once, at creation, by the reporter's receipt in `Upload-Metadata` (never in
a URL, and never repeated); from then on the upload's URL is the capability: it carries a secret
under which the upload's state is sealed, and the service keeps no copy of it. The service
logic is in `evidence.uploads`; an OpenAPI description is in `api.uploads_spec`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, current_app, g, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import refresh

from incident_service.api.blueprint import blueprint
from incident_service.api.problems import (
    TYPE_EVIDENCE_LIMIT,
    TYPE_FILE_REFUSED,
    TYPE_INVALID_REQUEST,
    TYPE_RECEIPT_NOT_RECOGNISED,
    ApiProblem,
)
from incident_service.evidence import uploads
from incident_service.evidence.limits import EvidenceLimitReached, LimitKind
from incident_service.evidence.refusals import refusal_message
from incident_service.evidence.sniff import ContentRefused, RefusalReason
from incident_service.i18n import LANGUAGES, use_body_language
from incident_service.intake.evidence import limit_message
from incident_service.intake.limits import mark_receipt_rejected, receipt_lookup_limit
from incident_service.intake.reporter_access import ReceiptNotRecognised, open_with_receipt
from incident_service.models import db
from incident_service.pipeline import dispatch

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
READ_BLOCK = 256 * 1024
MAX_METADATA = 4096


def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    return response


def _no_content(**headers: str) -> Response:
    response = Response(status=204)
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return _tus_headers(response)


def _problem(
    status: int,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    detail: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiProblem:
    """A problem that also says which tus version answered, as every tus response must."""
    return ApiProblem(
        status,
        type_=type_,
        title=title,
        detail=detail,
        extensions=extensions,
        headers={**(headers or {}), "Tus-Resumable": TUS_VERSION},
    )


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiProblem(
            412,
            detail=_("Send the header Tus-Resumable: 1.0.0 (the tus version this server speaks)."),
            headers={"Tus-Version": TUS_VERSION},
        )


def _expires(at: dt.datetime) -> str:
    return email.utils.format_datetime(at.replace(tzinfo=dt.UTC), usegmt=True)


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64(value)` pairs (the value may be absent)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA:
        raise _problem(400, type_=TYPE_INVALID_REQUEST, detail=_("Upload-Metadata is too long."))
    found: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2 or parts[0] in found:
            raise _malformed_metadata()
        try:
            value = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            found[parts[0]] = value.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _malformed_metadata() from None
    return found


def _malformed_metadata() -> ApiProblem:
    return _problem(400, type_=TYPE_INVALID_REQUEST, detail=_("Upload-Metadata is malformed."))


def _declared_length() -> int:
    raw = request.headers.get("Upload-Length")
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise _problem(
            400,
            type_=TYPE_INVALID_REQUEST,
            detail=_("Send Upload-Length: the size of the file in bytes."),
        )
    return int(raw)


def _limit_problem(exc: EvidenceLimitReached) -> ApiProblem:
    if exc.kind is LimitKind.FILE_SIZE:
        return _problem(
            413,
            type_=TYPE_EVIDENCE_LIMIT,
            title=_("The file is too large."),
            detail=limit_message(exc),
            extensions={"limit": exc.kind.value},
        )
    return _problem(
        422,
        type_=TYPE_EVIDENCE_LIMIT,
        title=_("No more files can be added to this report."),
        detail=limit_message(exc),
        extensions={"limit": exc.kind.value},
    )


def _refused_problem(exc: ContentRefused) -> ApiProblem:
    return _problem(
        422,
        type_=TYPE_FILE_REFUSED,
        title=_("The file was not accepted. Your report is kept."),
        detail=refusal_message(exc.reason),
        extensions={"reason": exc.reason.value},
    )


@blueprint.route("/uploads", methods=["OPTIONS"])
@blueprint.route("/uploads/<token>", methods=["OPTIONS"])
def upload_options(token: str | None = None) -> ResponseReturnValue:
    """What this tus server offers (no Tus-Resumable needed, per the protocol)."""
    return _no_content(
        Tus_Version=TUS_VERSION,
        Tus_Extension=TUS_EXTENSIONS,
        Tus_Max_Size=str(int(current_app.config["EVIDENCE_MAX_BYTES"])),
    )


@blueprint.post("/uploads")
@receipt_lookup_limit
def create_upload() -> ResponseReturnValue:
    _require_tus()
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    language = metadata.get("language")
    use_body_language(language)
    length = _declared_length()
    if request.content_length:
        raise _problem(
            400, type_=TYPE_INVALID_REQUEST, detail=_("Send the file's bytes with PATCH.")
        )
    try:
        access = open_with_receipt(metadata.get("receipt", ""))
    except ReceiptNotRecognised:
        mark_receipt_rejected()
        raise _problem(
            404,
            type_=TYPE_RECEIPT_NOT_RECOGNISED,
            title=_("No report was found for this number."),
            detail=_("A number has 20 digits. Check them and try again."),
        ) from None
    if length == 0:
        raise _refused_problem(ContentRefused(RefusalReason.EMPTY))
    try:
        opened = uploads.create_upload(
            report=access.report,
            length=length,
            name=metadata.get("filename"),
            language=language if language in LANGUAGES else None,
        )
    except EvidenceLimitReached as exc:
        db.session.rollback()
        raise _limit_problem(exc) from None
    db.session.commit()
    response = Response(status=201)
    response.headers["Location"] = url_for("api.upload_head", token=opened.token)
    response.headers["Upload-Expires"] = _expires(opened.state.expires_at)
    return _tus_headers(response)


def _open(token: str) -> uploads.OpenUpload:
    try:
        opened = uploads.open_upload(token)
    except uploads.UploadNotFound:
        raise _problem(404) from None
    if opened.state.language and not request.args.get("lang"):
        g.body_language = opened.state.language
        refresh()
    return opened


@blueprint.route("/uploads/<token>", methods=["HEAD"])
def upload_head(token: str) -> ResponseReturnValue:
    _require_tus()
    opened = _open(token)
    response = _no_content(
        Upload_Offset=str(opened.state.offset),
        Upload_Length=str(opened.state.length),
        Upload_Expires=_expires(opened.state.expires_at),
    )
    response.status_code = 200
    return response


def _body() -> Iterator[bytes]:
    stream = request.stream
    while block := stream.read(READ_BLOCK):
        yield block


@blueprint.patch("/uploads/<token>")
def upload_patch(token: str) -> ResponseReturnValue:
    _require_tus()
    if request.mimetype != OFFSET_MEDIA_TYPE:
        raise _problem(415, detail=_("Send the file's bytes as application/offset+octet-stream."))
    opened = _open(token)
    offset_header = request.headers.get("Upload-Offset", "")
    if not offset_header.isascii() or not offset_header.isdigit():
        raise _problem(400, type_=TYPE_INVALID_REQUEST, detail=_("Send Upload-Offset."))
    remaining = opened.state.length - opened.state.offset
    if request.content_length is not None and request.content_length > remaining:
        raise _problem(413, detail=_("More bytes than the upload's Upload-Length."))
    try:
        progress = uploads.append(opened, _body(), offset=int(offset_header))
    except uploads.OffsetMismatch as exc:
        raise _problem(409, headers={"Upload-Offset": str(exc.offset)}) from None
    except uploads.UploadConflict:
        raise _problem(409) from None
    except uploads.UploadOverrun:
        raise _problem(413, detail=_("More bytes than the upload's Upload-Length.")) from None
    except uploads.UploadNotFound:
        raise _problem(404) from None
    except ContentRefused as exc:
        raise _refused_problem(exc) from None
    except EvidenceLimitReached as exc:
        raise _limit_problem(exc) from None
    headers = {"Upload_Offset": str(progress.offset)}
    if progress.received is None:
        headers["Upload_Expires"] = _expires(opened.state.expires_at)
        return _no_content(**headers)
    # The clean copy is made by the evidence worker; the message names no file or report.
    dispatch.enqueue(dispatch.TASK_EVIDENCE_CLEAN)
    headers["Evidence_Type"] = progress.received.kind.media_type
    headers["Evidence_Fingerprint"] = progress.received.fingerprint
    return _no_content(**headers)


@blueprint.delete("/uploads/<token>")
def upload_delete(token: str) -> ResponseReturnValue:
    _require_tus()
    uploads.terminate(_open(token))
    return _no_content()
