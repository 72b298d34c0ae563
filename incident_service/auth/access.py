"""Who may see what: the logged-in staff member, role checks, and the keys their session unlocked.

Other blueprints use `require_roles(Role.X, ...)` on every staff view. It answers an anonymous
browser with a redirect to /login, an anonymous JSON client with 401, the wrong role with 403, and
sends an account that still has its one-time password to first-login setup. Views that open
reports also use `requires_team_key`, which shows a page asking to unlock (never an error, never
ciphertext) when the session holds no key.

`require_roles` reads `role` and `is_authenticated` from Flask-Login's current user, so a user
object from another loader (an API token's, say) works with it as long as it has both.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import g, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user

from incident_service.auth import accounts, sessions
from incident_service.auth.teams import user_public_key
from incident_service.constants import Role
from incident_service.crypto import RecipientPrivateKey, key_fingerprint
from incident_service.models import StaffSession, User, db

F = TypeVar("F", bound=Callable[..., Any])

# Cookie entry holding the session's unlock key (the token is Flask-Login's `_user_id`).
SESSION_UNLOCK_KEY = "staff_unlock"
# Pages an account with a one-time password may still reach.
SETUP_ENDPOINTS = frozenset({"auth.setup", "auth.logout"})
ALL_STAFF = (Role.CASEWORKER, Role.SUPERVISOR, Role.OFFICIAL, Role.ADMIN)
CASE_ROLES = (Role.CASEWORKER, Role.SUPERVISOR)


class StaffPrincipal(UserMixin):  # type: ignore[misc]
    """The user behind a live server-side session. `get_id` is the session token, so that
    Flask-Login's loader finds the session row rather than trusting a user id in the cookie."""

    def __init__(self, *, user: User, staff_session: StaffSession, token: str) -> None:
        self.user = user
        self.staff_session = staff_session
        self._token = token

    def get_id(self) -> str:
        return self._token

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def organisation_id(self) -> int:
        return self.user.organisation_id

    @property
    def must_change_password(self) -> bool:
        return bool(self.user.must_change_password)

    @property
    def holds_key(self) -> bool:
        return self.user.key_private_wrapped is not None

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def load_principal(token: str) -> StaffPrincipal | None:
    """Flask-Login's user_loader: the session row for the cookie's token, if still live."""
    lookup = sessions.find_session(token=token)
    principal = None
    if lookup.staff_session is not None:
        user = db.session.get(User, lookup.staff_session.user_id)
        if user is not None and user.active:
            principal = StaffPrincipal(user=user, staff_session=lookup.staff_session, token=token)
        else:
            db.session.delete(lookup.staff_session)
            lookup = sessions.SessionLookup(None, changed=True)
    if lookup.changed:
        db.session.commit()
    return principal


def current_staff() -> StaffPrincipal:
    """The logged-in staff member; only call behind `require_roles`."""
    user = current_user._get_current_object()
    if not isinstance(user, StaffPrincipal):
        raise RuntimeError("no staff session (is the view behind require_roles?)")
    return user


# --------------------------------------------------------------------------------------------
# Role checks


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def problem(status: int, title: str) -> ResponseReturnValue:
    """An RFC 9457 problem document, for JSON clients."""
    response = jsonify({"type": "about:blank", "title": title, "status": status})
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _unsafe_in_url(ch: str) -> bool:
    # Browsers drop tab, CR and LF anywhere in a URL and trim other control characters and
    # spaces, so "/\t/evil.example" is followed as "//evil.example"; none has a place here.
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (never another host).

    Refused: anything not starting with one "/", any backslash (read as "/" by browsers), any
    whitespace or control character, and anything `urlsplit` reads a scheme or host from.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(_unsafe_in_url(ch) for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target.rstrip("?") or None


def _role_of(user: Any) -> Role | None:
    value = getattr(user, "role", None)
    try:
        return Role(str(value)) if value is not None else None
    except ValueError:
        return None


def _refusal(allowed: frozenset[Role]) -> ResponseReturnValue | None:
    user = current_user
    if not getattr(user, "is_authenticated", False):
        if wants_json():
            return problem(401, "Log in first.")
        return redirect(url_for("auth.login", next=safe_next(request.full_path)))
    if getattr(user, "must_change_password", False) and request.endpoint not in SETUP_ENDPOINTS:
        if wants_json():
            return problem(403, "Finish setting up the account first.")
        return redirect(url_for("auth.setup"))
    if _role_of(user) not in allowed:
        if wants_json():
            return problem(403, "This account may not do that.")
        return render_template("staff/auth/forbidden.html"), 403
    return None


def require_roles(*roles: Role) -> Callable[[F], F]:
    """Allow a view to logged-in staff holding one of `roles` only."""
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError("require_roles needs at least one role")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refusal = _refusal(allowed)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


# --------------------------------------------------------------------------------------------
# Keys unlocked for this session


class KeyLocked(Exception):
    """The session has not unlocked the caseworker's key."""


class NoTeamKey(Exception):
    """The key is unlocked but the team key has not been granted to this caseworker."""


def session_keys() -> sessions.UnlockedKeys | None:
    if "staff_keys" in g:
        cached: sessions.UnlockedKeys | None = g.staff_keys
        return cached
    principal = current_staff()
    keys = sessions.load_unlocked_keys(
        staff_session=principal.staff_session, unlock_key=str(session.get(SESSION_UNLOCK_KEY, ""))
    )
    g.staff_keys = keys
    return keys


def remember_keys(keys: sessions.UnlockedKeys) -> None:
    """Seal the unlocked keys into this session's row under the cookie's key (no commit)."""
    principal = current_staff()
    sessions.store_unlocked_keys(
        staff_session=principal.staff_session,
        unlock_key=str(session.get(SESSION_UNLOCK_KEY, "")),
        keys=keys,
    )
    g.staff_keys = keys


def team_private_key() -> RecipientPrivateKey:
    """The team key for this session; raises `KeyLocked` or `NoTeamKey`.

    A grant made after the caseworker unlocked is picked up here, so they need not unlock again.
    """
    keys = session_keys()
    if keys is None:
        raise KeyLocked
    if keys.team_key is not None:
        return keys.team_key
    principal = current_staff()
    team_key = accounts.team_key_for(user=principal.user, user_key=keys.user_key)
    if team_key is None:
        raise NoTeamKey
    remember_keys(sessions.UnlockedKeys(user_key=keys.user_key, team_key=team_key))
    db.session.commit()
    return team_key


def requires_team_key(view: F) -> F:
    """Pass the session's team key to the view as `team_key`, or show why there is none."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            key = team_private_key()
        except KeyLocked:
            return render_template("staff/auth/locked.html", next=safe_next(request.full_path)), 200
        except NoTeamKey:
            # The fingerprint is public; shown here so the holder can read it to a supervisor.
            public = user_public_key(current_staff().user)
            fingerprint = key_fingerprint(public) if public is not None else None
            return render_template("staff/auth/no_team_key.html", fingerprint=fingerprint), 403
        return view(*args, team_key=key, **kwargs)

    return cast(F, wrapped)
