"""The release signing key at stable, public addresses: what officials check signatures with;
and the dossier key, what a lawyer checks a referral dossier with.

No login: the keys are public by design, and anyone holding a downloaded release or a dossier
must be able to fetch them (and compare their fingerprints with those printed in the
deployment's README).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify
from flask.typing import ResponseReturnValue

from incident_service.crypto.signing import verify_key_pem
from incident_service.keystore import current_keyring
from incident_service.summaries.api import signing_key_document

blueprint = Blueprint("summaries_public", __name__)


@blueprint.get("/summaries/signing-key.pub")
def signing_key_pem() -> ResponseReturnValue:
    document = signing_key_document()
    return Response(document["public_key_pem"], mimetype="application/x-pem-file")


@blueprint.get("/summaries/signing-key.json")
def signing_key_json() -> ResponseReturnValue:
    return jsonify(signing_key_document())


@blueprint.get("/evidence/dossier-key.pem")
def dossier_key_pem() -> ResponseReturnValue:
    key = current_keyring().dossier_verify_key
    if key is None:
        abort(404)
    response = Response(verify_key_pem(key), mimetype="application/x-pem-file")
    response.headers["X-Key-Fingerprint"] = key.fingerprint
    return response
