"""Attack: the cookie from an office computer, and later a copy of the database.

Promise (design §2): a caseworker's unlocked keys are kept server-side encrypted under a key that
lives only in their session cookie, so that neither the store nor the cookie alone can decrypt;
and a session that has ended is gone.

A caseworker unlocks their key on a shared office computer and walks away. Someone copies the
browser's cookie (it holds the session's unlock key). Nobody logs in afterwards, so no login
clears old sessions. Weeks later the same person obtains a copy of the database and tries the
cookie's key on every sealed blob in `staff_sessions`, offline, looking for the team key. The
session expired after `SESSION_IDLE_MINUTES`; within a minute of that the beat's purge must
have deleted its row, so there is nothing left to open.
"""

from __future__ import annotations

import datetime as dt

import pytest

from incident_service.auth import sessions
from incident_service.auth.access import SESSION_UNLOCK_KEY
from incident_service.constants import Role
from incident_service.models import StaffSession, db, utcnow
from tests.attacks.dumps import database_dump
from tests.staff import login, make_staff
from workers.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def _cookie_unlock_key(app, client) -> str:
    """What the attacker copies from the browser profile."""
    cookie = client.get_cookie("s").value
    return app.session_interface.get_signing_serializer(app).loads(cookie)[SESSION_UNLOCK_KEY]


def _team_keys_opened(app, dump, unlock_key) -> list[object]:
    """The attacker's offline search: every sealed blob of the dump, opened with the cookie's
    key and the row's own binding (which the row's id gives away)."""
    opened = []
    with app.app_context():
        for row in dump["staff_sessions"]:
            if not row["unlocked_keys"]:
                continue
            detached = StaffSession(id=row["id"], unlocked_keys=row["unlocked_keys"])
            keys = sessions.load_unlocked_keys(staff_session=detached, unlock_key=unlock_key)
            if keys is not None and keys.team_key is not None:
                opened.append(keys.team_key)
    return opened


def _scheduled_purge() -> tuple[str, float]:
    """The beat entry that purges sessions: its task name and its period in seconds."""
    for entry in BEAT_SCHEDULE.values():
        if "sessions" in entry["task"]:
            return entry["task"], float(entry["schedule"])
    raise AssertionError("the beat schedule has no session purge")


def test_is_an_expired_sessions_team_key_gone_from_the_database_within_a_minute(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    office = app.test_client()
    login(office, worker)
    assert office.get("/cases/").status_code == 200  # the team key is in the session row
    stolen_key = _cookie_unlock_key(app, office)
    with app.app_context():
        engine = db.engine
    # While the session lives, cookie and row together do open the team key: the threat.
    assert len(_team_keys_opened(app, database_dump(engine), stolen_key)) == 1

    # The caseworker walked away; the idle limit passed a moment ago. Nobody logs in.
    with app.app_context():
        idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=1)
        for row in sessions.sessions_of(worker.user_id):
            row.last_seen_at = utcnow() - idle
        db.session.commit()

    # The beat sends its purge at least once a minute; the worker runs it.
    task_name, period = _scheduled_purge()
    assert period <= 60
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    celery.tasks[task_name].apply(throw=True)

    dump = database_dump(engine)
    assert dump["staff_sessions"] == []
    assert _team_keys_opened(app, dump, stolen_key) == []


def test_does_the_purge_leave_live_sessions_alone(app):
    with app.app_context():
        active = make_staff(role=Role.CASEWORKER)
    desk = app.test_client()
    login(desk, active)
    with app.app_context():
        assert sessions.delete_expired_sessions() == 0
    assert desk.get("/cases/").status_code == 200
