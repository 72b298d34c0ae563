"""Is a staff session's expiry checked on every request, not only when someone logs in?

The beat's purge (`incident.sessions.purge`, every minute) removes expired rows for good; these
tests show that between two purges an expired session already opens nothing: each request
looks its row up, checks the idle and the absolute limit, and deletes it when either is past.
"""

from __future__ import annotations

import datetime as dt

import pytest

from incident_service.auth import sessions
from incident_service.constants import Role
from incident_service.models import db, utcnow
from tests.staff import login, make_staff


def _age_session(app, user_id, *, idle=None, age=None):
    with app.app_context():
        for row in sessions.sessions_of(user_id):
            if idle is not None:
                row.last_seen_at = utcnow() - idle
            if age is not None:
                row.created_at = utcnow() - age
        db.session.commit()


@pytest.mark.parametrize(
    ("idle", "age"),
    [
        (dt.timedelta(minutes=30, seconds=2), None),  # idle limit passed, nobody logged in
        (None, dt.timedelta(hours=sessions.SESSION_MAX_HOURS, seconds=1)),  # busy all day
    ],
    ids=["idle", "absolute"],
)
def test_is_an_expired_session_refused_and_deleted_on_its_next_request(app, idle, age):
    app.config["SESSION_IDLE_MINUTES"] = 30
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    assert client.get("/cases/").status_code == 200
    _age_session(app, worker.user_id, idle=idle, age=age)
    as_json = client.get("/cases/", headers={"Accept": "application/json"})
    assert as_json.status_code == 401
    with app.app_context():
        assert sessions.sessions_of(worker.user_id) == []
    assert client.get("/cases/").headers["Location"].startswith("/login")


def test_does_a_session_just_inside_its_idle_limit_still_work(app):
    app.config["SESSION_IDLE_MINUTES"] = 30
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    _age_session(app, worker.user_id, idle=dt.timedelta(minutes=29))
    assert client.get("/cases/").status_code == 200
