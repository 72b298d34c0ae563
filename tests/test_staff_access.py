"""Every staff route × every role (and anonymous) × the status each must get.

Separation of duties: only caseworkers and supervisors open reports, only supervisors grant keys
and read the audit log, admins manage accounts and read no report, officials see none of this.
"""

from __future__ import annotations

import pytest

from incident_service.constants import Role
from incident_service.models import db
from incident_service.services import events
from tests.factories import submit
from tests.staff import login, make_staff

ANON, CW, SUP, OFF, ADM = "anonymous", "caseworker", "supervisor", "official", "admin"
ROLES = [ANON, CW, SUP, OFF, ADM]


def expect(anon, cw, sup, off, adm):
    return dict(zip(ROLES, (anon, cw, sup, off, adm), strict=True))


CASE_PAGE = expect(302, 200, 200, 403, 403)
CASE_ACTION = expect(302, 303, 303, 403, 403)
KEY_PAGE = expect(302, 200, 200, 403, 403)
SUPERVISOR_PAGE = expect(302, 403, 200, 403, 403)
ADMIN_PAGE = expect(302, 403, 403, 403, 200)

# (method, path, form data, endpoint, expected status per role). {r} is a report id, {e} an
# event id, {spare} a caseworker to deactivate, {newcomer} one waiting for the team key.
TABLE = [
    ("GET", "/staff", None, "auth.home", expect(302, 302, 302, 302, 302)),
    ("GET", "/login", None, "auth.login", expect(200, 302, 302, 302, 302)),
    (
        "POST",
        "/login",
        {"email": "x@example.org", "password": "x", "code": "000000"},
        "auth.login",
        expect(200, 302, 302, 302, 302),
    ),
    ("GET", "/login/setup", None, "auth.setup", expect(302, 302, 302, 302, 302)),
    ("POST", "/login/setup", {}, "auth.setup", expect(302, 302, 302, 302, 302)),
    ("GET", "/unlock", None, "auth.unlock", KEY_PAGE),
    ("POST", "/unlock", {"passphrase": "wrong passphrase"}, "auth.unlock", KEY_PAGE),
    ("GET", "/unlock/recover", None, "auth.recover", KEY_PAGE),
    (
        "POST",
        "/unlock/recover",
        {"recovery_key": "AAAA", "passphrase": "x" * 12, "confirm_passphrase": "x" * 12},
        "auth.recover",
        KEY_PAGE,
    ),
    ("GET", "/accounts", None, "auth.accounts_list", ADMIN_PAGE),
    (
        "POST",
        "/accounts",
        {"email": "someone.new@example.org", "role": "official"},
        "auth.accounts_create",
        ADMIN_PAGE,
    ),
    (
        "POST",
        "/accounts/{spare}/deactivate",
        {},
        "auth.accounts_deactivate",
        expect(302, 403, 403, 403, 302),
    ),
    ("GET", "/cases/", None, "cases.queue", CASE_PAGE),
    ("GET", "/cases/{r}", None, "cases.case", CASE_PAGE),
    ("POST", "/cases/{r}/status", {"status": "triaged"}, "cases.change_status", CASE_ACTION),
    (
        "POST",
        "/cases/{r}/details",
        {"priority": "2", "assignee": "", "labels": "checked", "verification": "1"},
        "cases.update_details",
        CASE_ACTION,
    ),
    ("POST", "/cases/{r}/notes", {"text": "a note"}, "cases.add_note", CASE_ACTION),
    (
        "POST",
        "/cases/{r}/interventions",
        {"kind": "LEG", "on_date": "2024-05-20"},
        "cases.add_intervention",
        CASE_ACTION,
    ),
    ("POST", "/cases/{r}/messages", {"text": "hello"}, "cases.reply", CASE_ACTION),
    (
        "POST",
        "/cases/{r}/event/new",
        {"title": "group hold", "persons_affected": "3"},
        "cases.new_event",
        CASE_ACTION,
    ),
    ("POST", "/cases/{r}/event", {"event_id": "{e}"}, "cases.link_event", CASE_ACTION),
    ("POST", "/cases/{r}/event/unlink", {}, "cases.unlink_event", CASE_ACTION),
    (
        "POST",
        "/cases/{r}/delete",
        {"confirm": "y"},
        "cases.delete_report",
        expect(302, 403, 303, 403, 403),
    ),
    ("GET", "/cases/events", None, "cases.events_list", CASE_PAGE),
    ("GET", "/cases/events/{e}", None, "cases.event", CASE_PAGE),
    (
        "POST",
        "/cases/events/{e}/acts",
        {"code": "DET.01", "victims": "1"},
        "cases.add_act",
        CASE_ACTION,
    ),
    ("GET", "/cases/{r}/export", None, "cases.export", CASE_PAGE),
    ("POST", "/cases/{r}/export", {"coded": "y"}, "cases.export", CASE_PAGE),
    ("GET", "/cases/team", None, "cases.team", SUPERVISOR_PAGE),
    (
        "POST",
        "/cases/team/{newcomer}/grant",
        {},
        "cases.grant",
        expect(302, 403, 303, 403, 403),
    ),
    ("GET", "/cases/audit", None, "cases.audit_log", SUPERVISOR_PAGE),
    ("GET", "/logout", None, "auth.logout", expect(302, 200, 200, 200, 200)),
    ("POST", "/logout", {}, "auth.logout", expect(302, 302, 302, 302, 302)),
]


