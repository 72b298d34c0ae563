"""Rotating an organisation's team key: every envelope moves to a new key, everyone who held the
old key is granted the new one, and the old key is left with nothing to open.

Used when a caseworker leaves, when a device that held an unlocked key is lost, or to move to a
new HPKE suite. Only the team key's entry in each envelope changes (`replace_recipient`): the
statistics key's, the evidence key's and the reporter's entries stay, and no plaintext is
rewritten (evidence files' content keys, metadata and summaries move like report sections).

Web processes remember the team key they seal new reports to for a short while
(`teams.DESTINATION_CACHE_SECONDS`), so a report may still be sealed to the old key just after
the switch. `rotate_team_key` therefore moves envelopes twice, the second time after that window,
and withdraws the old key's grants only then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.sql.elements import ColumnElement

from incident_service import audit
from incident_service.auth import teams
from incident_service.auth.sessions import end_user_sessions
from incident_service.constants import Section
from incident_service.crypto import RecipientPrivateKey, SuiteId, bindings, replace_recipient
from incident_service.crypto.envelopes import recipients_of
from incident_service.crypto.keys import RecipientPublicKey
from incident_service.models import (
    Act,
    CaseNote,
    Event,
    EvidenceFile,
    Intervention,
    Message,
    Organisation,
    QueueIndexChunk,
    Report,
    TeamKey,
    TeamKeyGrant,
    User,
    db,
)

BATCH = 500


class RotationRefused(Exception):
    """The key offered is not the organisation's current team key."""


@dataclass(frozen=True)
class RotationResult:
    old_key_id: str
    new_key_id: str
    envelopes_moved: int
    grants_renewed: int


@dataclass(frozen=True)
class _Sealed:
    """One sealed column of one row, and the context it is bound to."""

    row: object
    attribute: str
    context: bytes


def _in_chunks(model: Any, condition: ColumnElement[bool]) -> Iterator[Any]:
    """Rows of `model` matching `condition`, loaded a chunk at a time by primary key.

    The ids are read first and each chunk with its own query, so that committing between
    chunks never closes a cursor that is still being read.
    """
    ids = list(db.session.scalars(select(model.id).where(condition).order_by(model.id)))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        yield from db.session.scalars(select(model).where(model.id.in_(chunk)))


def _sealed_columns(organisation_id: int) -> Iterator[_Sealed]:
    for report in _in_chunks(Report, Report.organisation_id == organisation_id):
        yield _Sealed(
            report, "statistical_section", bindings.report_section(report.id, Section.STATISTICAL)
        )
        yield _Sealed(
            report, "private_section", bindings.report_section(report.id, Section.PRIVATE)
        )
    in_org = select(Report.id).where(Report.organisation_id == organisation_id)
    for message in _in_chunks(Message, Message.report_id.in_(in_org)):
        context = bindings.report_message(
            message.report_id,
            version=message.binding_version,
            author=message.author,
            author_user_id=message.author_user_id,
            sent_on=message.sent_on,
        )
        yield _Sealed(message, "sealed", context)
    for note in _in_chunks(CaseNote, CaseNote.report_id.in_(in_org)):
        yield _Sealed(note, "sealed", bindings.case_note(note.report_id))
    with_notes = Intervention.report_id.in_(in_org) & Intervention.sealed_note.is_not(None)
    for intervention in _in_chunks(Intervention, with_notes):
        yield _Sealed(
            intervention, "sealed_note", bindings.case_intervention(intervention.report_id)
        )
    in_org_files = EvidenceFile.organisation_id == organisation_id
    for row in _in_chunks(EvidenceFile, in_org_files):
        yield _Sealed(
            row, "content_key_envelope", bindings.evidence_content_key(row.report_id, row.id)
        )
        yield _Sealed(row, "sealed_metadata", bindings.evidence_metadata(row.report_id, row.id))
        if row.removed_metadata is not None:
            context = bindings.evidence_removed_metadata(row.report_id, row.id)
            yield _Sealed(row, "removed_metadata", context)
        if row.reporter_summary is not None:
            context = bindings.evidence_reporter_summary(row.report_id, row.id)
            yield _Sealed(row, "reporter_summary", context)
    for event in _in_chunks(Event, Event.organisation_id == organisation_id):
        yield _Sealed(event, "sealed", bindings.event(event.id))
    events_of_org = select(Event.id).where(Event.organisation_id == organisation_id)
    for act in _in_chunks(Act, Act.event_id.in_(events_of_org)):
        yield _Sealed(act, "sealed", bindings.event_act(act.event_id, act.id))


