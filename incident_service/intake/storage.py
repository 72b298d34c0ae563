"""Intake: validate a report, seal it, store it, and hand the reporter a receipt.

One path for every way a report arrives — the web form, the JSON API and the seed loader all
call `parse_report` then `submit_report` — so that validation and sealing cannot drift apart.
The report is committed before the receipt is returned; the pipeline is nudged only after the
commit, and a failure to reach the broker never fails the submission.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Insert,
    LargeBinary,
    Select,
    String,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from incident_service import taxonomy
from incident_service.auth.teams import (
    DEFAULT_ORGANISATION_SLUG,
    DESTINATION_CACHE_SECONDS,
    ensure_organisation,
    team_public_key,
)
from incident_service.constants import ReportStatus, Section, StatisticsState
from incident_service.crypto import RecipientPublicKey, SuiteId, bindings
from incident_service.crypto.envelopes import seal
from incident_service.crypto.receipts import (
    derive_reporter_key,
    new_reporter_salt,
    new_submission_token,
    receipt_from_token,
    receipt_lookup_hash,
    submission_token_hash,
)
from incident_service.i18n import LANGUAGES
from incident_service.keystore import current_keyring
from incident_service.models import (
    MixingPoolEntry,
    Organisation,
    Report,
    ReportFacet,
    TeamKey,
    db,
    random_id,
    today,
    utcnow,
)
from incident_service.pipeline import dispatch

MAX_NARRATIVE = 20_000
MAX_PLACE_TEXT = 500
MAX_CONTACT = 200
MAX_PAYMENT_RUB = 100_000_000
SECTION_FORMAT_VERSION = 1
FUTURE_GRACE = dt.timedelta(days=1)


class InvalidReport(Exception):
    """Input that cannot be stored. `errors` maps field paths (``people.group_size``) to
    messages in the reporter's language (lazy strings, rendered at the edge)."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__("invalid report: " + ", ".join(sorted(errors)))
        self.errors = dict(errors)


@dataclass(frozen=True)
class People:
    citizenship: list[str] = field(default_factory=list)
    sex: str | None = None
    age_band: str | None = None
    legal_status: str | None = None
    group_size: int = 1
    women_involved: bool = False
    children_involved: bool = False


@dataclass(frozen=True)
class Coercion:
    contract_offered: bool = False
    contract_signed: bool = False
    citizenship_promised: bool = False
    payment_offered_rub: int | None = None


@dataclass(frozen=True)
class Contact:
    channel: str | None = None
    value: str = ""


@dataclass(frozen=True)
class Consent:
    statistics: bool
    follow_up: bool = False
    share_with_ombudsman: bool = False


@dataclass(frozen=True)
class ReportSubmission:
    """A validated report. Field names are the JSON API's; the form maps onto them."""

    language: str
    incident_date: dt.date
    date_precision: str
    acts: list[str]
    perpetrators: list[str]
    location_type: str | None
    country: str
    region: str | None
    airport: str | None
    place_text: str
    duration_hours: float | None
    people: People
    forced_labour_indicators: list[str]
    coercion: Coercion
    outcome: str
    narrative: str
    reporter_role: str | None
    contact: Contact
    consent: Consent

    def statistical_section(self) -> dict[str, Any]:
        """Coded answers only — the worker can open this, so no free text ever goes here."""
        return {
            "v": SECTION_FORMAT_VERSION,
            "incident_date": self.incident_date.isoformat(),
            "date_precision": self.date_precision,
            "acts": self.acts,
            "perpetrators": self.perpetrators,
            "location_type": self.location_type,
            "country": self.country,
            "region": self.region,
            "airport": self.airport,
            "duration_hours": self.duration_hours,
            "people": _plain(self.people),
            "forced_labour_indicators": self.forced_labour_indicators,
            "coercion": _plain(self.coercion),
            "outcome": self.outcome,
            "reporter_role": self.reporter_role,
            "consent_statistics": self.consent.statistics,
        }

    def private_section(self) -> dict[str, Any]:
        return {
            "v": SECTION_FORMAT_VERSION,
            "language": self.language,
            "place_text": self.place_text,
            "narrative": self.narrative,
            "contact": _plain(self.contact),
            "consent": _plain(self.consent),
        }


