"""CSRF: every staff form refuses a POST without the token (and changes nothing)."""

from __future__ import annotations

from sqlalchemy import func, select

from incident_service.cases import events
from incident_service.constants import Role
from incident_service.models import AuditEntry, Report, StaffSession, db
from tests.factories import submit
from tests.staff import csrf_token, login, make_staff, post_form
from tests.test_staff_access import TABLE


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_does_every_staff_form_refuse_a_post_without_its_csrf_token(csrf_app):
    app = csrf_app
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
        admin = make_staff(role=Role.ADMIN)
        newcomer = make_staff(role=Role.CASEWORKER, grant=False)
        report_id = submit().report_id
        event_id = events.create_event(
            organisation_id=supervisor.organisation_id,
            title="t",
            description="",
            persons_affected=1,
            actor_id=supervisor.user_id,
        ).id
        db.session.commit()
    values = {
        "r": report_id,
        "e": event_id,
        "spare": newcomer.user_id,
        "newcomer": newcomer.user_id,
    }
    case_client = app.test_client()
    login(case_client, supervisor)
    admin_client = app.test_client()
    login(admin_client, admin)
    before = _count(app, AuditEntry)
    posts = [
        (path, data, endpoint) for method, path, data, endpoint, _ in TABLE if method == "POST"
    ]
    assert len(posts) >= 18
    for path, data, endpoint in posts:
        client = admin_client if endpoint.startswith("auth.accounts") else case_client
        url = path.format(**values)
        form = {k: v.format(**values) for k, v in (data or {}).items()}
        response = client.post(url, data=form)
        assert response.status_code == 400, f"POST {path} without a token: {response.status_code}"
        forged = client.post(url, data={**form, "csrf_token": "forged-token"})
        assert forged.status_code == 400, f"POST {path} with a forged token"
    # Nothing happened: no audit entry, the report untouched, both sessions still there.
    assert _count(app, AuditEntry) == before
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        assert (report.status, report.labels, report.event_id) == ("new", "", None)
    assert _count(app, StaffSession) == 2
    assert case_client.get("/cases/").status_code == 200


def test_does_a_form_with_its_token_go_through(csrf_app):
    app = csrf_app
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        report_id = submit().report_id
    client = app.test_client()
    login(client, worker)  # /login and /unlock themselves went through with their tokens
    response = post_form(
        client,
        f"/cases/{report_id}/status",
        {"status": "triaged"},
        form_page=f"/cases/{report_id}",
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get_one(Report, report_id).status == "triaged"
    # A token from another session is worthless here.
    other = app.test_client()
    foreign_token = csrf_token(other, "/login")
    stolen = client.post(
        f"/cases/{report_id}/status", data={"status": "closed", "csrf_token": foreign_token}
    )
    assert stolen.status_code == 400