def test_does_the_table_cover_every_staff_route_and_method(app):
    covered = {(method, endpoint) for method, _, _, endpoint, _ in TABLE}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in {"auth", "cases"}:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.endpoint) in covered, f"{method} {rule.rule} is not in the table"


def _world(app, role):
    with app.app_context():
        actor = None if role == ANON else make_staff(role=Role(role))
        spare = make_staff(role=Role.CASEWORKER)
        newcomer = make_staff(role=Role.CASEWORKER, grant=False)
        report_id = submit().report_id
        event_id = events.create_event(
            organisation_id=spare.organisation_id,
            title="an event",
            description="",
            persons_affected=2,
            actor_id=spare.user_id,
        ).id
        db.session.commit()
    client = app.test_client()
    if actor is not None:
        login(client, actor)
    values = {"r": report_id, "e": event_id, "spare": spare.user_id, "newcomer": newcomer.user_id}
    return client, values


@pytest.mark.parametrize("role", ROLES)
def test_does_each_route_answer_each_role_as_the_table_says(app, role):
    client, values = _world(app, role)
    wrong = []
    for method, path, data, _, expected in TABLE:
        url = path.format(**values)
        form = {k: v.format(**values) for k, v in (data or {}).items()}
        response = client.open(url, method=method, data=form if method == "POST" else None)
        if response.status_code != expected[role]:
            wrong.append(f"{method} {path}: {response.status_code}, expected {expected[role]}")
        if response.status_code in (302, 303) and expected[role] == 302 and role == ANON:
            location = response.headers["Location"]
            assert location.startswith("/login"), f"{method} {path} sent anonymous to {location}"
    assert wrong == []


def test_does_an_anonymous_json_client_get_401_instead_of_a_redirect(app):
    _, values = _world(app, ANON)
    client = app.test_client()
    for method, path, data, endpoint, expected in TABLE:
        if expected[ANON] != 302 or endpoint in {"auth.logout"}:
            continue
        response = client.open(
            path.format(**values),
            method=method,
            data=data if method == "POST" else None,
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 401, f"{method} {path}"
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 401


def test_does_a_json_client_of_the_wrong_role_get_a_403_problem(app):
    client, values = _world(app, OFF)
    response = client.get(f"/cases/{values['r']}", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["status"] == 403
