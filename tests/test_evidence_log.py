"""The evidence log: daily shuffled batches, signed heads, proofs checked offline, TSA stamps."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from incident_service.evidence import log as evidence_log
from incident_service.keystore import current_keyring
from incident_service.models import EvidenceFile, EvidenceLogLeaf, db
from tests import evidence_samples as samples
from tests.evidence_helpers import receive

DAY_ONE = dt.date(2026, 3, 2)
DAY_TWO = dt.date(2026, 3, 3)
DAY_THREE = dt.date(2026, 3, 4)


def _index_of(file_id: str) -> int | None:
    row = db.session.get_one(EvidenceFile, file_id)
    return db.session.get_one(EvidenceLogLeaf, row.commitment).leaf_index


def test_are_commitments_appended_per_finished_day_in_shuffled_order(app_ctx):
    first_day = [receive(samples.png(), day=DAY_ONE).file_id for _ in range(12)]
    later = receive(samples.png(), day=DAY_TWO).file_id
    head = evidence_log.publish_tree_head(on=DAY_TWO)
    db.session.commit()
    assert head is not None and head.tree_size == 12
    indexes = [_index_of(file_id) for file_id in first_day]
    assert sorted(indexes) == list(range(12))  # type: ignore[type-var]
    assert indexes != list(range(12)), "an index must not follow the order files arrived in"
    assert _index_of(later) is None, "today's files wait for the day to end"
    assert evidence_log.publish_tree_head(on=DAY_TWO) == head, "nothing new: no new head"
    newer = evidence_log.publish_tree_head(on=DAY_THREE)
    assert newer is not None and newer.tree_size == 13 and _index_of(later) == 12


def test_does_an_inclusion_proof_verify_offline_and_fail_when_a_byte_changes(app_ctx):
    file_id = receive(samples.jpeg(), day=DAY_ONE).file_id
    for _ in range(4):
        receive(samples.png(), day=DAY_ONE)
    with pytest.raises(evidence_log.LeafNotYetLogged):
        evidence_log.inclusion_proof(file_id)
    evidence_log.publish_tree_head(on=DAY_TWO)
    db.session.commit()
    proof = evidence_log.inclusion_proof(file_id)
    key = current_keyring().require_verify_key()
    assert "leaf" in evidence_log.verify_document(proof, verify_key=key)
    for field in ("commitment", "audit_path"):
        tampered = json.loads(json.dumps(proof))
        if field == "commitment":
            tampered["commitment"] = ("0" if proof["commitment"][0] != "0" else "1") + proof[
                "commitment"
            ][1:]
        else:
            node = tampered["audit_path"][0]
            tampered["audit_path"][0] = ("0" if node[0] != "0" else "1") + node[1:]
        with pytest.raises(evidence_log.ProofDocumentInvalid):
            evidence_log.verify_document(tampered, verify_key=key)
    forged = json.loads(json.dumps(proof))
    forged["tree_head"]["tree_size"] += 1
    with pytest.raises(evidence_log.ProofDocumentInvalid):
        evidence_log.verify_document(forged, verify_key=key)


def test_does_the_command_line_prove_and_verify_from_files(app, tmp_path):
    with app.app_context():
        file_id = receive(samples.pdf(), day=DAY_ONE).file_id
        receive(samples.png(), day=DAY_ONE)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["evidence", "publish"]).exit_code == 0
    with app.app_context():
        receive(samples.png(), day=DAY_TWO)
        evidence_log.publish_tree_head(on=DAY_THREE)
        db.session.commit()
    proved = runner.invoke(args=["evidence", "prove", file_id])
    assert proved.exit_code == 0, proved.output
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proved.output)
    checked = runner.invoke(args=["evidence", "verify", str(proof_file)])
    assert checked.exit_code == 0 and checked.output.startswith("OK:"), checked.output
    consistency = runner.invoke(args=["evidence", "consistency", "2"])
    assert consistency.exit_code == 0, consistency.output
    consistency_file = tmp_path / "consistency.json"
    consistency_file.write_text(consistency.output)
    assert runner.invoke(args=["evidence", "verify", str(consistency_file)]).exit_code == 0
    document = json.loads(consistency.output)
    document["second"]["root_hash"] = "00" * 32
    consistency_file.write_text(json.dumps(document))
    failed = runner.invoke(args=["evidence", "verify", str(consistency_file)])
    assert failed.exit_code != 0 and "FAILED" in failed.output


def test_does_the_hourly_task_append_and_sign(app_ctx):
    from workers.evidence_tasks import tree_head
    from workers.schedule import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["evidence-tree-head"]["task"] == "incident.evidence.tree_head"
    receive(samples.png(), day=DAY_ONE)
    assert tree_head() == {"tree_size": 1}


# --- a small RFC 3161 timestamping authority, started by the tests --------------------------


class _Authority:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        self.serial = 0

    def respond(self, request_der: bytes) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        self.serial += 1
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": "1.3.6.1.4.1.99999.1",
                "message_imprint": request["message_imprint"],
                "serial_number": self.serial,
                "gen_time": dt.datetime.now(dt.UTC),
                "nonce": request["nonce"],
            }
        )
        content = info.dump()
        certificate = asn1_x509.Certificate.load(self.certificate.public_bytes(Encoding.DER))
        attributes = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
            ]
        )
        signature = self.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": certificate.issuer,
                            "serial_number": certificate.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "tst_info", "content": info},
                "certificates": [certificate],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()


@pytest.fixture
def authority(tmp_path) -> Iterator[tuple[str, object]]:
    tsa = _Authority()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = tsa.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    certificate = tmp_path / "tsa.pem"
    certificate.write_bytes(tsa.certificate.public_bytes(Encoding.PEM))
    try:
        yield f"http://127.0.0.1:{server.server_port}/tsr", certificate
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_is_each_tree_head_stamped_by_the_tsa_and_does_the_stamp_verify(app, authority):
    url, certificate = authority
    app.config.update(TSA_URL=url, TSA_CERT_FILE=str(certificate))
    with app.app_context():
        file_id = receive(samples.png(), day=DAY_ONE).file_id
        head = evidence_log.publish_tree_head(on=DAY_TWO)
        db.session.commit()
        assert head is not None and head.timestamp_token is not None
        proof = evidence_log.inclusion_proof(file_id)
        key = current_keyring().require_verify_key()
        pinned = certificate.read_bytes()
        from incident_service.crypto.timestamps import certificate_der_from_pem

        evidence_log.verify_document(
            proof, verify_key=key, tsa_certificate=certificate_der_from_pem(pinned)
        )
        other = _Authority().certificate.public_bytes(Encoding.DER)
        with pytest.raises(evidence_log.ProofDocumentInvalid, match="another TSA"):
            evidence_log.verify_document(proof, verify_key=key, tsa_certificate=other)
        moved = json.loads(json.dumps(proof))
        moved["tree_head"]["signed_on"] = DAY_THREE.isoformat()
        with pytest.raises(evidence_log.ProofDocumentInvalid):
            evidence_log.verify_document(moved, verify_key=key)


def test_does_a_tsa_outage_leave_the_head_signed_and_stamped_later(app, authority):
    url, certificate = authority
    app.config.update(TSA_URL="http://127.0.0.1:9/unreachable", TSA_CERT_FILE=str(certificate))
    with app.app_context():
        receive(samples.png(), day=DAY_ONE)
        head = evidence_log.publish_tree_head(on=DAY_TWO)
        db.session.commit()
        assert head is not None and head.timestamp_token is None
        app.config["TSA_URL"] = url
        again = evidence_log.publish_tree_head(on=DAY_TWO)
        assert again is not None and again.tree_size == head.tree_size
        assert again.timestamp_token is not None
