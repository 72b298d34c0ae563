"""Staff accounts: enrolment, password and TOTP checks with per-account throttling, first-login
setup, and the caseworker's own key pair (unlocking it and recovering it).

Every role logs in with a password and a TOTP code. Caseworkers and supervisors also hold a key
pair: created at enrolment and wrapped under the one-time password, re-wrapped under their own
passphrase at first login, when the recovery key is shown once (docs/decisions.md explains why the
pair exists from enrolment on). The login password and the key passphrase are separate secrets,
so knowing one does not open the other.

Functions add to the session and never commit; the caller commits, including after a refused
login, so that the failure counter and its audit entry are kept.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

import pyotp
from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from incident_service import audit
from incident_service.auth.teams import TeamKeyUnavailable, open_team_key
from incident_service.constants import Role
from incident_service.crypto import RecipientPrivateKey, SuiteId, WrongPassphrase, bindings
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.passphrases import (
    Argon2Parameters,
    hash_password,
    new_recovery_key,
    password_hasher,
    unwrap,
    verify_password,
    wrap_with_passphrase,
    wrap_with_recovery_key,
)
from incident_service.crypto.secretbox import open_with_key, seal_with_key
from incident_service.keystore import current_keyring
from incident_service.models import Organisation, User, db

TOTP_ISSUER = "Incident Service"
TOTP_DIGITS = 6
# One step either side tolerates a phone clock that is 30 seconds off.
TOTP_WINDOW = 1
# After this many failures in a row an account waits before it may try again; the wait doubles
# with every further failure, up to the cap. Correct details are refused while it waits.
FAILURES_BEFORE_THROTTLE = 5
THROTTLE_BASE_SECONDS = 30
THROTTLE_MAX_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 12
MIN_PASSPHRASE_LENGTH = 12
MAX_SECRET_LENGTH = 1024
ONE_TIME_PASSWORD_GROUPS = 4
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
_OTP_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: it is typed from paper


class AccountError(Exception):
    """An account operation that cannot be done; the message is safe to show to staff."""


class InvalidEmail(AccountError):
    pass


class EmailAlreadyUsed(AccountError):
    pass


class UnknownOrganisation(AccountError):
    pass


class WeakSecret(AccountError):
    """A new password or passphrase that does not meet the rules. `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SetupNotNeeded(AccountError):
    pass


class KeyNotSetUp(AccountError):
    """The account has no key pair (officials and admins never do)."""


class LoginRefused(Exception):
    """Any failed login. `reason` goes to the audit trail only; people see one message."""

    def __init__(self, reason: str, user: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


@dataclass(frozen=True, repr=False)
class NewAccount:
    user: User
    one_time_password: str
    totp_uri: str

    def __repr__(self) -> str:
        return f"NewAccount(user_id={self.user.id})"


@dataclass(frozen=True, repr=False)
class LoginSuccess:
    user: User
    # On a first login the key pair is still wrapped under the one-time password just typed,
    # so it is opened here and kept for the session: setup re-wraps it under the passphrase.
    user_key: RecipientPrivateKey | None

    def __repr__(self) -> str:
        return f"LoginSuccess(user_id={self.user.id})"


# --------------------------------------------------------------------------------------------
# Parameters and contexts


def argon2_parameters() -> Argon2Parameters:
    config = current_app.config
    return Argon2Parameters(
        time_cost=int(config["ARGON2_TIME_COST"]),
        memory_kib=int(config["ARGON2_MEMORY_KIB"]),
        parallelism=int(config["ARGON2_PARALLELISM"]),
    )


@lru_cache(maxsize=8)
def _dummy_hash(params: Argon2Parameters) -> str:
    """A hash to check against when the account does not exist, so timing does not tell."""
    return hash_password(secrets.token_urlsafe(16), params)


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise InvalidEmail("That is not an email address.")
    return cleaned


def new_one_time_password() -> str:
    groups = [
        "".join(secrets.choice(_OTP_ALPHABET) for _ in range(4))
        for _ in range(ONE_TIME_PASSWORD_GROUPS)
    ]
    return "-".join(groups)


# --------------------------------------------------------------------------------------------
# Enrolment


def find_user(email: str, *, for_update: bool = False) -> User | None:
    try:
        cleaned = normalise_email(email)
    except InvalidEmail:
        return None
    statement = select(User).where(User.email == cleaned)  # stored lower-cased
    if for_update:
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def totp_secret(user: User) -> str:
    secret = open_with_key(
        user.totp_secret_sealed,
        key=current_keyring().require_totp_key(),
        context=bindings.user_totp(user.id),
    )
    return secret.decode("ascii")


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS).provisioning_uri(
        name=user.email, issuer_name=TOTP_ISSUER
    )


def create_user(*, email: str, role: Role, organisation: Organisation) -> NewAccount:
    """Enrol a staff member (no commit): a one-time password, a TOTP secret and, for roles that
    open reports, a key pair wrapped under the one-time password until first login."""
    cleaned = normalise_email(email)
    if find_user(cleaned) is not None:
        raise EmailAlreadyUsed("An account with that email address exists.")
    params = argon2_parameters()
    one_time_password = new_one_time_password()
    secret = pyotp.random_base32()
    user = User(
        organisation_id=organisation.id,
        email=cleaned,
        role=role.value,
        password_hash=hash_password(one_time_password, params),
        must_change_password=True,
        totp_secret_sealed=b"",
        failed_logins=0,
        active=True,
    )
    db.session.add(user)
    db.session.flush()  # the id is bound into the sealed TOTP secret and the key wrapping
    user.totp_secret_sealed = seal_with_key(
        secret.encode("ascii"),
        key=current_keyring().require_totp_key(),
        context=bindings.user_totp(user.id),
    )
    if role.opens_reports:
        key = RecipientPrivateKey.generate(SuiteId.from_name(current_app.config["HPKE_SUITE"]))
        user.key_suite = int(key.suite)
        user.key_public = key.public.public_bytes
        user.key_private_wrapped = wrap_with_passphrase(
            key.to_bytes(),
            one_time_password,
            context=bindings.user_private_key(user.id),
            params=params,
        )
    audit.record(
        "account.create",
        object_type="user",
        object_id=str(user.id),
        detail={"role": role.value, "organisation": organisation.slug},
    )
    return NewAccount(
        user=user, one_time_password=one_time_password, totp_uri=totp_uri(user, secret)
    )


def deactivate_user(*, user: User, actor_id: int | None) -> None:
    from incident_service.auth.sessions import end_user_sessions

    user.active = False
    end_user_sessions(user_id=user.id)
    audit.record(
        "account.deactivate", actor_id=actor_id, object_type="user", object_id=str(user.id)
    )


# --------------------------------------------------------------------------------------------
# Login


def _matching_counter(secret: str, code: str, now: dt.datetime) -> int | None:
    """The newest time step whose code equals `code`, within the tolerated window."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(now)
    found = None
    for counter in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            found = counter
    return found


def _clean_code(code: str) -> str:
    cleaned = "".join(ch for ch in code if not ch.isspace())
    if len(cleaned) != TOTP_DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return ""
    return cleaned


def _throttle_seconds(failures: int) -> int:
    over = failures - FAILURES_BEFORE_THROTTLE
    return int(min(THROTTLE_BASE_SECONDS * 2 ** max(over, 0), THROTTLE_MAX_SECONDS))


def _register_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= FAILURES_BEFORE_THROTTLE:
        user.locked_until = now + dt.timedelta(seconds=_throttle_seconds(user.failed_logins))


def _claim_counter(user: User, counter: int) -> bool:
    """Record `counter` as used, unless a newer or equal one already is: a compare-and-set in
    the database, so that of two logins racing with one code exactly one wins, on SQLite (which
    has no row locks) as on PostgreSQL."""
    result = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    claimed = int(getattr(result, "rowcount", 0) or 0) == 1
    if claimed:
        set_committed_value(user, "totp_last_counter", counter)
    return claimed


def _refuse(reason: str, user: User | None) -> LoginRefused:
    audit.record(
        "login.failure",
        actor_id=user.id if user is not None else None,
        object_type="user" if user is not None else "",
        object_id=str(user.id) if user is not None else "",
        detail={"reason": reason},
    )
    return LoginRefused(reason, user)


def authenticate(
    *, email: str, password: str, code: str, now: dt.datetime | None = None
) -> LoginSuccess:
    """Check password and TOTP code together; raise `LoginRefused` (after recording it)."""
    moment = now or dt.datetime.now(dt.UTC)
    naive_now = moment.astimezone(dt.UTC).replace(tzinfo=None)
    params = argon2_parameters()
    # Computed once per process and parameters, before the lookup, so that not even the first
    # attempt with an unknown address costs more than the others.
    dummy_hash = _dummy_hash(params)
    # The row stays locked until the caller commits (PostgreSQL), so two logins racing with one
    # code cannot both pass the replay check, nor both skip the failure count.
    user = find_user(email, for_update=True)
    usable = user is not None and bool(user.active)
    throttled = (
        user is not None
        and usable
        and user.locked_until is not None
        and user.locked_until > naive_now
    )
    # Every attempt pays for exactly one Argon2 verification: against the account's hash when
    # the password can be checked, otherwise against a fixed dummy hash. An unknown address, a
    # deactivated or throttled account and a wrong password then take the same time.
    if user is None or not usable or throttled or len(password) > MAX_SECRET_LENGTH:
        verify_password(dummy_hash, password[:MAX_SECRET_LENGTH], params)
        password_ok = False
    else:
        password_ok = verify_password(user.password_hash, password, params)
    if user is None or not usable:
        raise _refuse("unknown_account" if user is None else "inactive", user)
    if throttled:
        raise _refuse("throttled", user)
    cleaned = _clean_code(code)
    counter = _matching_counter(totp_secret(user), cleaned, moment) if cleaned else None
    last = user.totp_last_counter
    # A code already used for a login is refused even inside its window: someone who watched
    # it being typed must not be able to replay it.
    reused = counter is not None and last is not None and counter <= last
    if password_ok and counter is not None and not reused and not _claim_counter(user, counter):
        reused = True  # another login took this code between our read and now
    if not password_ok or counter is None or reused:
        _register_failure(user, naive_now)
        reason = "wrong_password" if not password_ok else "reused_code" if reused else "wrong_code"
        raise _refuse(reason, user)
    user.failed_logins = 0
    user.locked_until = None
    if password_hasher(params).check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password, params)
    user_key = None
    if user.must_change_password and user.key_private_wrapped is not None:
        user_key = open_enrolment_key(user=user, one_time_password=password)
    audit.record("login.success", actor_id=user.id, object_type="user", object_id=str(user.id))
    return LoginSuccess(user=user, user_key=user_key)


# --------------------------------------------------------------------------------------------
# First login, passphrase, recovery


def check_new_password(password: str, *, confirm: str) -> None:
    if password != confirm:
        raise WeakSecret("password", "The two passwords are not the same.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakSecret(
            "password", f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_SECRET_LENGTH:
        raise WeakSecret("password", "That password is too long.")


def check_new_passphrase(passphrase: str, *, confirm: str, password: str) -> None:
    if passphrase != confirm:
        raise WeakSecret("passphrase", "The two passphrases are not the same.")
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise WeakSecret(
            "passphrase",
            f"Choose a passphrase of at least {MIN_PASSPHRASE_LENGTH} characters "
            "(several words work well).",
        )
    if len(passphrase) > MAX_SECRET_LENGTH:
        raise WeakSecret("passphrase", "That passphrase is too long.")
    if passphrase == password:
        raise WeakSecret("passphrase", "The key passphrase must differ from the login password.")


def open_enrolment_key(*, user: User, one_time_password: str) -> RecipientPrivateKey | None:
    """Before first login the key pair is wrapped under the one-time password; open it."""
    if not user.must_change_password or user.key_private_wrapped is None:
        return None
    try:
        secret = unwrap(
            user.key_private_wrapped, one_time_password, context=bindings.user_private_key(user.id)
        )
    except CryptoError:
        return None  # setup then says the key could not be opened
    return RecipientPrivateKey.from_bytes(secret)


def complete_first_login(
    *,
    user: User,
    new_password: str,
    confirm_password: str,
    passphrase: str | None,
    confirm_passphrase: str | None,
    user_key: RecipientPrivateKey | None,
) -> str | None:
    """Replace the one-time password and, for key holders, wrap the key pair under the new
    passphrase and a fresh recovery key. Returns the recovery key (shown once) or None."""
    if not user.must_change_password:
        raise SetupNotNeeded("This account is already set up.")
    params = argon2_parameters()
    check_new_password(new_password, confirm=confirm_password)
    if verify_password(user.password_hash, new_password, params):
        raise WeakSecret("password", "Choose a password other than the one-time password.")
    recovery_key = None
    if user.key_private_wrapped is not None:
        if user_key is None:
            raise KeyNotSetUp("Your key could not be opened; log out and log in again.")
        check_new_passphrase(
            passphrase or "", confirm=confirm_passphrase or "", password=new_password
        )
        assert passphrase is not None
        recovery_key = new_recovery_key()
        user.key_private_wrapped = wrap_with_passphrase(
            user_key.to_bytes(),
            passphrase,
            context=bindings.user_private_key(user.id),
            params=params,
        )
        user.key_private_recovery = wrap_with_recovery_key(
            user_key.to_bytes(), recovery_key, context=bindings.user_private_key(user.id)
        )
    user.password_hash = hash_password(new_password, params)
    user.must_change_password = False
    audit.record("account.setup", actor_id=user.id, object_type="user", object_id=str(user.id))
    return recovery_key


def unlock_user_key(*, user: User, passphrase: str) -> RecipientPrivateKey:
    """Open the caseworker's private key with their passphrase (raises `WrongPassphrase`)."""
    if user.key_private_wrapped is None or user.must_change_password:
        raise KeyNotSetUp("This account has no key to unlock.")
    if len(passphrase) > MAX_SECRET_LENGTH:
        raise WrongPassphrase("passphrase too long")
    secret = unwrap(
        user.key_private_wrapped, passphrase, context=bindings.user_private_key(user.id)
    )
    return RecipientPrivateKey.from_bytes(secret)


def recover_user_key(
    *, user: User, recovery_key: str, new_passphrase: str, confirm_passphrase: str
) -> RecipientPrivateKey:
    """Open the key with the recovery key and wrap it under a new passphrase."""
    if user.key_private_recovery is None:
        raise KeyNotSetUp("This account has no recovery key.")
    secret = unwrap(
        user.key_private_recovery, recovery_key, context=bindings.user_private_key(user.id)
    )
    check_new_passphrase(new_passphrase, confirm=confirm_passphrase, password="")
    if verify_password(user.password_hash, new_passphrase, argon2_parameters()):
        raise WeakSecret("passphrase", "The key passphrase must differ from the login password.")
    user.key_private_wrapped = wrap_with_passphrase(
        secret,
        new_passphrase,
        context=bindings.user_private_key(user.id),
        params=argon2_parameters(),
    )
    audit.record("key.recover", actor_id=user.id, object_type="user", object_id=str(user.id))
    return RecipientPrivateKey.from_bytes(secret)


def team_key_for(*, user: User, user_key: RecipientPrivateKey) -> RecipientPrivateKey | None:
    """The team private key if it has been granted to this user, else None."""
    try:
        return open_team_key(user=user, user_private_key=user_key)
    except (TeamKeyUnavailable, CryptoError):
        return None
