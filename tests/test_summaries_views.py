"""Summaries pages: who sees which release, who publishes, and what an official downloads."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from incident_service.constants import ReleaseStatus, Role
from incident_service.models import Release, db
from incident_service.releases.documents.manifest import verify_directory
from incident_service.releases.lifecycle import generate_release, publish_release
from tests.release_helpers import TODAY
from tests.staff import login, make_staff
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")

ANON, CW, SUP, OFF, ADM = "anonymous", "caseworker", "supervisor", "official", "admin"
ROLES = [ANON, CW, SUP, OFF, ADM]


def expect(anon, cw, sup, off, adm):
    return dict(zip(ROLES, (anon, cw, sup, off, adm), strict=True))


READ = expect(302, 403, 200, 200, 200)
# Separation of duties: admins manage accounts and read published releases, like officials;
# drafts, generating, publishing and discarding are for supervisors alone.
READ_DRAFT = expect(302, 403, 200, 404, 404)
REVIEW = expect(302, 403, 302, 403, 403)
# Posts answered with POST/redirect/GET: the generate form (empty here, so refused and shown
# again) and Publish without the confirmation step (sent to that step).
REVIEW_PRG = expect(302, 403, 303, 403, 403)
REVIEW_PAGE = expect(302, 403, 200, 403, 403)
PUBLIC = expect(200, 200, 200, 200, 200)

# (method, path, endpoint, expected per role); {p} a published release, {d} a draft, {f} a file,
# {t} a task id.
TABLE = [
    ("GET", "/summaries/", "summaries.index", READ),
    ("GET", "/summaries/{p}", "summaries.show", READ),
    ("GET", "/summaries/{d}", "summaries.show", READ_DRAFT),
    ("GET", "/summaries/{p}/files/{f}", "summaries.download", READ),
    ("GET", "/summaries/{d}/files/{f}", "summaries.download", READ_DRAFT),
    ("GET", "/summaries/{p}/release.zip", "summaries.download_all", READ),
    ("GET", "/summaries/{d}/release.zip", "summaries.download_all", READ_DRAFT),
    ("POST", "/summaries/generate", "summaries.generate", REVIEW_PRG),
    ("GET", "/summaries/preparing/{t}", "summaries.preparing", REVIEW_PAGE),
    ("GET", "/summaries/{d}/publish", "summaries.confirm_publish", REVIEW_PAGE),
    ("POST", "/summaries/{d}/publish", "summaries.publish", REVIEW_PRG),
    ("POST", "/summaries/{d}/discard", "summaries.discard", REVIEW),
    ("GET", "/summaries/signing-key.pub", "summaries_public.signing_key_pem", PUBLIC),
    ("GET", "/summaries/signing-key.json", "summaries_public.signing_key_json", PUBLIC),
    ("GET", "/evidence/dossier-key.pem", "summaries_public.dossier_key_pem", PUBLIC),
]


def test_does_the_table_cover_every_summaries_route(app):
    """Is every summaries page in the role table below (so none is left unguarded)?"""
    covered = {(method, endpoint) for method, _, endpoint, _ in TABLE}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in {"summaries", "summaries_public"}:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.endpoint) in covered, f"{method} {rule.rule} is not covered"


def _releases(app):
    with app.app_context():
        insert_records(40, months=["2024-10", "2024-11"], seed=51)
        published = generate_release(period="2024-11", today=TODAY)
        draft = generate_release(period="2024-10", today=TODAY)
        supervisor = make_staff(role=Role.SUPERVISOR)
        from incident_service.models import User

        publish_release(published.id, actor=db.session.get(User, supervisor.user_id))
        db.session.commit()
        csv_name = next(f.name for f in published.files if f.name.endswith(".csv"))
        draft_csv = next(f.name for f in draft.files if f.name.endswith(".csv"))
        return published.id, draft.id, csv_name, draft_csv


@pytest.mark.parametrize("role", ROLES)
def test_does_each_summaries_route_answer_each_role_as_the_table_says(app, role):
    """Do caseworkers stay out, officials and admins see published releases only, and only
    supervisors see drafts, generate, publish and discard?"""
    published, draft, csv_name, draft_csv = _releases(app)
    client = app.test_client()
    if role != ANON:
        with app.app_context():
            account = make_staff(role=Role(role))
        login(client, account)
    wrong = []
    # Publishing would change later rows' answers: try the guarded POSTs on a fresh draft each.
    for method, path, _endpoint, expected in TABLE:
        target_draft = draft
        if method == "POST" and "{d}" in path:
            with app.app_context():
                target_draft = generate_release(
                    period="2024-10",
                    today=TODAY,
                    parameters={"threshold": 11, "protection_width": 11},
                ).id
                db.session.commit()
        url = path.format(
            p=published,
            d=target_draft,
            f=draft_csv if "{d}" in path else csv_name,
            t="0b7f4e3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b",
        )
        response = client.open(url, method=method)
        if response.status_code != expected[role]:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected[role]}")
        if method == "POST" and "{d}" in path:
            with app.app_context():
                leftover = db.session.get(Release, target_draft)
                if leftover is not None and leftover.status == ReleaseStatus.DRAFT.value:
                    db.session.delete(leftover)
                    db.session.commit()
    assert not wrong, "\n".join(wrong)


def test_does_a_supervisor_publish_from_the_page_and_an_official_then_see_it(app):
    """The review path a supervisor follows: a draft on the page, the Publish button, and
    the release appearing for an official."""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=52)
        release_id = generate_release(period="2024-11", today=TODAY).id
        supervisor = make_staff(role=Role.SUPERVISOR)
        official = make_staff(role=Role.OFFICIAL)
    reviewer = app.test_client()
    login(reviewer, supervisor)
    page = reviewer.get(f"/summaries/{release_id}").get_data(as_text=True)
    assert "Publish" in page or "Опубликовать" in page
    reader = app.test_client()
    login(reader, official)
    assert reader.get(f"/summaries/{release_id}").status_code == 404
    assert reviewer.get(f"/summaries/{release_id}/publish").status_code == 200  # confirm step
    response = reviewer.post(f"/summaries/{release_id}/publish", data={"confirm": "publish"})
    assert response.status_code == 303
    listing = reader.get("/summaries/").get_data(as_text=True)
    assert f"/summaries/{release_id}" in listing
    shown = reader.get(f"/summaries/{release_id}")
    assert shown.status_code == 200
    assert "<script" not in shown.get_data(as_text=True)
    assert "script-src" not in shown.headers["Content-Security-Policy"]


def test_does_an_official_download_a_release_that_verifies(app, tmp_path):
    """Does the archive an official downloads unpack into a directory that verifies, with
    every format inside?"""
    published, _draft, _csv, _draft_csv = _releases(app)
    with app.app_context():
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    login(client, official)
    response = client.get(f"/summaries/{published}/release.zip")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        archive.extractall(tmp_path / "download")
    (folder,) = list((tmp_path / "download").iterdir())
    names = {p.name for p in folder.iterdir()}
    for pattern in (r"\.ru\.html$", r"\.ru\.pdf$", r"\.csv$", r"-suppression\.json$", "manifest"):
        assert any(re.search(pattern, name) for name in names), pattern
    with app.app_context():
        key = app.extensions["incident_keys"].require_verify_key()
    assert verify_directory(folder, verify_key=key).ok


def test_is_a_publish_without_a_csrf_token_refused(csrf_app):
    """Could another site make a logged-in supervisor's browser publish a draft?"""
    with csrf_app.app_context():
        insert_records(30, months=["2024-11"], seed=53)
        release_id = generate_release(period="2024-11", today=TODAY).id
        supervisor = make_staff(role=Role.SUPERVISOR)
    client = csrf_app.test_client()
    login(client, supervisor)
    response = client.post(f"/summaries/{release_id}/publish", data={"confirm": "publish"})
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.get(Release, release_id).status == ReleaseStatus.DRAFT.value


def test_does_a_supervisor_ask_the_worker_for_a_draft_and_get_told_about_a_bad_period(
    app, monkeypatch
):
    """The web holds no signing key: does "Prepare" hand the period and method to the worker,
    show where the task stands, and does a future or malformed period get a message instead
    of a task?"""
    from incident_service.pipeline import dispatch

    sent = []
    task_id = "0b7f4e3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"

    def hand_over(name, *args):
        sent.append((name, args))
        return dispatch.Handover(task_id=task_id, ran_here=False)

    monkeypatch.setattr(dispatch, "enqueue_tracked", hand_over)
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
    client = app.test_client()
    login(client, supervisor)
    response = client.post("/summaries/generate", data={"period": "2024-Q4", "method": "dp"})
    assert response.status_code == 303
    assert f"/summaries/preparing/{task_id}" in response.headers["Location"]
    assert sent == [(dispatch.TASK_RELEASE_GENERATE, ("2024-Q4", "dp"))]
    for bad in ("2031-Q1", "next month"):
        client.post("/summaries/generate", data={"period": bad, "method": "suppression"})
        page = client.get("/summaries/").get_data(as_text=True)
        assert "has not finished" in page or "not a period" in page
    assert len(sent) == 1
