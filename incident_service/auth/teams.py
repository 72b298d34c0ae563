"""Organisations and their case-team keys: creating them and granting them to caseworkers.

The team private key is never stored in the clear. It is sealed to each caseworker's own key
pair (a `TeamKeyGrant`); adding a caseworker seals it once more rather than re-encrypting every
report. When an organisation is created, its team private key is written once to a bootstrap
file in the keys directory so that the first supervisor can be granted it from the command line;
the operator moves that file offline afterwards (docs/operations.md).

A new holder is granted the key only once the granting person has typed the fingerprint the
holder read out from their own screen (`confirm_holder`): the key pair is made at the holder's
first login, so that fingerprint names the person who set the account up, not whoever created it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from incident_service.crypto import (
    RecipientPrivateKey,
    RecipientPublicKey,
    SuiteId,
    bindings,
    fingerprint_matches,
)
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.models import Organisation, TeamKey, TeamKeyGrant, User, db, today

DEFAULT_ORGANISATION_SLUG = "default"
DEFAULT_ORGANISATION_NAME = "Case team"

# A team key changes rarely (rotation), and reports sealed to the previous key stay readable
# by everyone granted it, so a process may keep using the key it read for a short while. Intake
# saves a database round trip per report this way; rotation waits this long for old copies.
DESTINATION_CACHE_SECONDS = 30.0


class TeamKeyUnavailable(Exception):
    """The caseworker has not been granted the team key (or the grant cannot be opened)."""


class TeamKeyCreationRefused(RuntimeError):
    """A serving process (web or worker) was about to make a team key pair. It never may: it
    would hold the team's private key, which must exist only in the bootstrap file that the
    operator's command line writes and then moves offline."""


class HolderNotConfirmed(Exception):
    """No fingerprint was typed for the new holder (`reason` "missing"), or it is not their
    key's ("mismatch"): the team key is not sealed to a key nobody vouched for."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def user_public_key(user: User) -> RecipientPublicKey | None:
    """The staff member's own public key, once first-login setup has made it."""
    if user.key_public is None or user.key_suite is None or user.must_change_password:
        return None
    return RecipientPublicKey(SuiteId.from_number(user.key_suite), user.key_public)


def confirm_holder(*, user: User, typed_fingerprint: str) -> None:
    """Raise unless `typed_fingerprint` is the fingerprint of `user`'s key pair."""
    public = user_public_key(user)
    if public is None:
        raise TeamKeyUnavailable("the user has not set up a key pair yet")
    if not typed_fingerprint.strip():
        raise HolderNotConfirmed("missing")
    if not fingerprint_matches(public, typed_fingerprint):
        raise HolderNotConfirmed("mismatch")


def bootstrap_path(keys_dir: Path, slug: str) -> Path:
    return keys_dir / f"team-{slug}.key"


def ensure_organisation(
    *,
    slug: str = DEFAULT_ORGANISATION_SLUG,
    name: str = DEFAULT_ORGANISATION_NAME,
    suite: SuiteId | None = None,
    keys_dir: Path | None = None,
) -> Organisation:
    """Return the organisation, creating it and its first team key if needed (no commit).

    Only the operator's command line and the embedded default (`PROCESS_ROLE=all`) create: a
    web or worker process raises `TeamKeyCreationRefused` instead (intake reaches here when the
    organisation is missing, e.g. before `incident-service init` was run).
    """
    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None or active_team_key(organisation) is None:
        _refuse_in_serving_process(slug)
    if organisation is None:
        organisation = Organisation(slug=slug, name=name)
        db.session.add(organisation)
        db.session.flush()
    if active_team_key(organisation) is None:
        chosen_suite = suite or SuiteId.from_name(current_app.config["HPKE_SUITE"])
        private = RecipientPrivateKey.generate(chosen_suite)
        db.session.add(
            TeamKey(
                organisation_id=organisation.id,
                key_id=private.key_id.hex(),
                suite=int(private.suite),
                public_key=private.public.public_bytes,
                active=True,
            )
        )
        db.session.flush()
        directory = keys_dir or Path(current_app.config["KEYS_DIR"])
        _write_bootstrap(bootstrap_path(directory, slug), private, slug)
    return organisation


def _refuse_in_serving_process(slug: str) -> None:
    role = str(current_app.config.get("PROCESS_ROLE", "all"))
    if role != "all":
        raise TeamKeyCreationRefused(
            f"organisation {slug!r} has no team key, and a {role} process never makes one "
            "(it would hold the team's private key); run `incident-service init` from the "
            "operator's machine (PROCESS_ROLE=all) first"
        )


