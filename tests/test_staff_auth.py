"""Staff log-in: two factors, one generic refusal, throttling, replayed codes, first-login setup,
recovery, sessions that end, and keys that neither the database nor the cookie opens alone."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from urllib.parse import urlsplit

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from incident_service.auth import accounts, sessions
from incident_service.auth.access import safe_next
from incident_service.constants import Role
from incident_service.models import AuditEntry, StaffSession, User, db, utcnow
from tests.staff import login, make_staff, next_code

GENERIC = "Those details did not work"


def _login_post(client, account, *, password=None, code=None, email=None):
    return client.post(
        "/login",
        data={
            "email": email or account.email,
            "password": password if password is not None else account.password,
            "code": code if code is not None else next_code(client.application, account),
        },
    )


def _actions(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_can_a_caseworker_log_in_with_password_and_totp_and_reach_the_queue(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    response = _login_post(client, worker)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/unlock")
    response = client.post("/unlock", data={"passphrase": worker.passphrase})
    assert response.status_code == 302
    page = client.get("/cases/")
    assert page.status_code == 200
    assert "Queue" in page.get_data(as_text=True)


def test_do_all_login_failures_read_the_same(app):
    """An unknown address, a wrong password, a wrong code and a malformed code look alike."""
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    wrong_code = str((int(next_code(app, worker)) + 1) % 1_000_000).zfill(6)
    attempts = [
        _login_post(client, worker, email="nobody@example.org"),
        _login_post(client, worker, password="not the password at all"),
        _login_post(client, worker, code=wrong_code),
        _login_post(client, worker, code="abcdef"),
    ]
    # Only the email as typed is echoed back into the form.
    bodies = {
        re.sub(r'type="email" value="[^"]*"', "", attempt.get_data(as_text=True))
        for attempt in attempts
    }
    assert {attempt.status_code for attempt in attempts} == {200}
    assert len(bodies) == 1
    assert GENERIC in bodies.pop()
    reasons = [json.loads(entry.detail)["reason"] for entry in _actions(app, "login.failure")]
    assert reasons == ["unknown_account", "wrong_password", "wrong_code", "wrong_code"]


def test_is_a_totp_code_refused_the_second_time(app):
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    code = next_code(app, worker)
    assert _login_post(client, worker, code=code).status_code == 302
    client.post("/logout")
    replay = _login_post(client, worker, code=code)
    assert replay.status_code == 200
    assert GENERIC in replay.get_data(as_text=True)
    assert json.loads(_actions(app, "login.failure")[-1].detail)["reason"] == "reused_code"
    # A fresh code still works: the replay did not lock the account out.
    assert _login_post(client, worker).status_code == 302


def test_are_repeated_failures_throttled_even_when_the_details_are_then_right(app):
    with app.app_context():
        worker = make_staff(role=Role.SUPERVISOR)
    client = app.test_client()
    for _ in range(accounts.FAILURES_BEFORE_THROTTLE):
        assert _login_post(client, worker, password="guess guess guess").status_code == 200
    right = _login_post(client, worker)
    assert right.status_code == 200
    assert GENERIC in right.get_data(as_text=True)
    assert json.loads(_actions(app, "login.failure")[-1].detail)["reason"] == "throttled"
    with app.app_context():
        user = db.session.get_one(User, worker.user_id)
        assert user.locked_until is not None and user.locked_until > utcnow()
        # The wait is over.
        user.locked_until = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    assert _login_post(client, worker).status_code == 302
    with app.app_context():
        assert db.session.get_one(User, worker.user_id).failed_logins == 0


def test_does_the_throttle_grow_with_each_further_failure():
    waits = [accounts._throttle_seconds(n) for n in range(5, 12)]
    assert waits == sorted(waits)
    assert waits[0] == accounts.THROTTLE_BASE_SECONDS
    assert waits[-1] <= accounts.THROTTLE_MAX_SECONDS


def _setup_secret(page: str) -> str:
    return page.split('<code id="totp-secret">')[1].split("</code>")[0]


def _setup(client, code, *, password="a long new password", passphrase=None):
    passphrase = passphrase or "several words make a passphrase"
    return client.post(
        "/login/setup",
        data={
            "code": code,
            "password": password,
            "confirm_password": password,
            "passphrase": passphrase,
            "confirm_passphrase": passphrase,
        },
    )


def test_does_first_login_enrol_the_app_set_new_secrets_and_show_the_recovery_key_once(app):
    with app.app_context():
        newcomer = make_staff(role=Role.CASEWORKER, setup=False)
    client = app.test_client()
    # The one-time password alone, no code: the authenticator is enrolled next.
    response = _login_post(client, newcomer, code="")
    assert response.headers["Location"] == "/login/setup"
    # Nothing else is reachable before setup.
    assert client.get("/cases/").headers["Location"] == "/login/setup"
    totp = pyotp.TOTP(_setup_secret(client.get("/login/setup").get_data(as_text=True)))
    assert _setup(client, totp.now(), password="short", passphrase="p" * 20).status_code == 400
    same = _setup(client, totp.now(), passphrase="a long new password")
    assert same.status_code == 400 and "must differ" in same.get_data(as_text=True)
    wrong_code = _setup(client, str((int(totp.now()) + 1) % 1_000_000).zfill(6))
    assert wrong_code.status_code == 400
    assert "authenticator app shows now" in wrong_code.get_data(as_text=True)
    done = _setup(client, totp.now())
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    assert "recovery key" in page.lower()
    recovery = page.split("<code>")[1].split("</code>")[0]
    assert len(recovery.replace("-", "")) == 32
    fingerprint = page.split('<code id="key-fingerprint">')[1].split("</code>")[0]
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", fingerprint)
    # Shown once: the setup page now sends the user on, and the key is stored nowhere readable.
    assert client.get("/login/setup").status_code == 302
    with app.app_context():
        user = db.session.get_one(User, newcomer.user_id)
        assert not user.must_change_password
        stored = b"".join(
            value for value in (user.key_private_wrapped, user.key_private_recovery) if value
        )
        assert recovery.encode() not in stored
        assert newcomer.one_time_password not in user.password_hash
    # The key was made in this session, so it is unlocked straight away; no team key yet, and
    # the page says which fingerprint to read to a supervisor.
    waiting = client.get("/cases/")
    assert waiting.status_code == 403 and fingerprint in waiting.get_data(as_text=True)
    client.post("/logout")
    # The one-time password no longer works; the new password with the enrolled app does.
    assert GENERIC in _login_post(client, newcomer, code="").get_data(as_text=True)
    newcomer.password = "a long new password"
    newcomer.passphrase = "several words make a passphrase"
    newcomer.totp_secret = totp.secret
    newcomer.set_up = True
    login(client, newcomer)
    assert client.get("/cases/").status_code == 403  # still waiting for the grant


def test_can_a_forgotten_passphrase_be_replaced_with_the_recovery_key(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker, unlock=False)
    wrong = client.post("/unlock", data={"passphrase": "not my passphrase"})
    assert "did not unlock" in wrong.get_data(as_text=True)
    bad_recovery = client.post(
        "/unlock/recover",
        data={
            "recovery_key": "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA",
            "passphrase": "a brand new passphrase",
            "confirm_passphrase": "a brand new passphrase",
        },
    )
    assert "did not open" in bad_recovery.get_data(as_text=True)
    recovered = client.post(
        "/unlock/recover",
        data={
            "recovery_key": worker.recovery_key.lower(),
            "passphrase": "a brand new passphrase",
            "confirm_passphrase": "a brand new passphrase",
        },
    )
    assert recovered.status_code == 302
    assert client.get("/cases/").status_code == 200
    client.post("/logout")
    worker.passphrase = "a brand new passphrase"
    login(client, worker)
    assert client.get("/cases/").status_code == 200


def test_does_logout_end_the_session_on_the_server_so_an_old_cookie_is_useless(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    stolen = client.get_cookie("s").value
    response = client.post("/logout")
    assert response.status_code == 302
    assert "cookies" in response.headers["Clear-Site-Data"]
    with app.app_context():
        assert sessions.sessions_of(worker.user_id) == []
    replay = app.test_client()
    replay.set_cookie("s", stolen)
    assert replay.get("/cases/").headers["Location"].startswith("/login")


def test_does_an_idle_session_expire(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    assert client.get("/cases/").status_code == 200
    with app.app_context():
        for row in sessions.sessions_of(worker.user_id):
            row.last_seen_at = utcnow() - dt.timedelta(
                minutes=app.config["SESSION_IDLE_MINUTES"] + 1
            )
        db.session.commit()
    assert client.get("/cases/").headers["Location"].startswith("/login")
    with app.app_context():
        assert sessions.sessions_of(worker.user_id) == []


def test_can_neither_the_session_row_nor_the_cookie_alone_open_the_keys(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    cookie = app.session_interface.get_signing_serializer(app).loads(client.get_cookie("s").value)
    unlock_key = cookie["staff_unlock"]
    with app.app_context():
        (row,) = sessions.sessions_of(worker.user_id)
        # The row: a token hash and a sealed blob, no key material in the clear.
        assert row.id != cookie["_user_id"] and len(row.id) == 64
        keys = sessions.load_unlocked_keys(staff_session=row, unlock_key=unlock_key)
        assert keys is not None and keys.team_key is not None
        assert keys.team_key.private_bytes not in row.unlocked_keys
        assert keys.user_key.private_bytes not in row.unlocked_keys
        # The row with any other key opens nothing.
        other = sessions.start_session(user_id=worker.user_id).secrets.unlock_key
        assert sessions.load_unlocked_keys(staff_session=row, unlock_key=other) is None
        db.session.rollback()
        # The cookie without the row opens nothing.
        db.session.delete(row)
        db.session.commit()
    assert client.get("/cases/").headers["Location"].startswith("/login")


def test_does_the_session_cookie_carry_no_fingerprint_of_the_client(app):
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    login(client, worker)
    cookie = app.session_interface.get_signing_serializer(app).loads(client.get_cookie("s").value)
    assert cookie.get("_id", "") == ""


def test_are_logins_audited_without_address_or_user_agent(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    headers = {"User-Agent": "DistinctiveAgent/9.9", "X-Forwarded-For": "203.0.113.77"}
    client.post(
        "/login",
        data={"email": worker.email, "password": "wrong wrong wrong", "code": "000000"},
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.23"},
    )
    client.post(
        "/login",
        data={"email": worker.email, "password": worker.password, "code": next_code(app, worker)},
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.23"},
    )
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry)))
        actions = [entry.action for entry in entries]
        assert "login.failure" in actions and "login.success" in actions
        dump = " ".join(f"{e.action} {e.object_id} {e.detail}" for e in entries)
        for trace in ("198.51.100.23", "203.0.113.77", "DistinctiveAgent"):
            assert trace not in dump


def test_is_the_totp_secret_sealed_in_the_database(app):
    with app.app_context():
        worker = make_staff(role=Role.ADMIN)
        user = db.session.get_one(User, worker.user_id)
        assert worker.totp_secret.encode() not in user.totp_secret_sealed
        # Moved to another user's row, the sealed secret does not open.
        other = make_staff(role=Role.ADMIN)
        other_user = db.session.get_one(User, other.user_id)
        other_user.totp_secret_sealed = user.totp_secret_sealed
        with pytest.raises(Exception, match="authentication"):
            accounts.totp_secret(other_user)


def test_does_a_deactivated_account_lose_its_open_sessions(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        admin = make_staff(role=Role.ADMIN)
    worker_client = app.test_client()
    login(worker_client, worker)
    admin_client = app.test_client()
    login(admin_client, admin)
    response = admin_client.post(f"/accounts/{worker.user_id}/deactivate")
    assert response.status_code == 302
    assert worker_client.get("/cases/").headers["Location"].startswith("/login")
    assert GENERIC in _login_post(app.test_client(), worker).get_data(as_text=True)


def test_does_an_admin_who_enrols_someone_see_a_one_time_password_and_never_a_totp_secret(app):
    with app.app_context():
        admin = make_staff(role=Role.ADMIN)
    client = app.test_client()
    login(client, admin)
    created = client.post("/accounts", data={"email": "New.Person@Example.org", "role": "official"})
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    one_time = page.split("<code>")[1].split("</code>")[0]
    assert "otpauth" not in page and "secret" not in page.lower()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
        assert user.totp_secret_sealed == b""  # no second factor exists yet to be shown
    newcomer = app.test_client()
    response = newcomer.post(
        "/login", data={"email": "new.person@example.org", "password": one_time, "code": ""}
    )
    assert response.headers["Location"] == "/login/setup"
    assert "otpauth://" in newcomer.get("/login/setup").get_data(as_text=True)


def test_is_a_login_redirect_target_on_another_site_ignored(app):
    with app.app_context():
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    response = client.post(
        "/login?next=//evil.example/steal",
        data={
            "email": official.email,
            "password": official.password,
            "code": next_code(app, official),
        },
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    email=st.text(max_size=300),
    password=st.text(max_size=100),
    code=st.text(max_size=20),
)
def test_does_any_typed_login_input_end_in_the_form_and_never_a_session(app, email, password, code):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password, "code": code})
    assert response.status_code in (200, 400)
    with app.app_context():
        assert db.session.scalar(select(StaffSession).limit(1)) is None


def test_is_one_code_accepted_only_once_when_two_logins_race(app):
    with app.app_context():
        worker = make_staff(role=Role.OFFICIAL)
    code = next_code(app, worker)
    barrier = threading.Barrier(4)
    statuses = []

    def attempt():
        client = app.test_client()
        barrier.wait()
        statuses.append(_login_post(client, worker, code=code).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 200, 200, 302]
    with app.app_context():
        assert len(sessions.sessions_of(worker.user_id)) == 1


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/steal",
        "/\r/evil.example",
        "/\n/evil.example",
        "/\t\t/evil.example",
        "/ /evil.example",
        "/\\evil.example",
        "/\x00/evil.example",
        "/\u200b/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
    ],
)
def test_does_a_next_target_that_a_browser_reads_as_another_site_land_at_home(app, target):
    """Browsers drop tab, CR and LF inside URLs: "/<tab>/evil.example" becomes "//evil.example"."""
    with app.app_context():
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={
            "email": official.email,
            "password": official.password,
            "code": next_code(app, official),
        },
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil.example" not in location and "javascript" not in location
    assert location.startswith("/") and not location.startswith("//")


def test_is_a_next_target_on_this_site_still_followed(app):
    with app.app_context():
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    response = client.post(
        "/login?next=/summaries/%3Fx%3D1",
        data={
            "email": official.email,
            "password": official.password,
            "code": next_code(app, official),
        },
    )
    assert response.headers["Location"] == "/summaries/?x=1"


@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("/\\\t\r\n :.@?#%ab")),
            st.characters(),
        ),
        max_size=40,
    )
)
def test_does_no_accepted_next_target_lead_off_the_site(target):
    accepted = safe_next(target)
    if accepted is None:
        return
    as_browser_reads_it = re.sub(r"[\t\r\n]", "", accepted).strip()
    assert accepted.startswith("/")
    assert not as_browser_reads_it.startswith("//")
    assert "\\" not in as_browser_reads_it
    parts = urlsplit(as_browser_reads_it)
    assert parts.scheme == "" and parts.netloc == ""
