"""Events: what happened, as several reports may describe it, and the acts coded for it.

A caseworker links reports to one event (the group of 30 held at one airport is one event, many
reports, 30 persons) and codes its acts. Title, description, persons affected and every act are
sealed to the team key; only the organisation, the day created and the links are in the clear.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from incident_service import audit, taxonomy
from incident_service.auth.teams import team_public_key
from incident_service.crypto import RecipientPrivateKey, bindings
from incident_service.crypto.envelopes import open_envelope, seal
from incident_service.crypto.errors import CryptoError
from incident_service.models import Act, Event, Organisation, Report, db, random_id

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_PERSONS = 100_000


class EventNotFound(Exception):
    pass


class InvalidEventInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EventDetails:
    title: str
    description: str
    persons_affected: int


@dataclass(frozen=True)
class ActDetails:
    id: str
    code: str
    label: str
    victims: int
    perpetrator: str | None
    perpetrator_label: str | None


@dataclass(frozen=True)
class EventListing:
    event: Event
    details: EventDetails | None  # None if it cannot be opened with this team key
    reports: int


def _seal_for(organisation_id: int, document: dict[str, Any], context: bytes) -> bytes:
    organisation = db.session.get_one(Organisation, organisation_id)
    return seal(
        json.dumps(document, ensure_ascii=False).encode("utf-8"),
        context=context,
        recipients=[team_public_key(organisation)],
    )


def _check_details(title: str, description: str, persons_affected: int) -> None:
    if not title.strip():
        raise InvalidEventInput("title", "Give the event a short title.")
    if len(title) > MAX_TITLE:
        raise InvalidEventInput("title", f"At most {MAX_TITLE} characters.")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidEventInput("description", f"At most {MAX_DESCRIPTION} characters.")
    if not 1 <= persons_affected <= MAX_PERSONS:
        raise InvalidEventInput("persons_affected", "Persons affected must be at least 1.")


def create_event(
    *,
    organisation_id: int,
    title: str,
    description: str,
    persons_affected: int,
    actor_id: int,
) -> Event:
    _check_details(title, description, persons_affected)
    event_id = random_id()
    event = Event(
        id=event_id,
        organisation_id=organisation_id,
        created_by_id=actor_id,
        sealed=_seal_for(
            organisation_id,
            {
                "title": title.strip(),
                "description": description,
                "persons_affected": persons_affected,
            },
            bindings.event(event_id),
        ),
    )
    db.session.add(event)
    db.session.flush()
    audit.record("event.create", actor_id=actor_id, object_type="event", object_id=event_id)
    return event


def get_event(*, event_id: str, organisation_id: int) -> Event:
    if not re.fullmatch(r"[0-9a-f]{32}", event_id or ""):
        raise EventNotFound(event_id)
    event = db.session.get(Event, event_id)
    if event is None or event.organisation_id != organisation_id:
        raise EventNotFound(event_id)
    return event


def read_event(event: Event, team_key: RecipientPrivateKey) -> EventDetails:
    document = json.loads(
        open_envelope(event.sealed, context=bindings.event(event.id), private_key=team_key)
    )
    return EventDetails(
        title=str(document["title"]),
        description=str(document.get("description", "")),
        persons_affected=int(document.get("persons_affected", 1)),
    )


def list_events(*, organisation_id: int, team_key: RecipientPrivateKey) -> list[EventListing]:
    counts = dict(
        db.session.execute(
            select(Report.event_id, func.count(Report.id))
            .where(Report.organisation_id == organisation_id, Report.event_id.is_not(None))
            .group_by(Report.event_id)
        ).all()
    )
    events = db.session.scalars(
        select(Event)
        .where(Event.organisation_id == organisation_id)
        .order_by(Event.created_on.desc(), Event.id)
    )
    listings = []
    for event in events:
        try:
            details: EventDetails | None = read_event(event, team_key)
        except (CryptoError, ValueError, KeyError):
            details = None
        listings.append(EventListing(event=event, details=details, reports=counts.get(event.id, 0)))
    return listings


def link_report(*, report: Report, event: Event, actor_id: int) -> None:
    if event.organisation_id != report.organisation_id:
        raise EventNotFound(event.id)
    if report.event_id == event.id:
        return
    report.event_id = event.id
    audit.record(
        "event.link",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"event": event.id},
    )


def unlink_report(*, report: Report, actor_id: int) -> None:
    if report.event_id is None:
        return
    audit.record(
        "event.unlink",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"event": report.event_id},
    )
    report.event_id = None


def add_act(
    *, event: Event, code: str, victims: int, perpetrator: str | None, actor_id: int
) -> Act:
    """Code one act of the event: what was done, to how many, by whom."""
    if code not in taxonomy.ACTS:
        raise InvalidEventInput("code", "Unknown act.")
    if not 1 <= victims <= MAX_PERSONS:
        raise InvalidEventInput("victims", "At least one person.")
    if perpetrator and perpetrator not in taxonomy.PERPETRATORS:
        raise InvalidEventInput("perpetrator", "Unknown perpetrator type.")
    act_id = random_id()
    act = Act(
        id=act_id,
        event_id=event.id,
        sealed=_seal_for(
            event.organisation_id,
            {"code": code, "victims": victims, "perpetrator": perpetrator or None},
            bindings.event_act(event.id, act_id),
        ),
    )
    db.session.add(act)
    db.session.flush()
    audit.record(
        "event.act",
        actor_id=actor_id,
        object_type="event",
        object_id=event.id,
        detail={"act": act_id},
    )
    return act


def read_acts(event: Event, team_key: RecipientPrivateKey) -> list[ActDetails]:
    acts = db.session.scalars(select(Act).where(Act.event_id == event.id).order_by(Act.created_on))
    details = []
    for act in acts:
        document = json.loads(
            open_envelope(
                act.sealed, context=bindings.event_act(event.id, act.id), private_key=team_key
            )
        )
        perpetrator = document.get("perpetrator")
        details.append(
            ActDetails(
                id=act.id,
                code=str(document["code"]),
                label=taxonomy.ACTS.label(str(document["code"])),
                victims=int(document["victims"]),
                perpetrator=perpetrator,
                perpetrator_label=(
                    taxonomy.PERPETRATORS.label(perpetrator) if perpetrator else None
                ),
            )
        )
    return details


def linked_reports(event: Event) -> list[Report]:
    return list(
        db.session.scalars(
            select(Report)
            .where(Report.event_id == event.id, Report.organisation_id == event.organisation_id)
            .order_by(Report.received_on.desc(), Report.id)
        )
    )