def move_envelopes(
    *,
    organisation: Organisation,
    old_keys: Sequence[RecipientPrivateKey],
    new_key: RecipientPublicKey,
) -> int:
    """Re-seal every envelope of the organisation still sealed to one of `old_keys` (commits in
    batches). Safe to run again: envelopes already moved are skipped."""
    by_id = {key.key_id: key for key in old_keys}
    moved = 0
    for item in _sealed_columns(organisation.id):
        blob = getattr(item.row, item.attribute)
        holder = next((by_id[k] for k in recipients_of(blob) if k in by_id), None)
        if holder is None:
            continue
        setattr(
            item.row,
            item.attribute,
            replace_recipient(
                blob, context=item.context, private_key=holder, new_recipient=new_key
            ),
        )
        moved += 1
        if moved % BATCH == 0:
            db.session.commit()
    db.session.commit()
    return moved


def held_team_keys(*, user: User, user_key: RecipientPrivateKey) -> list[RecipientPrivateKey]:
    """Every team key of the user's organisation the user holds a grant for, active or retired.

    A rotation cut short leaves envelopes on a retired key; the next rotation moves those too.
    """
    keys = db.session.scalars(
        select(TeamKey)
        .join(TeamKeyGrant, TeamKeyGrant.team_key_id == TeamKey.id)
        .where(TeamKeyGrant.user_id == user.id, TeamKey.organisation_id == user.organisation_id)
    ).all()
    return [teams.open_grant(team_key=key, user=user, user_private_key=user_key) for key in keys]


def switch_team_key(
    *,
    organisation: Organisation,
    current_team_key: RecipientPrivateKey,
    suite: SuiteId,
    actor_id: int | None,
) -> tuple[RecipientPrivateKey, int]:
    """Make a new active team key, grant it to every holder of the current one and end their
    sessions (their unlocked copy is of the old key). Commits. Returns the new key and the
    number of grants made."""
    active = teams.active_team_key(organisation)
    if active is None or active.key_id != current_team_key.key_id.hex():
        raise RotationRefused("that is not the organisation's current team key")
    new_key = RecipientPrivateKey.generate(suite)
    active.active = False
    db.session.add(
        TeamKey(
            organisation_id=organisation.id,
            key_id=new_key.key_id.hex(),
            suite=int(new_key.suite),
            public_key=new_key.public.public_bytes,
            active=True,
        )
    )
    db.session.flush()
    holders = db.session.scalars(
        select(User)
        .join(TeamKeyGrant, TeamKeyGrant.user_id == User.id)
        .where(TeamKeyGrant.team_key_id == active.id, User.active.is_(True))
    ).all()
    for user in holders:
        teams.grant_team_key(user=user, team_private_key=new_key)
        end_user_sessions(user_id=user.id)
    audit.record(
        "key.rotate",
        actor_id=actor_id,
        object_type="organisation",
        object_id=organisation.slug,
        detail={
            "old_key": active.key_id,
            "new_key": new_key.key_id.hex(),
            "grants": len(holders),
        },
    )
    db.session.commit()
    # This process seals new reports to the new key at once; others within the cache window.
    current_app.extensions.get("incident_destinations", {}).pop(organisation.slug, None)
    return new_key, len(holders)


def withdraw_old_grants(*, old_key_id: str) -> int:
    """Delete every grant of a retired key: nothing is sealed to it any more. Commits."""
    old = db.session.scalar(select(TeamKey).where(TeamKey.key_id == old_key_id))
    if old is None or old.active:
        return 0
    result = db.session.execute(delete(TeamKeyGrant).where(TeamKeyGrant.team_key_id == old.id))
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def rotate_team_key(
    *,
    organisation: Organisation,
    held_keys: Sequence[RecipientPrivateKey],
    suite: SuiteId,
    actor_id: int | None = None,
    wait: Callable[[float], None] | None = None,
) -> RotationResult:
    """The whole rotation: switch, move, wait out other processes' cache, move again, retire.

    `held_keys` must include the current team key; retired keys in it (from a rotation cut
    short) have their envelopes moved and their grants withdrawn as well.
    """
    wait = wait or time.sleep
    active = teams.active_team_key(organisation)
    current = next(
        (key for key in held_keys if active is not None and key.key_id.hex() == active.key_id),
        None,
    )
    if current is None:
        raise RotationRefused("that is not the organisation's current team key")
    new_key, grants = switch_team_key(
        organisation=organisation, current_team_key=current, suite=suite, actor_id=actor_id
    )
    moved = move_envelopes(organisation=organisation, old_keys=held_keys, new_key=new_key.public)
    # The queue's index chunks are sealed under a key derived from the old team key.
    QueueIndexChunk.discard([organisation.id])
    db.session.commit()
    wait(teams.DESTINATION_CACHE_SECONDS + 5)
    moved += move_envelopes(organisation=organisation, old_keys=held_keys, new_key=new_key.public)
    QueueIndexChunk.discard([organisation.id])  # any written meanwhile under the old key
    db.session.commit()
    for key in held_keys:
        withdraw_old_grants(old_key_id=key.key_id.hex())
    return RotationResult(
        old_key_id=current.key_id.hex(),
        new_key_id=new_key.key_id.hex(),
        envelopes_moved=moved,
        grants_renewed=grants,
    )
