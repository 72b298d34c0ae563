"""The release signing key at stable, public addresses: what officials check signatures with.

No login: the key is public by design, and anyone holding a downloaded release must be able to
fetch it (and compare its fingerprint with the one printed in the deployment's README).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from incident_service.summaries.api import signing_key_document

blueprint = Blueprint("summaries_public", __name__)


@blueprint.get("/summaries/signing-key.pub")
def signing_key_pem() -> ResponseReturnValue:
    document = signing_key_document()
    return Response(document["public_key_pem"], mimetype="application/x-pem-file")


@blueprint.get("/summaries/signing-key.json")
def signing_key_json() -> ResponseReturnValue:
    return jsonify(signing_key_document())