def _plain(group: object) -> dict[str, Any]:
    """A flat answer group as a dict (what `dataclasses.asdict` does, without its deep copy,
    which is a measurable share of intake's CPU time)."""
    return {
        f.name: list(value) if isinstance(value := getattr(group, f.name), list) else value
        for f in fields(group)  # type: ignore[arg-type]
    }


@dataclass(frozen=True)
class RecordedReport:
    id: str
    consent_statistics: bool


@dataclass(frozen=True)
class SubmissionResult:
    report_id: str
    receipt: str
    created: bool  # False when the same submission token was seen before


# --------------------------------------------------------------------------------------------
# Validation


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: str, message: Any) -> None:
        self.errors.setdefault(path, message)


def _text(value: Any, path: str, errors: _Collector, *, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(path, _l("This must be text."))
        return ""
    if len(value) > limit:
        errors.add(path, _l("This is too long (at most %(limit)s characters).", limit=limit))
        return ""
    if "\x00" in value or not _encodable(value):
        errors.add(path, _l("This contains characters that cannot be stored."))
        return ""
    return value


def _encodable(value: str) -> bool:
    """JSON can carry lone surrogates (``"\\ud800"``); UTF-8 cannot store them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _code(
    value: Any,
    path: str,
    vocabulary: taxonomy.Vocabulary,
    errors: _Collector,
    *,
    required: bool = False,
) -> str | None:
    if value is None or value == "":
        if required:
            errors.add(path, _l("Please choose an answer."))
        return None
    if not isinstance(value, str) or value not in vocabulary:
        errors.add(path, _l("This is not one of the choices offered."))
        return None
    return value


def _codes(
    value: Any,
    path: str,
    vocabulary: taxonomy.Vocabulary,
    errors: _Collector,
    *,
    required: bool = False,
) -> list[str]:
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        errors.add(path, _l("This must be a list of choices."))
        return []
    if len(value) > len(vocabulary):
        errors.add(path, _l("Too many choices."))
        return []
    result: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in vocabulary:
            errors.add(path, _l("This is not one of the choices offered."))
            return []
        if item not in result:
            result.append(item)
    if required and not result:
        errors.add(path, _l("Please choose at least one."))
    return result


def _bool(value: Any, path: str, errors: _Collector, *, required: bool = False) -> bool:
    if value is None:
        if required:
            errors.add(path, _l("Please answer yes or no."))
        return False
    if isinstance(value, bool):
        return value
    errors.add(path, _l("Please answer yes or no."))
    return False


def _number(
    value: Any,
    path: str,
    errors: _Collector,
    *,
    minimum: float,
    maximum: float,
    integer: bool,
) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(path, _l("This must be a number."))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(path, _l("This must be a number."))
        return None
    if integer and isinstance(value, float) and not value.is_integer():
        errors.add(path, _l("This must be a whole number."))
        return None
    if value < minimum or value > maximum:
        errors.add(
            path,
            _l("This must be between %(low)s and %(high)s.", low=int(minimum), high=int(maximum)),
        )
        return None
    return float(value)


def _mapping(value: Any, path: str, errors: _Collector) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.add(path, _l("This must be a group of answers."))
        return {}
    return value


def _incident_date(
    value: Any, precision: str | None, errors: _Collector, *, today_: dt.date
) -> dt.date | None:
    if value is None or value == "":
        errors.add("incident_date", _l("Please say roughly when it happened."))
        return None
    if not isinstance(value, str):
        errors.add("incident_date", _l("This is not a valid date."))
        return None
    try:
        if precision == "year":
            parsed = dt.date(int(value[:4]), 1, 1) if len(value) in (4, 7, 10) else None
        elif precision == "month":
            parsed = (
                dt.date(int(value[:4]), int(value[5:7]), 1)
                if len(value) in (7, 10) and value[4] == "-"
                else None
            )
        else:
            parsed = dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors.add("incident_date", _l("This is not a valid date."))
        return None
    if parsed.year < taxonomy.EARLIEST_INCIDENT_YEAR:
        errors.add(
            "incident_date",
            _l("Reports about events before %(year)s cannot be accepted.", year=2000),
        )
        return None
    # "Today" is judged in UTC, but a reporter in Vladivostok is up to 12 hours ahead of it:
    # a day of grace keeps a same-day report from being refused as "in the future".
    if parsed > today_ + FUTURE_GRACE:
        errors.add("incident_date", _l("This date is in the future."))
        return None
    return parsed


def parse_report(data: Any, *, today_: dt.date | None = None) -> ReportSubmission:
    """Validate a report body (API names) and return it typed, or raise `InvalidReport`."""
    errors = _Collector()
    if not isinstance(data, Mapping):
        raise InvalidReport({"": _l("The report must be a group of answers.")})
    now = today_ or today()

    language = data.get("language") or "ru"
    if not isinstance(language, str) or language not in LANGUAGES:
        errors.add("language", _l("This is not one of the choices offered."))
        language = "ru"

    precision = _code(
        data.get("date_precision") or "day", "date_precision", taxonomy.DATE_PRECISIONS, errors
    )
    incident_date = _incident_date(data.get("incident_date"), precision, errors, today_=now)

    acts = _codes(data.get("acts"), "acts", taxonomy.ACTS, errors, required=True)
    perpetrators = _codes(data.get("perpetrators"), "perpetrators", taxonomy.PERPETRATORS, errors)
    location_type = _code(
        data.get("location_type"), "location_type", taxonomy.LOCATION_TYPES, errors
    )
    country = _code(data.get("country"), "country", taxonomy.COUNTRIES, errors, required=True)
    region = _code(data.get("region"), "region", taxonomy.REGIONS, errors)
    airport = _code(data.get("airport"), "airport", taxonomy.AIRPORTS, errors)
    if region is not None and country not in (None, "RU"):
        errors.add("region", _l("Regions can only be chosen for Russia."))
    if airport is not None and country not in (None, "RU"):
        errors.add("airport", _l("Airports can only be chosen for Russia."))
    if airport is not None and region is None:
        region = taxonomy.airport_region(airport)
    place_text = _text(data.get("place_text"), "place_text", errors, limit=MAX_PLACE_TEXT)

    duration = _number(
        data.get("duration_hours"),
        "duration_hours",
        errors,
        minimum=0,
        maximum=taxonomy.MAX_DURATION_HOURS,
        integer=False,
    )

    people_data = _mapping(data.get("people"), "people", errors)
    group_size = _number(
        people_data.get("group_size"),
        "people.group_size",
        errors,
        minimum=1,
        maximum=taxonomy.MAX_GROUP_SIZE,
        integer=True,
    )
    people = People(
        citizenship=_codes(
            people_data.get("citizenship"), "people.citizenship", taxonomy.CITIZENSHIPS, errors
        ),
        sex=_code(people_data.get("sex"), "people.sex", taxonomy.SEXES, errors),
        age_band=_code(people_data.get("age_band"), "people.age_band", taxonomy.AGE_BANDS, errors),
        legal_status=_code(
            people_data.get("legal_status"),
            "people.legal_status",
            taxonomy.LEGAL_STATUSES,
            errors,
        ),
        group_size=int(group_size) if group_size is not None else 1,
        women_involved=_bool(people_data.get("women_involved"), "people.women_involved", errors),
        children_involved=_bool(
            people_data.get("children_involved"), "people.children_involved", errors
        ),
    )

    indicators = _codes(
        data.get("forced_labour_indicators"),
        "forced_labour_indicators",
        taxonomy.FORCED_LABOUR_INDICATORS,
        errors,
    )

    coercion_data = _mapping(data.get("coercion"), "coercion", errors)
    payment = _number(
        coercion_data.get("payment_offered_rub"),
        "coercion.payment_offered_rub",
        errors,
        minimum=0,
        maximum=MAX_PAYMENT_RUB,
        integer=True,
    )
    coercion = Coercion(
        contract_offered=_bool(
            coercion_data.get("contract_offered"), "coercion.contract_offered", errors
        ),
        contract_signed=_bool(
            coercion_data.get("contract_signed"), "coercion.contract_signed", errors
        ),
        citizenship_promised=_bool(
            coercion_data.get("citizenship_promised"), "coercion.citizenship_promised", errors
        ),
        payment_offered_rub=int(payment) if payment is not None else None,
    )

    outcome = _code(data.get("outcome"), "outcome", taxonomy.OUTCOMES, errors) or "UNK"
    narrative = _text(data.get("narrative"), "narrative", errors, limit=MAX_NARRATIVE)
    reporter_role = _code(
        data.get("reporter_role"), "reporter_role", taxonomy.REPORTER_ROLES, errors
    )

    contact_data = _mapping(data.get("contact"), "contact", errors)
    contact = Contact(
        channel=_code(
            contact_data.get("channel"), "contact.channel", taxonomy.CONTACT_CHANNELS, errors
        ),
        value=_text(contact_data.get("value"), "contact.value", errors, limit=MAX_CONTACT),
    )
    if contact.value.strip() and contact.channel is None:
        errors.add("contact.channel", _l("Please say how we can reach you."))

    consent_data = _mapping(data.get("consent"), "consent", errors)
    consent = Consent(
        statistics=_bool(
            consent_data.get("statistics"), "consent.statistics", errors, required=True
        ),
        follow_up=_bool(consent_data.get("follow_up"), "consent.follow_up", errors),
        share_with_ombudsman=_bool(
            consent_data.get("share_with_ombudsman"), "consent.share_with_ombudsman", errors
        ),
    )

    unknown = set(data) - _TOP_LEVEL_FIELDS
    for name in sorted(unknown)[:10]:
        errors.add(str(name), _l("This field is not part of the report."))

    if errors.errors:
        raise InvalidReport(errors.errors)
    assert incident_date is not None and precision is not None and country is not None
    return ReportSubmission(
        language=language,
        incident_date=incident_date,
        date_precision=precision,
        acts=acts,
        perpetrators=perpetrators,
        location_type=location_type,
        country=country,
        region=region,
        airport=airport,
        place_text=place_text,
        duration_hours=duration,
        people=people,
        forced_labour_indicators=indicators,
        coercion=coercion,
        outcome=outcome,
        narrative=narrative,
        reporter_role=reporter_role,
        contact=contact,
        consent=consent,
    )


_TOP_LEVEL_FIELDS = frozenset(
    {
        "language",
        "incident_date",
        "date_precision",
        "acts",
        "perpetrators",
        "location_type",
        "country",
        "region",
        "airport",
        "place_text",
        "duration_hours",
        "people",
        "forced_labour_indicators",
        "coercion",
        "outcome",
        "narrative",
        "reporter_role",
        "contact",
        "consent",
    }
)


# --------------------------------------------------------------------------------------------
# Sealing and storing


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def report_facets(submission: ReportSubmission) -> list[tuple[str, str]]:
    facets = [
        ("act_group", group) for group in sorted({taxonomy.act_group(a) for a in submission.acts})
    ]
    if submission.region:
        facets.append(("region", submission.region))
    facets.append(("country", submission.country))
    return facets


@dataclass(frozen=True)
class Destination:
    """Where a report goes: the organisation's id and the team key it is sealed to."""

    organisation_id: int
    team_key: RecipientPublicKey


@functools.cache
def _destination_query() -> Select[int, int, bytes]:
    # Built once: constructing the statement cost more CPU than running it.
    return (
        select(Organisation.id, TeamKey.suite, TeamKey.public_key)
        .join(TeamKey, TeamKey.organisation_id == Organisation.id)
        .where(Organisation.slug == bindparam("slug"), TeamKey.active.is_(True))
        .order_by(TeamKey.id.desc())
        .limit(1)
    )


def destination_for(organisation: Organisation | None = None) -> Destination:
    """The organisation (the default one if none is given) and its active team key, read in
    one query of plain columns (created first if missing), remembered for a few seconds."""
    slug = organisation.slug if organisation is not None else DEFAULT_ORGANISATION_SLUG
    cache: dict[str, tuple[float, Destination]] = current_app.extensions.setdefault(
        "incident_destinations", {}
    )
    now = time.monotonic()
    cached = cache.get(slug)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = db.session.execute(_destination_query(), {"slug": slug}).first()
    if row is None:
        # Not cached: the organisation is created in this transaction, which may roll back.
        created = ensure_organisation(slug=slug)
        return Destination(created.id, team_public_key(created))
    destination = Destination(
        row.id, RecipientPublicKey(SuiteId.from_number(row.suite), row.public_key)
    )
    cache[slug] = (now + DESTINATION_CACHE_SECONDS, destination)
    return destination


def record_report(
    submission: ReportSubmission,
    *,
    submission_token: bytes,
    organisation: Organisation | None = None,
    destination: Destination | None = None,
    received_on: dt.date | None = None,
) -> tuple[RecordedReport, str]:
    """Seal a report and insert it in the session's transaction (no commit).

    Returns what the caller needs of the row written (not an ORM object: building one cost
    intake more than a seal), and the receipt.

    Give either the `organisation` or its `destination` (from `destination_for`).
    """
    if destination is None:
        if organisation is None:
            raise ValueError("record_report needs an organisation or a destination")
        destination = Destination(organisation.id, team_public_key(organisation))
    organisation_id, team_key = destination.organisation_id, destination.team_key
    ring = current_keyring()
    pepper = ring.require_pepper()
    statistics_key: RecipientPublicKey = ring.require_statistics_public()
    suite = SuiteId.from_name(current_app.config["HPKE_SUITE"])

    report_id = random_id()
    receipt = receipt_from_token(submission_token, pepper)
    salt = new_reporter_salt()
    reporter_key = derive_reporter_key(receipt, salt, suite)

    statistical = seal(
        _canonical(submission.statistical_section()),
        context=bindings.report_section(report_id, Section.STATISTICAL),
        recipients=[team_key, statistics_key],
    )
    private = seal(
        _canonical(submission.private_section()),
        context=bindings.report_section(report_id, Section.PRIVATE),
        recipients=[team_key],
    )
    consented = submission.consent.statistics
    row: dict[str, Any] = {
        "id": report_id,
        "organisation_id": organisation_id,
        "receipt_hash": receipt_lookup_hash(receipt, pepper),
        "submission_token_hash": submission_token_hash(submission_token, pepper),
        "reporter_salt": salt,
        "reporter_public_key": reporter_key.public.to_bytes(),
        "statistical_section": statistical,
        "private_section": private,
        "status": ReportStatus.NEW.value,
        "priority": taxonomy.urgency(
            outcome=submission.outcome,
            acts=submission.acts,
            children=submission.people.children_involved,
        ),
        "received_on": received_on or today(),
        "consent_statistics": consented,
        "consent_follow_up": submission.consent.follow_up,
        "consent_ombudsman": submission.consent.share_with_ombudsman,
        "statistics_state": (
            StatisticsState.WAITING.value if consented else StatisticsState.NOT_CONSENTED.value
        ),
        # Written out rather than left to column defaults: the single-statement insert below
        # does not apply Python-side defaults.
        "verification": 0,
        "labels": "",
        "deletion_requested": False,
        "unread_for_caseworkers": 0,
    }
    index_key = ring.require_index_key().secret
    facet_rows = [
        {
            "report_id": report_id,
            "tag": bindings.facet_tag(index_key, organisation_id, facet, value),
        }
        for facet, value in report_facets(submission)
    ]
    pool_row = {"report_id": report_id, "queued_at": utcnow()} if consented else None
    _insert_report_rows(row, facet_rows, pool_row)
    return RecordedReport(id=report_id, consent_statistics=consented), receipt


def _insert_report_rows(
    report_row: dict[str, Any], facet_rows: list[dict[str, Any]], pool_row: dict[str, Any] | None
) -> None:
    """Write a report, its facets and its pool entry in the session's transaction.

    Core statements rather than ORM objects: the unit of work cost intake more CPU than the
    sealing does (docs/benchmarks.md). On PostgreSQL the three inserts travel as one cached
    statement (see `_postgres_report_insert`); SQLite gets three.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            _postgres_report_insert(tuple(report_row)),
            {
                **report_row,
                "facet_tags": [facet["tag"] for facet in facet_rows],
                "pooled": pool_row is not None,
                "queued_at": pool_row["queued_at"] if pool_row is not None else utcnow(),
            },
        )
        return
    connection.execute(insert(Report.__table__), [report_row])
    if facet_rows:
        connection.execute(insert(ReportFacet.__table__), facet_rows)
    if pool_row is not None:
        connection.execute(insert(MixingPoolEntry.__table__), [pool_row])


@functools.cache
def _postgres_report_insert(columns: tuple[str, ...]) -> Insert:
    """One statement for the report row, its facet tags and its pool entry.

    Data-modifying CTEs always run to completion, and foreign keys are checked at the end of
    the statement, so the facets and the pool entry may refer to the report inserted beside
    them. Every value is a bound parameter (the tags as one array), so the statement has one
    shape: SQLAlchemy compiles it once and psycopg prepares it on the server.
    """
    report_id = bindparam("id", type_=String)
    new_report = (
        insert(Report.__table__)
        .values({name: bindparam(name) for name in columns})
        .cte("new_report")
    )
    new_facets = (
        insert(ReportFacet.__table__)
        .from_select(
            ["report_id", "tag"],
            select(report_id, func.unnest(bindparam("facet_tags", type_=ARRAY(LargeBinary)))),
        )
        .cte("new_facets")
    )
    return (
        insert(MixingPoolEntry.__table__)
        .from_select(
            ["report_id", "queued_at"],
            select(report_id, bindparam("queued_at", type_=DateTime)).where(
                bindparam("pooled", type_=Boolean)
            ),
        )
        .add_cte(new_report, new_facets)
    )


def bind_submission_token(client_token: bytes, submission: ReportSubmission) -> bytes:
    """The submission token for a client's idempotency token and the report it carries.

    A client's token alone must not pick out a report: a partner app that sends predictable
    Idempotency-Keys ("1", "2", ...) would otherwise hand one reporter the receipt of another.
    Bound to the validated content, a replayed token returns the receipt only to a client that
    sends the very same report again; the same token with different content files a new one.
    """
    digest = hashlib.sha256(b"incident-service/v1/submission|")
    digest.update(hashlib.sha256(client_token).digest())
    digest.update(
        _canonical({"s": submission.statistical_section(), "p": submission.private_section()})
    )
    return digest.digest()


def find_by_submission_token(submission_token: bytes) -> Report | None:
    token_hash = submission_token_hash(submission_token, current_keyring().require_pepper())
    return db.session.scalar(select(Report).where(Report.submission_token_hash == token_hash))


def submit_report(
    submission: ReportSubmission,
    *,
    submission_token: bytes | None = None,
    organisation: Organisation | None = None,
    received_on: dt.date | None = None,
    nudge: bool = True,
) -> SubmissionResult:
    """Store a report, commit, then nudge the pipeline. Idempotent per submission token.

    The insert is optimistic: a token seen before fails the unique constraint, and the
    earlier report's receipt (derived from the same token) is returned. Looking first
    would cost every report a round trip to spare the rare double press one.
    """
    token = submission_token or new_submission_token()
    destination = destination_for(organisation)
    try:
        report, receipt = record_report(
            submission,
            submission_token=token,
            destination=destination,
            received_on=received_on,
        )
        db.session.commit()
    except IntegrityError:
        # The same token again (pressed twice, or two presses racing): answer as the first did.
        db.session.rollback()
        existing = find_by_submission_token(token)
        if existing is None:
            raise
        receipt = receipt_from_token(token, current_keyring().require_pepper())
        return SubmissionResult(existing.id, receipt, created=False)
    report_id, consented = report.id, report.consent_statistics
    if nudge and consented:
        dispatch.nudge_pipeline()
    return SubmissionResult(report_id, receipt, created=True)
