"""Evidence in the case view and the referral dossier: copies shown, originals on request,
metadata readable by the team, every step in the custody record, a dossier that verifies."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select

from incident_service.constants import Role
from incident_service.evidence import log as evidence_log
from incident_service.evidence.cleaning import make_clean_copies
from incident_service.evidence.dossier import DossierInvalid, verify_dossier
from incident_service.keystore import current_keyring
from incident_service.models import AuditEntry, db
from tests import evidence_samples as samples
from tests.evidence_helpers import new_report, receive
from tests.staff import login, make_staff


def _case_with(app, *makers, day=None):
    with app.app_context():
        report_id = new_report()
        ids = [
            receive(make(), report_id=report_id, name=f"f{i}", day=day).file_id
            for i, make in enumerate(makers)
        ]
        make_clean_copies()
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    return client, report_id, ids, worker


def _entries(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_does_the_case_view_show_a_clean_photo_and_the_team_its_gps(app):
    client, report_id, (file_id,), worker = _case_with(app, samples.jpeg_with_gps)
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    working = f"/cases/{report_id}/evidence/{file_id}/working"
    assert f'<img class="evidence-image" src="{working}"' in page
    assert "55.755800, 37.617500" in page or "55.7558" in page  # the GPS, for the caseworker
    assert "R58N12ABCDE" in page  # the device serial, in the removed-metadata table
    answer = client.get(working)
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert answer.headers["Cache-Control"].startswith("no-store")
    assert answer.headers["Content-Disposition"].startswith("inline")
    assert not Image.open(io.BytesIO(answer.data)).getexif().get_ifd(0x8825)
    assert b"R58N12ABCDE" not in answer.data
    viewed = _entries(app, "evidence.viewed")
    assert len(viewed) == 1 and viewed[0].actor_id == worker.user_id
    assert json.loads(viewed[0].detail) == {"copy": "working", "file": file_id}
    assert viewed[0].at.time() == dt.time()  # the day only


def test_is_the_original_given_only_on_request_and_recorded(app):
    client, report_id, (file_id,), worker = _case_with(app, samples.jpeg_with_gps)
    original = f"/cases/{report_id}/evidence/{file_id}/original"
    assert client.get(original).status_code == 405
    answer = client.post(original)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert b"R58N12ABCDE" in answer.data  # exactly as received
    downloaded = _entries(app, "evidence.downloaded")
    assert json.loads(downloaded[0].detail)["copy"] == "original"
    assert downloaded[0].actor_id == worker.user_id


def test_is_a_recording_played_in_an_audio_element_and_a_pdf_downloaded(app):
    client, report_id, (voice, document), _worker = _case_with(app, samples.wav, samples.pdf)
    page = client.get(f"/cases/{report_id}")
    html = page.get_data(as_text=True)
    assert (
        f'<audio controls preload="none" src="/cases/{report_id}/evidence/{voice}/working"' in html
    )
    assert f'src="/cases/{report_id}/evidence/{document}/working"' not in html
    assert f"/cases/{report_id}/evidence/{document}/working?download=1" in html
    assert "media-src 'self'" in page.headers["Content-Security-Policy"]
    assert "script-src" not in page.headers["Content-Security-Policy"]
    pdf = client.get(f"/cases/{report_id}/evidence/{document}/working")
    assert pdf.headers["Content-Disposition"].startswith("attachment")


def test_can_a_caseworker_of_another_organisation_open_nothing(app):
    _client, report_id, (file_id,), _worker = _case_with(app, samples.jpeg)
    with app.app_context():
        stranger = make_staff(role=Role.CASEWORKER, organisation="other-org")
    other = app.test_client()
    login(other, stranger)
    assert other.get(f"/cases/{report_id}/evidence/{file_id}/working").status_code in (403, 404)


def _dossier(client, report_id, file_id, *, original=True, working=True, part=True):
    data = {}
    if part:
        data["part-coded"] = "1"
    if original:
        data[f"original-{file_id}"] = "1"
    if working:
        data[f"working-{file_id}"] = "1"
    return client.post(f"/cases/{report_id}/dossier", data=data)


def test_does_the_dossier_verify_and_fail_when_a_file_is_swapped(app, tmp_path):
    yesterday = dt.date.today() - dt.timedelta(days=1)
    client, report_id, (file_id,), _worker = _case_with(app, samples.jpeg_with_gps, day=yesterday)
    with app.app_context():
        evidence_log.publish_tree_head()  # yesterday's commitments join the log
        db.session.commit()
        log_key = current_keyring().require_verify_key()
        dossier_key = current_keyring().require_dossier_verify_key()
    assert client.get(f"/cases/{report_id}/dossier").status_code == 200
    answer = _dossier(client, report_id, file_id)
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    data = answer.data
    check = verify_dossier(data, dossier_key=dossier_key, log_key=log_key)
    assert check.originals_logged == ["files/01-original.jpg"]
    assert set(check.files) == {
        "case.pdf",
        "custody.json",
        "files/01-original.jpg",
        "files/01-working.jpg",
    }
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        custody = json.loads(archive.read("custody.json"))
        assert all(info.date_time[3:] == (0, 0, 0) for info in archive.infolist())
    original = next(entry for entry in manifest["files"] if entry["role"] == "original")
    assert original["received_on"] == yesterday.isoformat()
    assert {"commitment", "salt", "inclusion_proof", "sha256", "size"} <= set(original)
    actions = [entry["action"] for entry in custody]
    assert actions[0] == "evidence.received" and "evidence.copy_made" in actions
    assert "evidence.exported" in actions
    assert all(len(entry["day"]) == 10 for entry in custody)  # days, never times

    swapped = _rewrite(data, "files/01-original.jpg", samples.jpeg())
    with pytest.raises(DossierInvalid, match=r"files/01-original\.jpg: its content does not"):
        verify_dossier(swapped, dossier_key=dossier_key, log_key=log_key)
    _check_with_the_cli(app, tmp_path, data, swapped)
    _check_with_standard_tools(tmp_path, data, swapped)


def _rewrite(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == name else source.read(info))
    return out.getvalue()


def _check_with_the_cli(app, tmp_path, good: bytes, bad: bytes) -> None:
    runner = app.test_cli_runner()
    (tmp_path / "good.zip").write_bytes(good)
    (tmp_path / "bad.zip").write_bytes(bad)
    result = runner.invoke(args=["evidence", "verify-dossier", str(tmp_path / "good.zip")])
    assert result.exit_code == 0, result.output
    assert "OK: 4 files match" in result.output
    result = runner.invoke(args=["evidence", "verify-dossier", str(tmp_path / "bad.zip")])
    assert result.exit_code != 0
    assert "FAILED: files/01-original.jpg" in result.output


def _check_with_standard_tools(tmp_path, good: bytes, bad: bytes) -> None:
    """What docs/evidence.md tells a lawyer to run: openssl for the signature, sha256sum -c."""
    if not (shutil.which("openssl") and shutil.which("sha256sum")):
        pytest.skip("openssl or sha256sum not installed")
    for name, data in (("good", good), ("bad", bad)):
        folder = tmp_path / name
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(folder)
        signature = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "dossier-key.pem",
                "-rawin",
                "-in",
                "SHA256SUMS",
                "-sigfile",
                "SHA256SUMS.sig",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert signature.returncode == 0, signature.stdout + signature.stderr
        sums = subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (sums.returncode == 0) == (name == "good"), sums.stdout


def test_is_a_dossier_with_nothing_chosen_refused(app):
    client, report_id, (file_id,), _worker = _case_with(app, samples.jpeg)
    answer = _dossier(client, report_id, file_id, original=False, working=False, part=False)
    assert answer.status_code == 400
    assert _entries(app, "evidence.exported") == []


def test_is_the_dossier_key_published_for_lawyers(app, client):
    from incident_service.crypto.signing import verify_key_from_pem

    answer = client.get("/evidence/dossier-key.pem")
    assert answer.status_code == 200
    with app.app_context():
        expected = current_keyring().require_dossier_verify_key()
    assert verify_key_from_pem(answer.data) == expected
    assert answer.headers["X-Key-Fingerprint"] == expected.fingerprint
