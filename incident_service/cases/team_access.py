"""Who on a case team holds the team key, a supervisor granting it, and the audit log as the
supervisor reads it in the interface."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from incident_service import audit
from incident_service.auth.teams import (
    HolderNotConfirmed,
    TeamKeyUnavailable,
    active_team_key,
    confirm_holder,
    grant_team_key,
)
from incident_service.constants import Role
from incident_service.crypto import RecipientPrivateKey
from incident_service.models import AuditEntry, Organisation, Report, TeamKeyGrant, User, db

AUDIT_PAGE_SIZE = 100


class MemberNotFound(Exception):
    pass


@dataclass(frozen=True)
class Member:
    user: User
    key_ready: bool  # has finished first login, so there is a key pair to seal to
    granted: bool


def members(organisation_id: int) -> list[Member]:
    organisation = db.session.get_one(Organisation, organisation_id)
    team_key = active_team_key(organisation)
    granted: set[int] = set()
    if team_key is not None:
        granted = set(
            db.session.scalars(
                select(TeamKeyGrant.user_id).where(TeamKeyGrant.team_key_id == team_key.id)
            )
        )
    users = db.session.scalars(
        select(User)
        .where(
            User.organisation_id == organisation_id,
            User.role.in_([Role.CASEWORKER.value, Role.SUPERVISOR.value]),
        )
        .order_by(User.email)
    )
    return [
        Member(
            user=user,
            key_ready=user.key_public is not None and not user.must_change_password,
            granted=user.id in granted,
        )
        for user in users
    ]


def member_email(user_id: int) -> str:
    user = db.session.get(User, user_id)
    return user.email if user is not None else ""


def grant(
    *,
    user_id: int,
    organisation_id: int,
    team_private_key: RecipientPrivateKey,
    granted_by: User,
    typed_fingerprint: str,
) -> User:
    """Seal the team key to a caseworker of the same organisation and record it (no commit).

    Only once `typed_fingerprint`, read out by the new holder from their own screen, names
    their key: otherwise `HolderNotConfirmed`, after an audit entry (the caller commits it), since
    a wrong fingerprint may mean someone else set the account up.
    """
    user = db.session.get(User, user_id)
    if (
        user is None
        or user.organisation_id != organisation_id
        or not user.active
        or not Role(user.role).opens_reports
    ):
        raise MemberNotFound(str(user_id))
    if user.key_public is None or user.must_change_password:
        raise TeamKeyUnavailable("they have not finished their first login yet")
    try:
        confirm_holder(user=user, typed_fingerprint=typed_fingerprint)
    except HolderNotConfirmed as exc:
        audit.record(
            "key.grant_refused",
            actor_id=granted_by.id,
            object_type="user",
            object_id=str(user.id),
            detail={"reason": f"fingerprint_{exc.reason}"},
        )
        raise
    grant_team_key(user=user, team_private_key=team_private_key, granted_by=granted_by)
    audit.record(
        "key.grant",
        actor_id=granted_by.id,
        object_type="user",
        object_id=str(user.id),
        detail={"team_key": team_private_key.key_id.hex()},
    )
    return user


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    actor: str | None


def audit_page(*, organisation_id: int, page: int) -> tuple[list[AuditLine], bool]:
    """Newest first: entries by this organisation's staff, and entries about its reports."""
    own_reports = select(Report.id).where(Report.organisation_id == organisation_id)
    own_users = select(User.id).where(User.organisation_id == organisation_id)
    rows = db.session.execute(
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(
            or_(
                AuditEntry.actor_id.in_(own_users),
                (AuditEntry.object_type == "report") & AuditEntry.object_id.in_(own_reports),
            )
        )
        .order_by(AuditEntry.id.desc())
        .offset((max(page, 1) - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE + 1)
    ).all()
    lines = [AuditLine(entry=entry, actor=email) for entry, email in rows[:AUDIT_PAGE_SIZE]]
    return lines, len(rows) > AUDIT_PAGE_SIZE
