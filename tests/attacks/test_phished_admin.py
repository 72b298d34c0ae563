"""Attack: a phished admin account takes over a new caseworker's account and asks for the team key.

Promise (design §10): a phished staff account reveals what its role may see, never what another
role may see, and never a team key grant without the supervisor confirming the holder.

The attacker holds an admin's session. They create an account for a "new colleague", which
hands them its one-time password; they log in with it themselves, enrol their own authenticator
app on the setup page and choose their own password and key passphrase. Then they ask a
supervisor to grant "the new colleague" the team key, in one uninformed click. The grant page
asks for the fingerprint that the colleague reads out from their own screen; the attacker's
fingerprint is not one the real colleague can read out (they cannot even log in any more), so
without it, or with any other number, the grant is refused and the attacker opens no report.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from incident_service.constants import Role
from incident_service.models import AuditEntry, TeamKeyGrant, User, db
from tests.factories import submit
from tests.staff import login, make_staff

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

VICTIM = "new.colleague@example.org"
SECRET_TEXT = "SYNTHETIC held at Sakharovo, the brother has the passport"


def _grants_of(app, user_id):
    with app.app_context():
        return db.session.scalars(select(TeamKeyGrant).where(TeamKeyGrant.user_id == user_id)).all()


def _attacker_takes_the_account(app, admin_client):
    """What the phished admin can do alone: create, log in, set up. Returns the attacker's
    client (logged in as the new account), its id and the fingerprint setup showed them."""
    created = admin_client.post("/accounts", data={"email": VICTIM, "role": "caseworker"})
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    # The admin sees a one-time password and no second factor at all.
    assert "otpauth" not in page and "totp" not in page.lower()
    one_time = page.split("<code>")[1].split("</code>")[0]

    attacker = app.test_client()
    first = attacker.post("/login", data={"email": VICTIM, "password": one_time, "code": ""})
    assert first.headers["Location"] == "/login/setup"
    setup_page = attacker.get("/login/setup").get_data(as_text=True)
    secret = setup_page.split('<code id="totp-secret">')[1].split("</code>")[0]
    done = attacker.post(
        "/login/setup",
        data={
            "code": pyotp.TOTP(secret).now(),
            "password": "attacker password 1",
            "confirm_password": "attacker password 1",
            "passphrase": "attacker passphrase 1",
            "confirm_passphrase": "attacker passphrase 1",
        },
    )
    assert done.status_code == 200
    fingerprint = re.search(
        r'<code id="key-fingerprint">([0-9 ]+)</code>', done.get_data(as_text=True)
    ).group(1)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == VICTIM))
    return attacker, user_id, fingerprint, one_time


def test_is_a_grant_to_an_account_an_admin_set_up_refused_without_the_holders_fingerprint(app):
    with app.app_context():
        admin = make_staff(role=Role.ADMIN)
        supervisor = make_staff(role=Role.SUPERVISOR)
        filed = submit(narrative=SECRET_TEXT)
    admin_client = app.test_client()
    login(admin_client, admin)
    attacker, victim_id, attacker_fingerprint, one_time = _attacker_takes_the_account(
        app, admin_client
    )
    # The attacker holds a set-up account, but no team key: no report opens.
    locked_out = attacker.get(f"/cases/{filed.report_id}")
    assert locked_out.status_code == 403
    assert SECRET_TEXT not in locked_out.get_data(as_text=True)

    # The real colleague, handed the same one-time password, finds it no longer works, so
    # they have no fingerprint to read out (and a reason to raise the alarm).
    real = app.test_client()
    refused = real.post("/login", data={"email": VICTIM, "password": one_time, "code": ""})
    assert refused.status_code == 200 and "did not work" in refused.get_data(as_text=True)

    # The supervisor is asked to grant "the new colleague" and clicks without a fingerprint,
    # then types one someone other than the holder passed on ("the colleague's", made up).
    boss = app.test_client()
    login(boss, supervisor)
    team_page = boss.get("/cases/team").get_data(as_text=True)
    assert VICTIM in team_page
    assert attacker_fingerprint not in team_page  # the page never offers the number to copy
    grant_url = f"/cases/team/{victim_id}/grant"
    missing = boss.post(grant_url, data={}, follow_redirects=True)
    assert "reads out to you from their own screen" in missing.get_data(as_text=True)
    wrong = boss.post(grant_url, data={"fingerprint": "4821 0937 5512 0664"}, follow_redirects=True)
    assert "does not match the key of" in wrong.get_data(as_text=True)
    assert _grants_of(app, victim_id) == []
    still_locked = attacker.get(f"/cases/{filed.report_id}")
    assert still_locked.status_code == 403
    assert SECRET_TEXT not in still_locked.get_data(as_text=True)

    # Both refusals are in the audit trail for whoever investigates.
    with app.app_context():
        refusals = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "key.grant_refused")
        ).all()
    assert len(refusals) == 2
    assert any("fingerprint_missing" in r for r in refusals)
    assert any("fingerprint_mismatch" in r for r in refusals)


def test_does_an_otp_session_opened_by_someone_else_end_when_the_owner_sets_up(app):
    """The admin logs in with the one-time password first but leaves setup to the colleague,
    hoping to ride along on the open session once the colleague is granted the key."""
    with app.app_context():
        admin = make_staff(role=Role.ADMIN)
        supervisor = make_staff(role=Role.SUPERVISOR)
        filed = submit(narrative=SECRET_TEXT)
    admin_client = app.test_client()
    login(admin_client, admin)
    page = admin_client.post("/accounts", data={"email": VICTIM, "role": "caseworker"})
    one_time = page.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    lurker = app.test_client()
    lurker.post("/login", data={"email": VICTIM, "password": one_time, "code": ""})
    assert lurker.get("/login/setup").status_code == 200

    owner = app.test_client()
    owner.post("/login", data={"email": VICTIM, "password": one_time, "code": ""})
    setup_page = owner.get("/login/setup").get_data(as_text=True)
    secret = setup_page.split('<code id="totp-secret">')[1].split("</code>")[0]
    done = owner.post(
        "/login/setup",
        data={
            "code": pyotp.TOTP(secret).now(),
            "password": "owner password 12",
            "confirm_password": "owner password 12",
            "passphrase": "owner passphrase 12",
            "confirm_passphrase": "owner passphrase 12",
        },
    )
    fingerprint = re.search(
        r'<code id="key-fingerprint">([0-9 ]+)</code>', done.get_data(as_text=True)
    ).group(1)
    boss = app.test_client()
    login(boss, supervisor)
    with app.app_context():
        victim_id = db.session.scalar(select(User.id).where(User.email == VICTIM))
    granted = boss.post(f"/cases/team/{victim_id}/grant", data={"fingerprint": fingerprint})
    assert granted.status_code == 303 and len(_grants_of(app, victim_id)) == 1

    assert SECRET_TEXT in owner.get(f"/cases/{filed.report_id}").get_data(as_text=True)
    after = lurker.get(f"/cases/{filed.report_id}")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
