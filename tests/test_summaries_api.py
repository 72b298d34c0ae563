"""The officials' API: who gets in with which token, and what they can download."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from incident_service.auth import api_tokens
from incident_service.constants import Role
from incident_service.models import ApiToken, AuditEntry, db
from incident_service.releases.lifecycle import generate_release, publish_release
from tests.release_helpers import TODAY, make_user
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")


@pytest.fixture
def published(app):
    """A published November release and a draft for October, plus an official with a token."""
    with app.app_context():
        insert_records(40, months=["2024-10", "2024-11"], seed=41)
        release = generate_release(period="2024-11", today=TODAY)
        draft = generate_release(period="2024-10", today=TODAY)
        publish_release(release.id, actor=make_user(Role.SUPERVISOR))
        official = make_user(Role.OFFICIAL)
        row, token = api_tokens.issue_token(user=official, label="ministry laptop")
        db.session.commit()
        return {
            "release": release.id,
            "draft": draft.id,
            "token": token,
            "token_id": row.id,
            "official": official.id,
        }


def _get(app, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer isv1_not-a-token", "Bearer " + "x" * 300],
)
def test_is_a_request_without_a_valid_token_refused_with_401_problem_details(
    app, published, authorization
):
    """Does anything but a valid token get a 401 problem document and a Bearer challenge?"""
    headers = {"Authorization": authorization} if authorization else {}
    response = app.test_client().get("/api/v1/summaries", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_is_an_expired_token_refused(app, published):
    """A token past its expiry date: is it refused, and told why?"""
    with app.app_context():
        row = db.session.get(ApiToken, published["token_id"])
        row.expires_on = dt.date.today() - dt.timedelta(days=1)
        db.session.commit()
    response = _get(app, "/api/v1/summaries", published["token"])
    assert response.status_code == 401
    assert "expired" in response.get_json()["detail"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_is_a_revoked_token_refused_at_once(app, published):
    """Revoked from the command line: does the very next request fail?"""
    assert _get(app, "/api/v1/summaries", published["token"]).status_code == 200
    result = app.test_cli_runner().invoke(
        args=["summaries", "token", "revoke", str(published["token_id"])]
    )
    assert result.exit_code == 0, result.output
    response = _get(app, "/api/v1/summaries", published["token"])
    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


def test_does_a_deactivated_officials_token_stop_working(app, published):
    """An official who left the ministry: does their old token still open the API?"""
    from incident_service.models import User

    with app.app_context():
        db.session.get(User, published["official"]).active = False
        db.session.commit()
    assert _get(app, "/api/v1/summaries", published["token"]).status_code == 401


def test_does_an_official_see_published_releases_only_and_download_every_file(app, published):
    """Does the list hold the published release and not the draft, and does every file (all
    formats, the manifest and its signature) download byte for byte, audited?"""
    listing = _get(app, "/api/v1/summaries", published["token"]).get_json()
    assert [r["id"] for r in listing["releases"]] == [published["release"]]
    assert listing["signing_key"]["algorithm"] == "Ed25519"
    entry = listing["releases"][0]
    names = {f["name"] for f in entry["files"]}
    for suffix in (".ru.html", ".en.pdf", ".csv", "-suppression.json", "audit.json"):
        assert any(name.endswith(suffix) for name in names), suffix
    for item in entry["files"]:
        response = _get(app, item["url"], published["token"])
        assert response.status_code == 200
        assert hashlib.sha256(response.data).hexdigest() == item["sha256"]
        assert response.headers["Content-Disposition"].startswith("attachment")
    assert _get(app, entry["manifest_url"], published["token"]).status_code == 200
    assert _get(app, entry["signature_url"], published["token"]).status_code == 200
    assert (
        _get(app, f"/api/v1/summaries/{published['draft']}", published["token"]).status_code == 404
    )
    draft_file = f"/api/v1/summaries/{published['draft']}/files/manifest.json"
    assert _get(app, draft_file, published["token"]).status_code == 404
    with app.app_context():
        downloads = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "release.downloaded")
        ).all()
        assert len(downloads) == len(entry["files"]) + 2
        assert {d.actor_id for d in downloads} == {published["official"]}


def test_is_only_a_hash_of_a_token_stored_and_the_token_shown_once(app):
    """Would a database dump hold anything that opens the API?"""
    with app.app_context():
        official_id = make_user(Role.OFFICIAL, email="official@example.org").id
    result = app.test_cli_runner().invoke(
        args=["summaries", "token", "issue", "official@example.org", "--days", "30"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith(api_tokens.TOKEN_PREFIX)
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == official_id))
        assert row.token_hash == hashlib.sha256(token.encode()).digest()
        assert token.encode() not in row.token_hash
        assert row.expires_on == dt.date.today() + dt.timedelta(days=30)
    listing = app.test_cli_runner().invoke(args=["summaries", "token", "list"])
    assert token not in listing.output


@pytest.mark.parametrize("role", [Role.CASEWORKER])
def test_is_a_token_refused_to_staff_who_are_not_officials(app, role):
    """Can a caseworker be issued a token that reads releases through the API?"""
    with app.app_context():
        user = make_user(role)
        with pytest.raises(api_tokens.TokenNotAllowed):
            api_tokens.issue_token(user=user)
