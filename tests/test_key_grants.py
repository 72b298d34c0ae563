"""Granting the team key to a confirmed holder: key fingerprints people read out and type, the
supervisor's grant page and the operator's `users grant`, and what `users create` prints."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from incident_service.constants import Role
from incident_service.crypto import RecipientPrivateKey, SuiteId, fingerprint_matches
from incident_service.crypto import key_fingerprint as fingerprint_of
from incident_service.models import TeamKeyGrant, db
from tests.staff import login, make_staff

KEY = RecipientPrivateKey.generate(SuiteId.X25519).public


def test_is_a_fingerprint_four_groups_of_four_digits_and_the_same_every_time():
    shown = fingerprint_of(KEY)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", shown)
    assert fingerprint_of(KEY) == shown


def test_do_two_keys_or_two_suites_get_different_fingerprints():
    other = RecipientPrivateKey.generate(SuiteId.X25519).public
    hybrid = RecipientPrivateKey.generate(SuiteId.MLKEM768_X25519).public
    assert len({fingerprint_of(KEY), fingerprint_of(other), fingerprint_of(hybrid)}) == 3


@pytest.mark.parametrize("separator", [" ", "-", "", "  ", ".", "\u00a0"])
def test_is_a_fingerprint_accepted_however_its_groups_are_separated(separator):
    digits = fingerprint_of(KEY).split(" ")
    assert fingerprint_matches(KEY, separator.join(digits))
    assert fingerprint_matches(KEY, f"  {separator.join(digits)} ")


def test_are_look_alikes_refused():
    digits = fingerprint_of(KEY).replace(" ", "")
    arabic_indic = digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for typed in (digits[:-1], digits + "0", arabic_indic, digits[:-1] + "x", "", "0" * 16):
        if typed == digits:
            continue
        assert not fingerprint_matches(KEY, typed), typed


@given(st.text(max_size=40))
def test_does_no_other_text_match_a_key(typed):
    expected = fingerprint_of(KEY).replace(" ", "")
    cleaned = "".join(ch for ch in typed if ch not in " -.\u00a0\t")
    assert fingerprint_matches(KEY, typed) == (cleaned == expected)


def _grants(app, user_id):
    with app.app_context():
        return db.session.scalars(select(TeamKeyGrant).where(TeamKeyGrant.user_id == user_id)).all()


def test_does_the_supervisor_grant_only_with_the_fingerprint_the_holder_read_out(app):
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
        newcomer = make_staff(role=Role.CASEWORKER, grant=False)
    boss = app.test_client()
    login(boss, supervisor)
    page = boss.get("/cases/team").get_data(as_text=True)
    assert newcomer.fingerprint not in page and 'name="fingerprint"' in page
    url = f"/cases/team/{newcomer.user_id}/grant"
    typo = newcomer.fingerprint[:-1] + str((int(newcomer.fingerprint[-1]) + 1) % 10)
    refused = boss.post(url, data={"fingerprint": typo}, follow_redirects=True)
    assert "does not match the key of" in refused.get_data(as_text=True)
    assert _grants(app, newcomer.user_id) == []
    read_out = newcomer.fingerprint.replace(" ", "-")
    granted = boss.post(url, data={"fingerprint": read_out}, follow_redirects=True)
    assert "Team key granted to" in granted.get_data(as_text=True)
    assert len(_grants(app, newcomer.user_id)) == 1


def test_are_the_grant_refusals_in_russian_for_a_russian_supervisor(app):
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
        newcomer = make_staff(role=Role.CASEWORKER, grant=False)
    boss = app.test_client()
    login(boss, supervisor)
    boss.get("/cases/team?lang=ru")
    url = f"/cases/team/{newcomer.user_id}/grant"
    missing = boss.post(url, data={}, follow_redirects=True).get_data(as_text=True)
    assert "отпечаток" in missing and "Type the key fingerprint" not in missing


def test_does_users_create_print_only_a_one_time_password(runner):
    result = runner.invoke(
        args=["users", "create", "first.boss@example.org", "--role", "supervisor"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"one-time password:\s+\S+", result.output)
    assert "otpauth" not in result.output and "TOTP (" not in result.output
    assert "users grant" in result.output


def test_does_users_grant_refuse_before_the_first_login(runner):
    runner.invoke(args=["users", "create", "early@example.org", "--role", "caseworker"])
    result = runner.invoke(
        args=["users", "grant", "early@example.org", "--fingerprint", "1234 5678 9012 3456"]
    )
    assert result.exit_code == 2 and "first login" in result.output
