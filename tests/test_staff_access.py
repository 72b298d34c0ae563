"""Every staff route × every role (and anonymous) × the status each must get.

Separation of duties: only caseworkers and supervisors open reports, only supervisors grant keys
and read the audit log, admins manage accounts and read no report, officials see published
summaries and none of the rest. Every URL rule of the app is either in a table here or named in
`OUT_OF_SCOPE` with the reason, so a new staff page cannot be added without saying who may see
it.
"""

from __future__ import annotations

import pytest

from incident_service.cases import events
from incident_service.constants import ReleaseStatus, Role
from incident_service.models import Release, User, db
from incident_service.releases.lifecycle import generate_release, publish_release
from tests.factories import submit
from tests.release_helpers import TODAY
from tests.staff import login, make_staff
from tests.statistics_factory import insert_records

ANON, CW, SUP, OFF, ADM = "anonymous", "caseworker", "supervisor", "official", "admin"
ROLES = [ANON, CW, SUP, OFF, ADM]


def expect(anon, cw, sup, off, adm):
    return dict(zip(ROLES, (anon, cw, sup, off, adm), strict=True))


CASE_PAGE = expect(302, 200, 200, 403, 403)
CASE_ACTION = expect(302, 303, 303, 403, 403)
KEY_PAGE = expect(302, 200, 200, 403, 403)
SUPERVISOR_PAGE = expect(302, 403, 200, 403, 403)
ADMIN_PAGE = expect(302, 403, 403, 403, 200)
# Published summaries: officials, supervisors and admins; caseworkers work on cases only.
SUMMARY_PAGE = expect(302, 403, 200, 200, 200)
# Drafts exist for supervisors only; anyone else who may read summaries gets 404, as if the
# draft did not exist.
DRAFT_PAGE = expect(302, 403, 200, 404, 404)
# Asking for, publishing and discarding drafts: supervisors only (redirect back to the page).
DRAFT_ACTION = expect(302, 403, 302, 403, 403)
# The same, answered with POST/redirect/GET (303): preparing a draft, confirming publication.
DRAFT_PRG = expect(302, 403, 303, 403, 403)
# The supervisor's steps around a draft: where its preparation stands, confirming publication.
REVIEW_PAGE = expect(302, 403, 200, 403, 403)
TASK_ID = "0b7f4e3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"

# Endpoints that are not staff pages, and where their access is tested instead.
OUT_OF_SCOPE = {
    "static",  # stylesheets and icons, public
    "favicon",  # the site's icon at the address browsers ask for, public
    "health.healthz",  # monitoring; details need HEALTHZ_TOKEN (test_health.py)
    # The reporter's pages: no account, a receipt instead (test_reporter_*.py).
    "reporter.index",
    "reporter.report",
    "reporter.report_full",
    "reporter.details_start",  # steps after sending, reached only from the receipt page
    "reporter.details",  # (test_reporter_quick.py)
    "reporter.status",
    "reporter.exit_page",
    # The release signing key, public by design (test_summaries_views.py).
    "summaries_public.signing_key_pem",
    "summaries_public.signing_key_json",
    "summaries_public.dossier_key_pem",
}
# The JSON API for partner apps and officials' tools: receipts or API tokens, not staff
# sessions (test_api_*.py, test_summaries_api.py).
OUT_OF_SCOPE_PREFIXES = ("api.",)

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
    # Evidence: the role gate answers before the file is looked up, so an unknown file id shows
    # it (caseworkers and supervisors reach the lookup and get 404; test_evidence_case.py
    # opens real files).
    (
        "GET",
        "/cases/{r}/evidence/nosuchfile/working",
        None,
        "cases.evidence_working",
        expect(302, 404, 404, 403, 403),
    ),
    (
        "POST",
        "/cases/{r}/evidence/nosuchfile/original",
        {},
        "cases.evidence_original",
        expect(302, 404, 404, 403, 403),
    ),
    ("GET", "/cases/{r}/dossier", None, "cases.dossier", CASE_PAGE),
    # Nothing ticked: the form comes back with its reason.
    ("POST", "/cases/{r}/dossier", {}, "cases.dossier", expect(302, 400, 400, 403, 403)),
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
    # Summaries: {p} a published release, {pf} one of its files.
    ("GET", "/summaries/", None, "summaries.index", SUMMARY_PAGE),
    ("GET", "/summaries/{p}", None, "summaries.show", SUMMARY_PAGE),
    ("GET", "/summaries/{p}/files/{pf}", None, "summaries.download", SUMMARY_PAGE),
    ("GET", "/summaries/{p}/release.zip", None, "summaries.download_all", SUMMARY_PAGE),
    # Last: logging out ends the session the rows above use.
    ("GET", "/logout", None, "auth.logout", expect(302, 200, 200, 200, 200)),
    ("POST", "/logout", {}, "auth.logout", expect(302, 302, 302, 302, 302)),
]