def _write_bootstrap(path: Path, private: RecipientPrivateKey, slug: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        path.unlink()
    document = {
        "kind": "team-bootstrap",
        "organisation": slug,
        "key_id": private.key_id.hex(),
        "private": base64.b64encode(private.to_bytes()).decode("ascii"),
        "note": "Grant this key to the first supervisor, then move this file offline.",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


def load_bootstrap_key(organisation: Organisation, keys_dir: Path) -> RecipientPrivateKey | None:
    """The team private key from the bootstrap file, if it is still there and current."""
    path = bootstrap_path(keys_dir, organisation.slug)
    if not path.exists():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    private = RecipientPrivateKey.from_bytes(base64.b64decode(document["private"]))
    current = active_team_key(organisation)
    if current is None or private.key_id.hex() != current.key_id:
        return None
    return private


def grant_from_bootstrap(*, user: User, keys_dir: Path, typed_fingerprint: str) -> bool:
    """Grant `user` the team key from the bootstrap file if it is still there (no commit),
    once `typed_fingerprint` confirms their key (`HolderNotConfirmed` otherwise).

    Used for the first supervisors, from the command line after their first login, and for
    demo accounts.
    """
    from incident_service import audit

    organisation = db.session.get(Organisation, user.organisation_id)
    assert organisation is not None
    confirm_holder(user=user, typed_fingerprint=typed_fingerprint)
    team_private = load_bootstrap_key(organisation, keys_dir)
    if team_private is None:
        return False
    grant_team_key(user=user, team_private_key=team_private)
    audit.record(
        "key.grant",
        object_type="user",
        object_id=str(user.id),
        detail={"team_key": team_private.key_id.hex(), "from": "bootstrap file"},
    )
    return True


def active_team_key(organisation: Organisation) -> TeamKey | None:
    return db.session.scalar(
        select(TeamKey)
        .where(TeamKey.organisation_id == organisation.id, TeamKey.active.is_(True))
        .order_by(TeamKey.id.desc())
    )


def team_public_key(organisation: Organisation) -> RecipientPublicKey:
    key = active_team_key(organisation)
    if key is None:
        raise TeamKeyUnavailable(f"organisation {organisation.slug} has no team key")
    return RecipientPublicKey(SuiteId.from_number(key.suite), key.public_key)


def grant_team_key(
    *,
    user: User,
    team_private_key: RecipientPrivateKey,
    granted_by: User | None = None,
) -> TeamKeyGrant:
    """Seal the team private key to `user`'s key pair (no commit)."""
    if user.key_public is None or user.key_suite is None:
        raise TeamKeyUnavailable("the user has not set up a key pair yet")
    team_key = db.session.scalar(
        select(TeamKey).where(TeamKey.key_id == team_private_key.key_id.hex())
    )
    if team_key is None or team_key.organisation_id != user.organisation_id:
        raise TeamKeyUnavailable("that team key does not belong to the user's organisation")
    recipient = RecipientPublicKey(SuiteId.from_number(user.key_suite), user.key_public)
    sealed = seal(
        team_private_key.to_bytes(),
        context=bindings.team_key_grant(team_key.key_id, user.id),
        recipients=[recipient],
    )
    grant = db.session.scalar(
        select(TeamKeyGrant).where(
            TeamKeyGrant.team_key_id == team_key.id, TeamKeyGrant.user_id == user.id
        )
    )
    if grant is None:
        grant = TeamKeyGrant(team_key_id=team_key.id, user_id=user.id, sealed_private_key=b"")
        db.session.add(grant)
    grant.sealed_private_key = sealed
    grant.granted_by_id = granted_by.id if granted_by is not None else None
    grant.granted_on = today()
    db.session.flush()
    return grant


def open_team_key(*, user: User, user_private_key: RecipientPrivateKey) -> RecipientPrivateKey:
    """The organisation's active team private key, opened with the caseworker's key pair."""
    organisation = db.session.get(Organisation, user.organisation_id)
    assert organisation is not None
    team_key = active_team_key(organisation)
    if team_key is None:
        raise TeamKeyUnavailable("no team key")
    return open_grant(team_key=team_key, user=user, user_private_key=user_private_key)


def open_grant(
    *, team_key: TeamKey, user: User, user_private_key: RecipientPrivateKey
) -> RecipientPrivateKey:
    """One team key (active or retired) from the user's grant of it."""
    grant = db.session.scalar(
        select(TeamKeyGrant).where(
            TeamKeyGrant.team_key_id == team_key.id, TeamKeyGrant.user_id == user.id
        )
    )
    if grant is None:
        raise TeamKeyUnavailable("the team key has not been granted to this user")
    secret = open_envelope(
        grant.sealed_private_key,
        context=bindings.team_key_grant(team_key.key_id, user.id),
        private_key=user_private_key,
    )
    return RecipientPrivateKey.from_bytes(secret)
