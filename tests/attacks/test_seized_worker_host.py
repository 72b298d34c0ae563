"""Attack: the statistics worker's host is seized, with its key files, the database and the file
store it can reach.

Promise (design §10): the worker host reveals statistical sections as they are anonymised, never
narratives, contacts or files. The attacker holds exactly the files a `PROCESS_ROLE=worker`
process loads (statistics, signing, withdrawal and audit keys, the public keys), every row of
every table and every stored object. They try each private key on every evidence envelope
(content key, metadata, removed metadata, reporter summary), each symmetric key as an AES key
on every stored record, and the upload state of an upload in progress. Nothing opens.
"""

from __future__ import annotations

import itertools
import shutil

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident_service import keystore
from incident_service.crypto import CryptoError, RecipientPrivateKey, bindings, recipients_of
from incident_service.crypto.envelopes import open_envelope
from incident_service.crypto.streams import MAGIC, NONCE_LENGTH, RECORD_SIZE
from incident_service.evidence.cleaning import make_clean_copies
from incident_service.evidence.store import current_store
from incident_service.keystore import current_keyring, load_keyring
from incident_service.models import EvidenceFile, EvidenceUpload, db
from tests import evidence_samples as samples
from tests.evidence_helpers import receive
from tests.test_evidence_uploads import _create, _file_report, _patch


def _seized_keys(tmp_path, keys_dir):
    """Only the files the statistics worker is given (docs/operations.md)."""
    seized = tmp_path / "seized-keys"
    seized.mkdir()
    for name in keystore.WORKER_FILES:
        shutil.copy2(keys_dir / name, seized / name)
    return load_keyring(seized, role="worker")


def _envelopes(row: EvidenceFile) -> list[tuple[bytes, bytes]]:
    found = [
        (row.content_key_envelope, bindings.evidence_content_key(row.report_id, row.id)),
        (row.sealed_metadata, bindings.evidence_metadata(row.report_id, row.id)),
    ]
    if row.removed_metadata is not None:
        found.append(
            (row.removed_metadata, bindings.evidence_removed_metadata(row.report_id, row.id))
        )
    if row.reporter_summary is not None:
        found.append(
            (row.reporter_summary, bindings.evidence_reporter_summary(row.report_id, row.id))
        )
    return found


def test_can_a_seized_statistics_worker_host_open_any_evidence_file(app, tmp_path):
    client = app.test_client()
    receipt = _file_report(client)
    unfinished = samples.wav(frames=60_000)
    location = _create(client, receipt, len(unfinished) + 10).headers["Location"]
    assert _patch(client, location, 0, unfinished).status_code == 204
    with app.app_context():
        photo, voice = samples.jpeg_with_gps(), samples.ogg()
        for data in (photo, voice, samples.pdf_with_metadata()):
            receive(data)
        make_clean_copies()
        ring = _seized_keys(tmp_path, current_keyring().keys_dir)
        assert ring.evidence_private is None and ring.statistics_private is not None
        private_keys: list[RecipientPrivateKey] = [ring.require_statistics_private()]
        symmetric = [
            key.secret
            for key in (ring.withdrawal_key, ring.audit_key)
            if key is not None and len(key.secret) in (16, 24, 32)
        ]
        symmetric.append(ring.require_signing_key().private_bytes)

        rows = db.session.scalars(db.select(EvidenceFile)).all()
        assert len(rows) == 3 and all(row.working_object for row in rows)
        statistics_id = ring.require_statistics_public().key_id
        for row in rows:
            for envelope, context in _envelopes(row):
                assert statistics_id not in recipients_of(envelope)
                for key in private_keys:
                    with pytest.raises(CryptoError):
                        open_envelope(envelope, context=context, private_key=key)

        root = current_store().root  # type: ignore[attr-defined]
        objects = [path.read_bytes() for path in root.iterdir() if not path.name.startswith(".")]
        assert len(objects) >= 7, "originals, working copies and the upload's segment"
        for content, secret in itertools.product(objects, symmetric):
            assert content.startswith(MAGIC)
            record = content[len(MAGIC) : len(MAGIC) + RECORD_SIZE]
            with pytest.raises(InvalidTag):
                AESGCM(secret).decrypt(record[:NONCE_LENGTH], record[NONCE_LENGTH:], None)
            for needle in (photo[200:264], voice[40:100], b"R58N12ABCDE", b"Rustam"):
                assert needle not in content

        upload = db.session.scalars(db.select(EvidenceUpload)).one()
        for needle in (unfinished[1000:1064], str(len(unfinished) + 10).encode()):
            assert needle not in upload.sealed_state
