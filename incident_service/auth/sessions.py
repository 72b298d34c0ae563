"""Server-side staff sessions, split so that neither half alone opens anything.

The browser's cookie holds two random values: a session token and an unlock key. The
`StaffSession` row holds only sha256(token) and, once the caseworker has unlocked their key, their
private key and the team private key sealed under the unlock key. A stolen database has sealed
blobs without the key; a stolen cookie has a key and a token that stop working at logout or after
`SESSION_IDLE_MINUTES` of inactivity, when the row is deleted.

Expiry is checked on every request (`find_session`), and a beat task deletes every expired row
once a minute (`delete_expired_sessions`): a row left until someone's next login would let a
cookie copied from an office computer and a later copy of the database open the team key
together, offline, long after the session ended.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from incident_service.crypto import RecipientPrivateKey, SymmetricKey, bindings
from incident_service.crypto.errors import CryptoError
from incident_service.crypto.secretbox import new_symmetric_key, open_with_key, seal_with_key
from incident_service.models import StaffSession, db, utcnow

TOKEN_BYTES = 32
# However active, a session ends after a working day; the caseworker logs in again.
SESSION_MAX_HOURS = 12
# Writing last_seen on every request would turn each page view into a write; once a minute is
# precise enough for a 30-minute idle limit.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


@dataclass(frozen=True, repr=False)
class SessionSecrets:
    """What goes into the cookie. Never logged, never stored server-side."""

    token: str
    unlock_key: str

    def __repr__(self) -> str:
        return "SessionSecrets(...)"


@dataclass(frozen=True, repr=False)
class UnlockedKeys:
    user_key: RecipientPrivateKey
    team_key: RecipientPrivateKey | None

    def __repr__(self) -> str:
        return f"UnlockedKeys(team={'yes' if self.team_key is not None else 'no'})"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_unlock_key(text: str) -> SymmetricKey | None:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if len(raw) != 32:
        return None
    return SymmetricKey("session-unlock", raw)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def _expired(staff_session: StaffSession, now: dt.datetime) -> bool:
    return (
        now - staff_session.last_seen_at > idle_limit()
        or now - staff_session.created_at > dt.timedelta(hours=SESSION_MAX_HOURS)
    )


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete sessions past the idle or absolute limit (no commit)."""
    moment = now or utcnow()
    idle_cutoff = moment - idle_limit()
    age_cutoff = moment - dt.timedelta(hours=SESSION_MAX_HOURS)
    result = db.session.execute(
        delete(StaffSession).where(
            (StaffSession.last_seen_at < idle_cutoff) | (StaffSession.created_at < age_cutoff)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def delete_expired_sessions(*, now: dt.datetime | None = None) -> int:
    """The beat's purge: delete every expired session row and commit; how many went."""
    deleted = purge_expired(now=now)
    db.session.commit()
    return deleted


@dataclass(frozen=True, repr=False)
class StartedSession:
    staff_session: StaffSession
    secrets: SessionSecrets


def start_session(*, user_id: int) -> StartedSession:
    """Create the server half of a new login (no commit); the cookie half is returned."""
    purge_expired()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    unlock_key = new_symmetric_key("session-unlock")
    now = utcnow()
    row = StaffSession(id=token_digest(token), user_id=user_id, created_at=now, last_seen_at=now)
    db.session.add(row)
    db.session.flush()
    return StartedSession(
        staff_session=row,
        secrets=SessionSecrets(token=token, unlock_key=_encode(unlock_key.secret)),
    )


@dataclass(frozen=True)
class SessionLookup:
    staff_session: StaffSession | None
    changed: bool  # the row was touched or deleted: the caller should commit


def find_session(*, token: str, now: dt.datetime | None = None) -> SessionLookup:
    """The live session for `token`. An expired one is deleted; a live one is touched."""
    if not token or len(token) > 128:
        return SessionLookup(None, changed=False)
    staff_session = db.session.get(StaffSession, token_digest(token))
    if staff_session is None:
        return SessionLookup(None, changed=False)
    moment = now or utcnow()
    if _expired(staff_session, moment):
        db.session.delete(staff_session)
        return SessionLookup(None, changed=True)
    if moment - staff_session.last_seen_at > TOUCH_INTERVAL:
        staff_session.last_seen_at = moment
        return SessionLookup(staff_session, changed=True)
    return SessionLookup(staff_session, changed=False)


def store_unlocked_keys(
    *, staff_session: StaffSession, unlock_key: str, keys: UnlockedKeys
) -> None:
    key = _decode_unlock_key(unlock_key)
    if key is None:
        raise ValueError("the session's unlock key is missing or malformed")
    document = {
        "user": base64.b64encode(keys.user_key.to_bytes()).decode("ascii"),
        "team": (
            base64.b64encode(keys.team_key.to_bytes()).decode("ascii")
            if keys.team_key is not None
            else None
        ),
    }
    staff_session.unlocked_keys = seal_with_key(
        json.dumps(document).encode("ascii"),
        key=key,
        context=bindings.staff_session(staff_session.id),
    )


def load_unlocked_keys(*, staff_session: StaffSession, unlock_key: str) -> UnlockedKeys | None:
    """The keys this session unlocked, or None if it has not (or the cookie key is wrong)."""
    if staff_session.unlocked_keys is None:
        return None
    key = _decode_unlock_key(unlock_key)
    if key is None:
        return None
    try:
        document = json.loads(
            open_with_key(
                staff_session.unlocked_keys,
                key=key,
                context=bindings.staff_session(staff_session.id),
            )
        )
        user_key = RecipientPrivateKey.from_bytes(base64.b64decode(document["user"]))
        team = document.get("team")
        team_key = RecipientPrivateKey.from_bytes(base64.b64decode(team)) if team else None
    except (CryptoError, ValueError, KeyError, TypeError):
        return None
    return UnlockedKeys(user_key=user_key, team_key=team_key)


def end_session(*, token: str) -> None:
    """Delete the server half; the cookie's values are useless from here on (no commit)."""
    staff_session = db.session.get(StaffSession, token_digest(token)) if token else None
    if staff_session is not None:
        db.session.delete(staff_session)


def end_user_sessions(*, user_id: int, except_id: str | None = None) -> int:
    """Delete the user's sessions (no commit), all of them or all but `except_id`."""
    statement = delete(StaffSession).where(StaffSession.user_id == user_id)
    if except_id is not None:
        statement = statement.where(StaffSession.id != except_id)
    result = db.session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def sessions_of(user_id: int) -> list[StaffSession]:
    return list(db.session.scalars(select(StaffSession).where(StaffSession.user_id == user_id)))
