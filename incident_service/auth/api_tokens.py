"""Bearer tokens for officials' API clients: issued per person, expiring, revocable.

A token is 256 random bits shown once when it is issued; only its SHA-256 is stored, so a
database dump holds nothing that opens the API. (A plain hash suffices: the secret is random,
not chosen by a person, so there is nothing to guess.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from incident_service import audit as audit_log
from incident_service.constants import Role
from incident_service.models import ApiToken, User, db

TOKEN_PREFIX = "isv1_"  # noqa: S105 (a public marker that says what a token is for)
DEFAULT_VALID_DAYS = 90
MAX_VALID_DAYS = 366
TOKEN_ROLES = (Role.OFFICIAL, Role.SUPERVISOR, Role.ADMIN)
OFFICIAL = "official"  # reads published summaries for an official's account
PARTNER = "partner"  # files reports for a partner app, with a quota of its own


class TokenError(Exception):
    """Why a request's token was refused; the message is safe to send back."""


class TokenMissing(TokenError):
    def __init__(self) -> None:
        super().__init__("send an API token as 'Authorization: Bearer <token>'")


class TokenInvalid(TokenError):
    def __init__(self) -> None:
        super().__init__("the API token is not valid")


class TokenExpired(TokenError):
    def __init__(self) -> None:
        super().__init__("the API token has expired; ask for a new one")


class TokenRevoked(TokenError):
    def __init__(self) -> None:
        super().__init__("the API token has been revoked")


class TokenNotAllowed(Exception):
    """Tokens are issued to officials (and supervisors checking what officials see) only."""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _new_token(
    *, kind: str, user_id: int | None, label: str, valid_days: int, today: dt.date | None
) -> tuple[ApiToken, str]:
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise TokenNotAllowed(f"a token is valid for 1 to {MAX_VALID_DAYS} days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    start = today or _today()
    row = ApiToken(
        kind=kind,
        user_id=user_id,
        token_hash=token_hash(token),
        label=label[:100],
        created_on=start,
        expires_on=start + dt.timedelta(days=valid_days),
    )
    db.session.add(row)
    db.session.flush()
    audit_log.record(
        "api_token.issued",
        object_type="api_token",
        object_id=str(row.id),
        detail={
            "kind": kind,
            "user": user_id,
            "expires_on": row.expires_on.isoformat() if row.expires_on else "",
        },
    )
    return row, token


def issue_token(
    *,
    user: User,
    label: str = "",
    valid_days: int = DEFAULT_VALID_DAYS,
    today: dt.date | None = None,
) -> tuple[ApiToken, str]:
    """Create an official's token for `user`; returns the row and the token text (shown once).
    The caller commits."""
    if user.role not in {role.value for role in TOKEN_ROLES} or not user.active:
        raise TokenNotAllowed(f"API tokens are for officials; {user.email} is a {user.role}")
    return _new_token(
        kind=OFFICIAL, user_id=user.id, label=label, valid_days=valid_days, today=today
    )


def issue_partner_token(
    *, label: str, valid_days: int = MAX_VALID_DAYS, today: dt.date | None = None
) -> tuple[ApiToken, str]:
    """Create a partner app's token (no staff account behind it); the caller commits."""
    if not label.strip():
        raise TokenNotAllowed("name the partner app the token is for (--label)")
    return _new_token(
        kind=PARTNER, user_id=None, label=label.strip(), valid_days=valid_days, today=today
    )


def revoke_token(token_id: int, *, today: dt.date | None = None) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise TokenInvalid()
    if row.revoked_on is None:
        row.revoked_on = today or _today()
        audit_log.record("api_token.revoked", object_type="api_token", object_id=str(row.id))
    return row


def list_tokens(kind: str = OFFICIAL) -> list[tuple[ApiToken, User | None]]:
    rows = db.session.execute(
        sa.select(ApiToken, User)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.kind == kind)
        .order_by(ApiToken.id)
    )
    return [(token, user) for token, user in rows]


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise TokenMissing()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TokenMissing()
    return value.strip()


def _valid_row(authorization: str | None, *, kind: str, today: dt.date | None) -> ApiToken:
    token = bearer_token(authorization)
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise TokenInvalid()
    row: ApiToken | None = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token))
    )
    if row is None or row.kind != kind:
        raise TokenInvalid()
    if row.revoked_on is not None:
        raise TokenRevoked()
    if row.expires_on is not None and row.expires_on < (today or _today()):
        raise TokenExpired()
    return row


def authenticate(authorization: str | None, *, today: dt.date | None = None) -> User:
    """The official a request's `Authorization` header speaks for, or a `TokenError`."""
    row = _valid_row(authorization, kind=OFFICIAL, today=today)
    user = db.session.get(User, row.user_id) if row.user_id is not None else None
    if user is None or not user.active or user.role not in {r.value for r in TOKEN_ROLES}:
        raise TokenInvalid()
    return user


def authenticate_partner(authorization: str | None, *, today: dt.date | None = None) -> int:
    """The id of the partner token a request carries, or a `TokenError`."""
    return _valid_row(authorization, kind=PARTNER, today=today).id
