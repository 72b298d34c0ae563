"""Enrolling staff: the account an admin (or an operator) creates, and the first-login setup in
which the new staff member alone enrols their authenticator app and makes their key pair.

Whoever creates an account sees only its one-time password. The TOTP secret is made at the
first login and shown to whoever logged in; the key pair is made when setup completes, wrapped
under the passphrase chosen there, and its fingerprint (`crypto.fingerprints`) is shown to that
person. A supervisor grants the team key only to the key whose fingerprint the holder reads out
to them (`auth.teams.confirm_holder`), so an admin who used the one-time password themselves
holds an account that no supervisor will grant (docs/decisions.md, "Staff hardening").
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete

from incident_service import audit
from incident_service.auth.accounts import (
    AccountError,
    WeakSecret,
    argon2_parameters,
    check_new_passphrase,
    check_new_password,
    claim_totp_counter,
    clean_code,
    find_user,
    matching_counter,
    normalise_email,
    one_time_password_is,
    store_one_time_password,
    totp_secret,
    totp_uri,
)
from incident_service.auth.argon2_budget import argon2_slot
from incident_service.auth.sessions import end_user_sessions
from incident_service.constants import Role
from incident_service.crypto import RecipientPrivateKey, SuiteId, bindings, key_fingerprint
from incident_service.crypto.passphrases import (
    hash_password,
    new_recovery_key,
    wrap_with_passphrase,
    wrap_with_recovery_key,
)
from incident_service.models import Organisation, TeamKeyGrant, User, db

ONE_TIME_PASSWORD_GROUPS = 4
_OTP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: it is typed from paper


class EmailAlreadyUsed(AccountError):
    pass


class SetupNotNeeded(AccountError):
    pass


class WrongSetupCode(AccountError):
    """The code typed at setup is not the authenticator's current one."""


@dataclass(frozen=True, repr=False)
class NewAccount:
    """What the creator of an account may see: the one-time password, and nothing else."""

    user: User
    one_time_password: str

    def __repr__(self) -> str:
        return f"NewAccount(user_id={self.user.id})"


@dataclass(frozen=True, repr=False)
class TotpEnrolment:
    """The secret of an account's authenticator, shown only on its own setup page."""

    secret: str
    uri: str

    def __repr__(self) -> str:
        return "TotpEnrolment(...)"


@dataclass(frozen=True, repr=False)
class SetupDone:
    """What setup shows once: the recovery key and the new key's fingerprint (key roles)."""

    recovery_key: str | None
    fingerprint: str | None
    user_key: RecipientPrivateKey | None

    def __repr__(self) -> str:
        return f"SetupDone(fingerprint={self.fingerprint!r})"


def new_one_time_password() -> str:
    groups = [
        "".join(secrets.choice(_OTP_ALPHABET) for _ in range(4))
        for _ in range(ONE_TIME_PASSWORD_GROUPS)
    ]
    return "-".join(groups)


def create_user(*, email: str, role: Role, organisation: Organisation) -> NewAccount:
    """Enrol a staff member (no commit): a one-time password, no second factor, no key yet."""
    cleaned = normalise_email(email)
    if find_user(cleaned) is not None:
        raise EmailAlreadyUsed("An account with that email address exists.")
    one_time_password = new_one_time_password()
    user = User(
        organisation_id=organisation.id,
        email=cleaned,
        role=role.value,
        password_hash="",
        must_change_password=True,
        totp_secret_sealed=b"",  # made at the first login, for whoever holds the account
        failed_logins=0,
        active=True,
    )
    store_one_time_password(user, one_time_password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        "account.create",
        object_type="user",
        object_id=str(user.id),
        detail={"role": role.value, "organisation": organisation.slug},
    )
    return NewAccount(user=user, one_time_password=one_time_password)


def pending_totp(user: User) -> TotpEnrolment:
    """The authenticator secret made at this account's first login, for its setup page."""
    if not user.must_change_password:
        raise SetupNotNeeded("This account is already set up.")
    secret = totp_secret(user)
    return TotpEnrolment(secret=secret, uri=totp_uri(user, secret))


def _check_setup_code(user: User, code: str, now: dt.datetime) -> int:
    """The time step of a correct code from the new authenticator (cheap: checked first)."""
    cleaned = clean_code(code)
    counter = matching_counter(totp_secret(user), cleaned, now) if cleaned else None
    if counter is None:
        raise WrongSetupCode(
            "That code is not the one your authenticator app shows now. Check that you added "
            "the key shown on this page, and type the newest code."
        )
    return counter


def complete_first_login(
    *,
    user: User,
    code: str,
    new_password: str,
    confirm_password: str,
    passphrase: str | None,
    confirm_passphrase: str | None,
    keep_session_id: str | None = None,
    now: dt.datetime | None = None,
) -> SetupDone:
    """Confirm the authenticator, replace the one-time password and, for roles that open
    reports, make the key pair under the new passphrase and a fresh recovery key (no commit).

    Every other session of the account ends: one opened with the same one-time password by
    someone else must not live on into the account once it is set up. Raises `AccountError`
    subclasses with a message for the person, or `Argon2Busy`.
    """
    if not user.must_change_password:
        raise SetupNotNeeded("This account is already set up.")
    moment = now or dt.datetime.now(dt.UTC)
    opens_reports = Role(user.role).opens_reports
    check_new_password(new_password, confirm=confirm_password)
    if opens_reports:
        check_new_passphrase(
            passphrase or "", confirm=confirm_passphrase or "", password=new_password
        )
    counter = _check_setup_code(user, code, moment)
    if one_time_password_is(user, new_password):
        raise WeakSecret("password", "Choose a password other than the one-time password.")
    params = argon2_parameters()
    key = recovery_key = None
    with argon2_slot():
        password_hash = hash_password(new_password, params)
        if opens_reports:
            assert passphrase is not None
            key = RecipientPrivateKey.generate(SuiteId.from_name(current_app.config["HPKE_SUITE"]))
            wrapped = wrap_with_passphrase(
                key.to_bytes(),
                passphrase,
                context=bindings.user_private_key(user.id),
                params=params,
            )
    if not claim_totp_counter(user, counter):
        raise WrongSetupCode("That code was used already; wait for the next one.")
    if key is not None:
        recovery_key = new_recovery_key()
        _install_key(user, key, wrapped=wrapped, recovery_key=recovery_key)
    user.password_hash = password_hash
    user.must_change_password = False
    end_user_sessions(user_id=user.id, except_id=keep_session_id)
    fingerprint = key_fingerprint(key.public) if key is not None else None
    audit.record(
        "account.setup",
        actor_id=user.id,
        object_type="user",
        object_id=str(user.id),
        detail={"key_fingerprint": fingerprint} if fingerprint else None,
    )
    return SetupDone(recovery_key=recovery_key, fingerprint=fingerprint, user_key=key)


def _install_key(
    user: User, key: RecipientPrivateKey, *, wrapped: bytes, recovery_key: str
) -> None:
    user.key_suite = int(key.suite)
    user.key_public = key.public.public_bytes
    user.key_private_wrapped = wrapped
    user.key_private_recovery = wrap_with_recovery_key(
        key.to_bytes(), recovery_key, context=bindings.user_private_key(user.id)
    )
    # An account enrolled before keys were made at setup may hold a grant sealed to a key that
    # lay under its one-time password; that key is replaced, so its grants go with it.
    db.session.execute(delete(TeamKeyGrant).where(TeamKeyGrant.user_id == user.id))
