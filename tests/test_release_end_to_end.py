"""The whole path: reports through the API, the worker, a release, publication, an official's
download of every format, checked against the signature."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pypdf
import sqlalchemy as sa

from incident_service.auth import api_tokens
from incident_service.constants import ReleaseStatus, Role
from incident_service.models import Release, StatisticalRecord, db
from incident_service.pipeline import dispatch
from incident_service.releases.documents.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    read_signature_file,
    verify_directory,
)
from tests.factories import report_payload
from tests.staff import login, make_staff

# Thirty synthetic reports about November 2024: airport holds at Pulkovo and Vnukovo, raids on
# building sites, pressure to sign a military contract in detention. Never real cases.
SHAPES = [
    {"acts": ["BRD.01", "BRD.02", "BRD.03"], "airport": "LED", "region": "RU-SPE"},
    {"acts": ["BRD.01", "BRD.05"], "airport": "VKO", "region": "RU-MOW"},
    {
        "acts": ["DET.01", "DET.03"],
        "airport": None,
        "region": "RU-MOS",
        "location_type": "WRK",
        "perpetrators": ["POL", "MIG"],
    },
    {
        "acts": ["DET.03", "MIL.01", "MIL.02"],
        "airport": None,
        "region": "RU-MOS",
        "location_type": "DTC",
        "perpetrators": ["MIL"],
        "coercion": {"contract_offered": True, "citizenship_promised": True},
    },
]


def test_do_reports_filed_through_the_api_reach_an_official_as_a_signed_release(app, tmp_path):
    """A partner app files reports; the worker anonymises them and drafts the month's release;
    a supervisor publishes it; an official's client downloads every file, and the files verify
    and say how many reports there were."""
    client = app.test_client()
    for index in range(30):
        shape = SHAPES[index % len(SHAPES)]
        body = report_payload(incident_date=f"2024-11-{index % 28 + 1:02d}", **shape)
        response = client.post("/api/v1/reports", json=body)
        assert response.status_code == 201, response.get_json()
    with app.app_context():
        # Eager mode: each submission's nudge ran the anonymiser in-process.
        months = db.session.scalars(sa.select(StatisticalRecord.month)).all()
        assert months == ["2024-11"] * 30
        assert dispatch.enqueue(dispatch.TASK_RELEASE_GENERATE, "2024-11")
        release = db.session.scalars(sa.select(Release)).one()
        assert release.status == ReleaseStatus.DRAFT.value
        release_id = release.id
        supervisor = make_staff(role=Role.SUPERVISOR)
        official = make_staff(role=Role.OFFICIAL)
        from incident_service.models import User

        _row, token = api_tokens.issue_token(user=db.session.get(User, official.user_id))
        db.session.commit()

    reviewer = app.test_client()
    login(reviewer, supervisor)
    assert reviewer.get(f"/summaries/{release_id}/publish").status_code == 200  # confirm step
    confirmed = reviewer.post(f"/summaries/{release_id}/publish", data={"confirm": "publish"})
    assert confirmed.status_code == 303

    headers = {"Authorization": f"Bearer {token}"}
    listing = client.get("/api/v1/summaries", headers=headers).get_json()
    (entry,) = listing["releases"]
    folder = tmp_path / "downloaded"
    folder.mkdir()
    for item in entry["files"]:
        data = client.get(item["url"], headers=headers).data
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        (folder / item["name"]).write_bytes(data)
    for url, name in (
        (entry["manifest_url"], MANIFEST_NAME),
        (entry["signature_url"], SIGNATURE_NAME),
    ):
        (folder / name).write_bytes(client.get(url, headers=headers).data)
    suffixes = {Path(name).suffix for name in (f["name"] for f in entry["files"])}
    assert {".html", ".pdf", ".csv", ".json"} <= suffixes
    with app.app_context():
        key = app.extensions["incident_keys"].require_verify_key()
    assert verify_directory(folder, verify_key=key).ok
    assert read_signature_file((folder / SIGNATURE_NAME).read_bytes())
    document = json.loads(next(folder.glob("*-suppression.json")).read_text())
    assert document["content"]["reports"] == 30
    csv_text = next(folder.glob("*.csv")).read_text()
    assert "#meta+count" in csv_text
    pdf = pypdf.PdfReader(next(folder.glob("*.ru.pdf")))
    assert "зарегистрировал 30 сообщений" in pdf.pages[0].extract_text()
