"""Evidence through the API's tus endpoints: round trips, resumption, refusals, limits, expiry."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import ClientDisconnected

from incident_service.evidence import uploads as upload_service
from incident_service.evidence.intake import open_metadata, read_file
from incident_service.evidence.store import current_store
from incident_service.models import EvidenceFile, EvidenceUpload, db
from tests import evidence_samples as samples
from tests.evidence_helpers import team_private_key
from tests.factories import report_payload

TUS = {"Tus-Resumable": "1.0.0"}


def _metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def _file_report(client) -> str:
    response = client.post("/api/v1/reports", json=report_payload())
    assert response.status_code == 201
    return str(response.get_json()["receipt"])


def _create(client, receipt: str, length: int, **metadata: str):
    return client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": _metadata(receipt=receipt, **metadata),
        },
    )


def _patch(client, location: str, offset: int, data: bytes, **headers: str):
    return client.patch(
        location,
        data=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def _upload(client, receipt: str, data: bytes, *, pieces: int = 3, name: str = "f.bin"):
    created = _create(client, receipt, len(data), filename=name)
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    step = -(-len(data) // pieces)
    answer = None
    for offset in range(0, len(data), step):
        answer = _patch(client, location, offset, data[offset : offset + step])
        if answer.status_code != 204:
            return location, answer
        assert int(answer.headers["Upload-Offset"]) == min(len(data), offset + step)
    return location, answer


def _objects(app) -> set[str]:
    with app.app_context():
        root = current_store().root  # type: ignore[attr-defined]
        return {path.name for path in root.iterdir() if not path.name.startswith(".")}


def test_does_options_say_what_this_tus_server_offers(client, app):
    answer = client.options("/api/v1/uploads")
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert answer.headers["Tus-Extension"] == "creation,termination,expiration"
    assert int(answer.headers["Tus-Max-Size"]) == app.config["EVIDENCE_MAX_BYTES"]


@pytest.mark.parametrize(
    "make", [samples.jpeg, samples.pdf, samples.ogg, samples.mp4, samples.wav, samples.png]
)
def test_does_each_type_round_trip_through_tus_in_pieces(client, app, make):
    data = make() * 1 if make is not samples.wav else samples.wav(frames=200_000)
    receipt = _file_report(client)
    location, answer = _upload(client, receipt, data, pieces=3, name="evidence.bin")
    assert answer.status_code == 204, answer.get_data(as_text=True)
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    fingerprint = hashlib.sha256(data).hexdigest()[:16].upper()
    assert answer.headers["Evidence-Fingerprint"].replace(" ", "") == fingerprint
    assert receipt not in location and receipt not in answer.headers.get("Location", "")
    with app.app_context():
        row = db.session.scalars(select(EvidenceFile)).one()
        team = team_private_key()
        assert b"".join(read_file(row, team_private_key=team)) == data
        metadata = open_metadata(row, team_private_key=team)
        assert metadata.digest.value == hashlib.sha256(data).digest()
        assert metadata.original_name == "evidence.bin"
        assert db.session.scalar(select(func.count()).select_from(EvidenceUpload)) == 0
        # In the embedded mode the clean copy is made at once, in-process.
        assert row.working_object is not None
        assert _objects(app) == {row.original_object, row.working_object}, "segments left"
    status = client.post("/api/v1/status", json={"receipt": receipt}).get_json()
    assert status["files"] == [
        {
            "name": "evidence.bin",
            "size": len(data),
            "type": answer.headers["Evidence-Type"],
            "fingerprint": answer.headers["Evidence-Fingerprint"],
            "received_on": status["received_on"],
        }
    ]
    assert client.head(location, headers=TUS).status_code == 404, "finished uploads are gone"


def test_does_head_tell_where_an_upload_stands(client):
    receipt = _file_report(client)
    data = samples.jpeg()
    location = _create(client, receipt, len(data)).headers["Location"]
    assert _patch(client, location, 0, data[:100]).status_code == 204
    head = client.head(location, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "100"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Upload-Expires"].endswith("GMT")
    assert head.headers["Cache-Control"].startswith("no-store")


def test_does_a_wrong_offset_get_409_with_the_real_offset(client):
    receipt = _file_report(client)
    location = _create(client, receipt, 5000).headers["Location"]
    answer = _patch(client, location, 10, b"x" * 10)
    assert answer.status_code == 409
    assert answer.headers["Upload-Offset"] == "0"
    assert answer.mimetype == "application/problem+json"


def test_is_tus_resumable_required(client):
    answer = client.post("/api/v1/uploads", headers={"Upload-Length": "10"})
    assert answer.status_code == 412
    assert answer.headers["Tus-Version"] == "1.0.0"


def test_is_a_wrong_receipt_refused_like_every_other(client):
    answer = _create(client, "1234 5678 9012 3456 7890", 100)
    assert answer.status_code == 404
    assert answer.get_json()["type"] == "/api/v1/problems/receipt-not-recognised"


def test_is_a_wrong_secret_the_same_as_no_upload(client):
    receipt = _file_report(client)
    location = _create(client, receipt, 100).headers["Location"]
    token = location.rsplit("/", 1)[1]
    forged = token[:22] + ("A" if token[22] != "A" else "B") + token[23:]
    assert client.head(location.replace(token, forged), headers=TUS).status_code == 404
    assert client.head(location, headers=TUS).status_code == 200


def test_is_a_polyglot_refused_in_the_callers_language_and_the_report_kept(client, app):
    receipt = _file_report(client)
    before = _objects(app)
    data = samples.jpeg() + samples.zip_archive()
    created = _create(client, receipt, len(data), language="tg")
    location = created.headers["Location"]
    answer = _patch(client, location, 0, data)
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["type"] == "/api/v1/problems/file-refused"
    assert problem["reason"] == "polyglot_zip"
    # In the language the upload was started in (Tajik), for the partner app to show as is.
    assert problem["title"] == "Файл қабул нашуд. Муроҷиати шумо нигоҳ дошта шудааст."
    assert "алоҳида" in problem["detail"]
    english = _patch(client, location, 0, data)
    assert english.status_code == 404, "a refused upload is gone"
    assert _objects(app) == before, "nothing of a refused file is kept"
    status = client.post("/api/v1/status", json={"receipt": receipt})
    assert status.status_code == 200 and status.get_json()["files"] == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_is_an_unknown_type_refused_with_the_first_piece(client, app):
    receipt = _file_report(client)
    data = b"MZ" + b"\x90" * 9000  # a Windows program
    location = _create(client, receipt, len(data) * 3).headers["Location"]
    answer = _patch(client, location, 0, data, **{"Accept-Language": "ru"})
    assert answer.status_code == 422
    assert answer.get_json()["reason"] == "unknown_type"
    assert "JPEG" in answer.get_json()["detail"]
    assert client.head(location, headers=TUS).status_code == 404


def test_does_delete_remove_an_unfinished_upload_and_what_it_stored(client, app):
    receipt = _file_report(client)
    before = _objects(app)
    data = samples.wav(frames=100_000)
    location = _create(client, receipt, len(data)).headers["Location"]
    assert _patch(client, location, 0, data[:150_000]).status_code == 204
    assert _objects(app) != before
    assert client.delete(location, headers=TUS).status_code == 204
    assert _objects(app) == before
    assert client.head(location, headers=TUS).status_code == 404


def test_do_the_report_limits_hold(client, app):
    app.config.update(EVIDENCE_MAX_FILES=2, EVIDENCE_MAX_REPORT_BYTES=300_000)
    receipt = _file_report(client)
    too_big = _create(client, receipt, app.config["EVIDENCE_MAX_BYTES"] + 1)
    assert too_big.status_code == 413
    assert too_big.get_json()["limit"] == "file_size"
    over_report = _create(client, receipt, 300_001)
    assert over_report.status_code == 422 and over_report.get_json()["limit"] == "report_size"
    _location, answer = _upload(client, receipt, samples.wav(frames=100_000))
    assert answer.status_code == 204
    assert _create(client, receipt, 100).status_code == 201
    third = _create(client, receipt, 100)
    assert third.status_code == 422 and third.get_json()["limit"] == "files"


def test_is_more_than_the_declared_length_refused(client):
    receipt = _file_report(client)
    location = _create(client, receipt, 10).headers["Location"]
    assert _patch(client, location, 0, b"x" * 11).status_code == 413


def test_does_a_dump_taken_mid_upload_hold_no_byte_size_or_time(client, app):
    receipt = _file_report(client)
    data = samples.wav(frames=20_000)  # 40 KB: all of it still unsealed-in-a-chunk pending
    location = _create(client, receipt, len(data) + 1000).headers["Location"]
    assert _patch(client, location, 0, data).status_code == 204
    with app.app_context():
        row = db.session.scalars(select(EvidenceUpload)).one()
        assert data[100:164] not in row.sealed_state
        assert str(len(data)).encode() not in row.sealed_state
        today = dt.datetime.now(dt.UTC).date()
        assert row.purge_on in (today + dt.timedelta(days=1), today + dt.timedelta(days=2))


def test_does_an_interrupted_piece_keep_what_arrived(client, app):
    """The connection drops in the middle of a PATCH: what arrived is kept (the error goes on
    to the server), and the upload resumes from there."""
    receipt = _file_report(client)
    data = samples.wav(frames=200_000)
    location = _create(client, receipt, len(data)).headers["Location"]
    token = location.rsplit("/", 1)[1]
    arrived = 300_000

    def dropping():
        yield data[: arrived // 2]
        yield data[arrived // 2 : arrived]
        raise ClientDisconnected()

    with app.app_context():
        opened = upload_service.open_upload(token)
        with pytest.raises(ClientDisconnected):
            upload_service.append(opened, dropping(), offset=0)
    offset = int(client.head(location, headers=TUS).headers["Upload-Offset"])
    assert offset == arrived
    answer = _patch(client, location, offset, data[offset:])
    assert answer.status_code == 204
    with app.app_context():
        row = db.session.scalars(select(EvidenceFile)).one()
        assert b"".join(read_file(row, team_private_key=team_private_key())) == data


def test_do_expired_uploads_stop_and_get_purged(client, app, monkeypatch):
    receipt = _file_report(client)
    before = _objects(app)
    data = samples.wav(frames=100_000)
    location = _create(client, receipt, len(data)).headers["Location"]
    assert _patch(client, location, 0, data[:150_000]).status_code == 204
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=25)
    monkeypatch.setattr(upload_service, "utcnow", lambda: later)
    assert client.head(location, headers=TUS).status_code == 404
    with app.app_context():
        assert upload_service.purge_expired_uploads(today=later.date()) == 0, "not its day yet"
        purged = upload_service.purge_expired_uploads(today=later.date() + dt.timedelta(days=1))
        assert purged == 1
    assert _objects(app) == before


def test_does_an_upload_cut_at_60_percent_resume_through_tuspy_to_the_same_sha256(
    app, serve_over_http
):
    """Interoperability with the tuspy client over real HTTP: stop at 60 %, then a fresh
    uploader given only the URL asks where it stands (HEAD) and finishes."""
    from tusclient import client as tus_client

    base = serve_over_http(app)
    receipt = _file_report(app.test_client())
    data = samples.wav(frames=600_000)  # 1.2 MB, several chunks
    tus = tus_client.TusClient(base + "/api/v1/uploads")
    first = tus.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=256 * 1024,
        metadata={"receipt": receipt, "filename": "voice.wav"},
    )
    first.upload(stop_at=int(len(data) * 0.6))
    assert 0 < first.offset < len(data)
    url = first.url
    assert receipt not in url
    second = tus.uploader(file_stream=io.BytesIO(data), chunk_size=256 * 1024, url=url)
    assert second.offset == first.offset  # learnt from the server
    second.upload()
    assert second.offset == len(data)
    with app.app_context():
        row = db.session.scalars(select(EvidenceFile)).one()
        metadata = open_metadata(row, team_private_key=team_private_key())
        assert metadata.digest.value == hashlib.sha256(data).digest()
        assert b"".join(read_file(row, team_private_key=team_private_key())) == data


def test_does_an_empty_first_piece_leave_the_upload_as_it_was(client, app):
    receipt = _file_report(client)
    data = samples.png()
    location = _create(client, receipt, len(data)).headers["Location"]
    empty = _patch(client, location, 0, b"")
    assert empty.status_code == 204 and empty.headers["Upload-Offset"] == "0"
    answer = _patch(client, location, 0, data)
    assert answer.status_code == 204, answer.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(select(EvidenceFile)).one()
        assert b"".join(read_file(row, team_private_key=team_private_key())) == data
