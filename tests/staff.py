"""Test helpers for staff pages: enrol accounts, log them in with real TOTP codes, unlock keys.

    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)           # password + TOTP, then the key passphrase for key holders

`make_staff` goes through the same services as `incident-service users create` and first-login
setup (the authenticator enrolled and the key pair made by the new person), so the accounts are
real; `login` drives the real /login and /unlock forms (fetching CSRF tokens when the app checks
them).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pyotp
from flask import Flask, current_app
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from incident_service.auth import accounts, enrolment, teams
from incident_service.constants import Role
from incident_service.models import Organisation, User, db

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class StaffAccount:
    user_id: int
    email: str
    role: Role
    organisation_id: int
    password: str
    totp_secret: str
    passphrase: str | None
    recovery_key: str | None
    one_time_password: str
    set_up: bool
    fingerprint: str | None = None


def make_staff(
    *,
    role: Role = Role.CASEWORKER,
    organisation: str = teams.DEFAULT_ORGANISATION_SLUG,
    email: str | None = None,
    setup: bool = True,
    grant: bool = True,
) -> StaffAccount:
    """Enrol a staff member (call inside an app context; commits).

    `setup=False` leaves the one-time password in place (first login still to do: no
    authenticator, no key, so no grant either); `grant=False` leaves a caseworker without the
    team key.
    """
    org = teams.ensure_organisation(slug=organisation, name=organisation)
    address = email or f"{role.value}-{secrets.token_hex(4)}@example.org"
    created = enrolment.create_user(email=address, role=role, organisation=org)
    user = created.user
    password = created.one_time_password
    secret = ""
    passphrase = recovery_key = fingerprint = None
    if setup:
        # What the person's own first login does: enrol the authenticator, then set up with a
        # code from it. The previous step's code, so the test's first login may use the current.
        secret = accounts.begin_totp_enrolment(user)
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        password = f"test password {secrets.token_hex(6)}"
        passphrase = f"test passphrase {secrets.token_hex(6)}" if role.opens_reports else None
        done = enrolment.complete_first_login(
            user=user,
            code=pyotp.TOTP(secret).at(earlier),
            new_password=password,
            confirm_password=password,
            passphrase=passphrase,
            confirm_passphrase=passphrase,
        )
        recovery_key, fingerprint = done.recovery_key, done.fingerprint
    if grant and role.opens_reports and setup:
        team_private = teams.load_bootstrap_key(org, Path(current_app.config["KEYS_DIR"]))
        assert team_private is not None, "the organisation's bootstrap key file is missing"
        teams.grant_team_key(user=user, team_private_key=team_private)
    db.session.commit()
    return StaffAccount(
        user_id=user.id,
        email=user.email,
        role=role,
        organisation_id=org.id,
        password=password,
        totp_secret=secret,
        passphrase=passphrase,
        recovery_key=recovery_key,
        one_time_password=created.one_time_password,
        set_up=setup,
        fingerprint=fingerprint,
    )


def next_code(app: Flask, account: StaffAccount) -> str:
    """A TOTP code the server has not seen used yet for this account.

    The server refuses a code used before, so two logins inside one 30-second step take the
    next step's code (accepted: one step of clock drift is tolerated). An account before its
    first login has no authenticator: its code is empty.
    """
    if not account.set_up:
        return ""
    with app.app_context():
        user = db.session.get_one(User, account.user_id)
        last = user.totp_last_counter
    totp = pyotp.TOTP(account.totp_secret)
    now = totp.timecode(dt.datetime.now(dt.UTC))
    for counter in (now, now + 1):
        if last is None or counter > last:
            return totp.generate_otp(counter)
    raise AssertionError("more than two logins of one account within 30 seconds")


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path` ("" when the app does not check CSRF)."""
    if not client.application.config.get("WTF_CSRF_ENABLED", True):
        return ""
    page = client.get(path)
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post_form(
    client: FlaskClient, path: str, data: dict[str, str], *, form_page: str | None = None
) -> TestResponse:
    """POST a form the way a browser would, with the CSRF token from the page showing it."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token})


def login(
    client: FlaskClient,
    account: StaffAccount,
    *,
    unlock: bool = True,
    code: str | None = None,
) -> TestResponse:
    """Log in with password and TOTP; for key holders, unlock the key too (unless told not to).

    Returns the last response. Asserts that the login itself was accepted.
    """
    response = post_form(
        client,
        "/login",
        {
            "email": account.email,
            "password": account.password,
            "code": code or next_code(client.application, account),
        },
    )
    assert response.status_code == 302, f"login refused for {account.email}"
    if unlock and account.set_up and account.role.opens_reports:
        assert account.passphrase is not None
        response = post_form(client, "/unlock", {"passphrase": account.passphrase})
        assert response.status_code == 302, "unlock refused"
    return response


def logged_in_client(app: Flask, account: StaffAccount, *, unlock: bool = True) -> FlaskClient:
    client = app.test_client()
    login(client, account, unlock=unlock)
    return client


def case_priority(report_id: str) -> int:
    """A report's priority as the queue sees it (inside an app context): opened with the team
    key, since no priority is stored in the clear."""
    from incident_service.cases import triage
    from incident_service.models import Report

    report = db.session.get_one(Report, report_id)
    organisation = db.session.get_one(Organisation, report.organisation_id)
    team_private = teams.load_bootstrap_key(organisation, Path(current_app.config["KEYS_DIR"]))
    assert team_private is not None, "the organisation's bootstrap key file is missing"
    return triage.case_priority(report=report, team_key=team_private)
