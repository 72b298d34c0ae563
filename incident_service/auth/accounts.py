"""Staff accounts: logging in (password and TOTP, per-account throttling, cheap uniform
refusals), the caseworker's own key pair (unlocking it and recovering it), and deactivation.

Every enrolled account logs in with a password and a TOTP code. An account still waiting for its
first login logs in with its one-time password alone and then enrols its authenticator app and
(for roles that open reports) makes its key pair in first-login setup (`auth.enrolment`), so
that nobody who handled the one-time password ever saw the second factor or a private key.

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
from typing import NoReturn

import pyotp
from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from incident_service import audit
from incident_service.auth.argon2_budget import Argon2Busy, argon2_slot
from incident_service.auth.teams import TeamKeyUnavailable, open_team_key
from incident_service.crypto import RecipientPrivateKey, WrongPassphrase, bindings
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.passphrases import (
    Argon2Parameters,
    hash_password,
    is_one_time_password_digest,
    one_time_password_digest,
    one_time_password_matches,
    password_hasher,
    unwrap,
    verify_password,
    wrap_with_passphrase,
)
from incident_service.crypto.secretbox import open_with_key, seal_with_key
from incident_service.keystore import current_keyring
from incident_service.models import User, db

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
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
# Context of the sealed TOTP secret checked for an account that has none of its own (unknown,
# or before its first login), so every refusal opens one sealed secret.
_NO_ACCOUNT = 0


class AccountError(Exception):
    """An account operation that cannot be done; the message is safe to show to staff."""


class InvalidEmail(AccountError):
    pass


class WeakSecret(AccountError):
    """A new password or passphrase that does not meet the rules. `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class KeyNotSetUp(AccountError):
    """The account has no key pair (officials and admins never do)."""


class LoginRefused(Exception):
    """Any failed login. `reason` goes to the audit trail only; people see one message."""

    def __init__(self, reason: str, user: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


@dataclass(frozen=True, repr=False)
class LoginSuccess:
    user: User

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


@lru_cache(maxsize=1)
def _dummy_one_time_digest() -> str:
    """A digest to compare against when the account has no one-time password to check."""
    return one_time_password_digest(secrets.token_urlsafe(16))


@lru_cache(maxsize=8)
def _dummy_sealed_totp(totp_key_secret: bytes) -> bytes:
    """A sealed TOTP secret to open when the account has none, per TOTP key (tests build apps
    with different keys)."""
    key = current_keyring().require_totp_key()
    return seal_with_key(
        pyotp.random_base32().encode("ascii"), key=key, context=bindings.user_totp(_NO_ACCOUNT)
    )


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise InvalidEmail("That is not an email address.")
    return cleaned


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


def begin_totp_enrolment(user: User) -> str:
    """A fresh TOTP secret for an account in first-login setup, sealed into its row (no commit).

    Made at each first login, so the secret is seen only by whoever logged in with the one-time
    password, never by the person who created the account; setup confirms it with a code.
    """
    secret = pyotp.random_base32()
    user.totp_secret_sealed = seal_with_key(
        secret.encode("ascii"),
        key=current_keyring().require_totp_key(),
        context=bindings.user_totp(user.id),
    )
    user.totp_last_counter = None
    return secret


def store_one_time_password(user: User, one_time_password: str) -> None:
    user.password_hash = one_time_password_digest(normalise_one_time_password(one_time_password))


def normalise_one_time_password(text: str) -> str:
    """As printed, as typed from paper: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def one_time_password_is(user: User, candidate: str) -> bool:
    """Is `candidate` this account's one-time password? Accounts enrolled before one-time
    passwords were stored as digests hold an Argon2 hash, checked under the Argon2 budget."""
    if is_one_time_password_digest(user.password_hash):
        return one_time_password_matches(user.password_hash, normalise_one_time_password(candidate))
    with argon2_slot():
        return verify_password(user.password_hash, candidate, argon2_parameters())


def deactivate_user(*, user: User, actor_id: int | None) -> None:
    from incident_service.auth.sessions import end_user_sessions

    user.active = False
    end_user_sessions(user_id=user.id)
    audit.record(
        "account.deactivate", actor_id=actor_id, object_type="user", object_id=str(user.id)
    )


# --------------------------------------------------------------------------------------------
# Login


def matching_counter(secret: str, code: str, now: dt.datetime) -> int | None:
    """The newest time step whose code equals `code`, within the tolerated window."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(now)
    found = None
    for counter in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            found = counter
    return found


def clean_code(code: str) -> str:
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


def claim_totp_counter(user: User, counter: int) -> bool:
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


def _sealed_totp_to_check(user: User | None) -> tuple[bytes, int]:
    """The sealed TOTP secret a login checks the code against, and its context's user id: the
    account's own once enrolled, else a dummy one, so that every attempt does the same work."""
    if user is not None and not user.must_change_password and user.totp_secret_sealed:
        return user.totp_secret_sealed, user.id
    key = current_keyring().require_totp_key()
    return _dummy_sealed_totp(key.secret), _NO_ACCOUNT


def _code_counter(user: User | None, code: str, moment: dt.datetime) -> int | None:
    sealed, owner = _sealed_totp_to_check(user)
    secret = open_with_key(
        sealed, key=current_keyring().require_totp_key(), context=bindings.user_totp(owner)
    ).decode("ascii")
    cleaned = clean_code(code)
    # Checked against a code that cannot match when the typed one is malformed: the same work.
    return matching_counter(secret, cleaned or "x" * TOTP_DIGITS, moment)


def _account_refusal(user: User | None, now: dt.datetime) -> str | None:
    if user is None:
        return "unknown_account"
    if not user.active:
        return "inactive"
    if user.locked_until is not None and user.locked_until > now:
        return "throttled"
    return None


def authenticate(
    *, email: str, password: str, code: str, now: dt.datetime | None = None
) -> LoginSuccess:
    """Check a login; raise `LoginRefused` (after recording it).

    Argon2 runs only for an enrolled, usable account whose TOTP code is right, and only when
    the Argon2 budget allows (`auth.argon2_budget`). Every other attempt is refused cheaply and
    alike: whatever the account's state (none, deactivated, throttled, waiting for its first
    login, enrolled), it costs one row lookup, one sealed TOTP secret opened and checked, and
    one one-time-password digest compared, so neither timing nor text tells them apart to
    someone without the second factor (docs/decisions.md).
    """
    moment = now or dt.datetime.now(dt.UTC)
    naive_now = moment.astimezone(dt.UTC).replace(tzinfo=None)
    # The row stays locked until the caller commits (PostgreSQL), so two logins racing with one
    # code cannot both pass the replay check, nor both skip the failure count.
    user = find_user(email, for_update=True)
    counter = _code_counter(user, code, moment)
    first_login = user is not None and bool(user.must_change_password)
    one_time_ok = one_time_password_matches(
        user.password_hash if first_login and user is not None else _dummy_one_time_digest(),
        normalise_one_time_password(password),
    )
    refusal = _account_refusal(user, naive_now)
    if refusal is not None:
        raise _refuse(refusal, user)
    assert user is not None
    if first_login:
        return _first_login(user, password, one_time_ok=one_time_ok, now=naive_now)
    last = user.totp_last_counter
    if counter is None:
        _fail(user, "wrong_code", naive_now)
    if last is not None and counter <= last:
        _fail(user, "reused_code", naive_now)
    password_ok = len(password) <= MAX_SECRET_LENGTH and _check_password(user, password)
    if not password_ok:
        _fail(user, "wrong_password", naive_now)
    if not claim_totp_counter(user, counter):
        _fail(user, "reused_code", naive_now)  # another login took this code since our read
    user.failed_logins = 0
    user.locked_until = None
    audit.record("login.success", actor_id=user.id, object_type="user", object_id=str(user.id))
    return LoginSuccess(user=user)


def _check_password(user: User, password: str) -> bool:
    """The Argon2 verification (and a rehash if the parameters changed), under the budget.

    A refusal for want of a slot is not counted against the account: its password was never
    checked, and counting it would let a flood lock real people out.
    """
    params = argon2_parameters()
    try:
        with argon2_slot():
            ok = verify_password(user.password_hash, password, params)
            if ok and password_hasher(params).check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password, params)
    except Argon2Busy:
        raise _refuse("argon2_busy", user) from None
    return ok


def _first_login(user: User, password: str, *, one_time_ok: bool, now: dt.datetime) -> LoginSuccess:
    """The one-time password alone lets an account into setup, which enrols its TOTP."""
    if not is_one_time_password_digest(user.password_hash):
        try:
            one_time_ok = len(password) <= MAX_SECRET_LENGTH and one_time_password_is(
                user, password
            )
        except Argon2Busy:
            raise _refuse("argon2_busy", user) from None
    if not one_time_ok:
        _fail(user, "wrong_password", now)
    user.failed_logins = 0
    user.locked_until = None
    begin_totp_enrolment(user)
    audit.record("login.success", actor_id=user.id, object_type="user", object_id=str(user.id))
    return LoginSuccess(user=user)


def _fail(user: User, reason: str, now: dt.datetime) -> NoReturn:
    _register_failure(user, now)
    raise _refuse(reason, user)


# --------------------------------------------------------------------------------------------
# New secrets, the key passphrase and the recovery key


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


def unlock_user_key(*, user: User, passphrase: str) -> RecipientPrivateKey:
    """Open the caseworker's private key with their passphrase (raises `WrongPassphrase`, or
    `Argon2Busy` when the Argon2 budget has no room now)."""
    if user.key_private_wrapped is None or user.must_change_password:
        raise KeyNotSetUp("This account has no key to unlock.")
    if len(passphrase) > MAX_SECRET_LENGTH:
        raise WrongPassphrase("passphrase too long")
    with argon2_slot():
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
    with argon2_slot():
        if verify_password(user.password_hash, new_passphrase, argon2_parameters()):
            raise WeakSecret(
                "passphrase", "The key passphrase must differ from the login password."
            )
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