# Draft rows: supervisors only (admins manage accounts and never see unpublished figures). {d} is
# a draft (a fresh one for each role where the row changes it), {df} one of its files.
DRAFT_TABLE = [
    ("GET", "/summaries/{d}", None, "summaries.show", DRAFT_PAGE),
    ("GET", "/summaries/{d}/files/{df}", None, "summaries.download", DRAFT_PAGE),
    ("GET", "/summaries/{d}/release.zip", None, "summaries.download_all", DRAFT_PAGE),
    ("POST", "/summaries/generate", {"period": "2024-09"}, "summaries.generate", DRAFT_PRG),
    ("GET", "/summaries/preparing/" + TASK_ID, None, "summaries.preparing", REVIEW_PAGE),
    ("GET", "/summaries/{d}/publish", None, "summaries.confirm_publish", REVIEW_PAGE),
    (
        "POST",
        "/summaries/{d}/publish",
        {"confirm": "publish"},
        "summaries.publish",
        DRAFT_PRG,
    ),
    ("POST", "/summaries/{d}/discard", {}, "summaries.discard", DRAFT_ACTION),
]


def test_does_the_table_cover_every_route_of_the_app(app):
    """A rule without a row (or a reason in OUT_OF_SCOPE) fails here, whatever its blueprint."""
    covered = {(method, endpoint) for method, _, _, endpoint, _ in TABLE}
    covered |= {(method, endpoint) for method, _, _, endpoint, _ in DRAFT_TABLE}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OUT_OF_SCOPE or rule.endpoint.startswith(OUT_OF_SCOPE_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.endpoint) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == [], "routes with no row in the access table"


def _releases():
    """A published release and a draft (inside an app context); their ids and a file of each."""
    insert_records(40, months=["2024-10", "2024-11"], seed=61)
    published = generate_release(period="2024-11", today=TODAY)
    draft = generate_release(period="2024-10", today=TODAY)
    publisher = make_staff(role=Role.SUPERVISOR)
    publish_release(published.id, actor=db.session.get_one(User, publisher.user_id))
    db.session.commit()
    return {
        "p": published.id,
        "pf": next(f.name for f in published.files if f.name.endswith(".csv")),
        "d": draft.id,
        "df": next(f.name for f in draft.files if f.name.endswith(".csv")),
    }


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
        releases = _releases()
    client = app.test_client()
    if actor is not None:
        login(client, actor)
    values = {
        "r": report_id,
        "e": event_id,
        "spare": spare.user_id,
        "newcomer": newcomer.user_id,
        **releases,
    }
    return client, values


def _check(client, role, method, path, data, expected, values):
    url = path.format(**values)
    form = {k: v.format(**values) for k, v in (data or {}).items()}
    response = client.open(url, method=method, data=form if method == "POST" else None)
    if response.status_code in (302, 303) and expected[role] == 302 and role == ANON:
        location = response.headers["Location"]
        assert location.startswith("/login"), f"{method} {path} sent anonymous to {location}"
    if response.status_code != expected[role]:
        return f"{role} {method} {path}: {response.status_code}, expected {expected[role]}"
    return None


@pytest.mark.usefixtures("no_pdf_layout")
@pytest.mark.parametrize("role", ROLES)
def test_does_each_route_answer_each_role_as_the_table_says(app, role):
    client, values = _world(app, role)
    wrong = []
    for method, path, data, _, expected in TABLE:
        wrong.append(_check(client, role, method, path, data, expected, values))
    assert [line for line in wrong if line] == []


@pytest.mark.usefixtures("no_pdf_layout")
@pytest.mark.parametrize(("method", "path", "data", "endpoint", "expected"), DRAFT_TABLE)
def test_does_each_draft_route_answer_each_role_as_the_table_says(
    app, method, path, data, endpoint, expected
):
    with app.app_context():
        values = _releases()
        accounts = {role: make_staff(role=Role(role)) for role in ROLES if role != ANON}
    wrong = []
    for role in ROLES:
        client = app.test_client()
        if role != ANON:
            login(client, accounts[role])
        if method == "POST" and "{d}" in path:
            # Publishing or discarding changes the draft: each role gets a fresh one.
            with app.app_context():
                values["d"] = generate_release(
                    period="2024-10",
                    today=TODAY,
                    parameters={"threshold": 11, "protection_width": 11},
                ).id
                db.session.commit()
        wrong.append(_check(client, role, method, path, data, expected, values))
        if method == "POST" and "{d}" in path:
            with app.app_context():
                left = db.session.get(Release, values["d"])
                if left is not None and left.status == ReleaseStatus.DRAFT.value:
                    db.session.delete(left)
                    db.session.commit()
    assert [line for line in wrong if line] == []


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
