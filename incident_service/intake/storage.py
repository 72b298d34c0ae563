"""Intake's sealing and storing: seal a validated report, store it, and hand back a receipt.

One path for every way a report arrives — the web form, the JSON API and the seed loader all
call `parse_report` (intake.validation) then `submit_report` — so that validation and sealing
cannot drift apart. The report is committed before the receipt is returned; the pipeline is
nudged only after the commit, and a failure to reach the broker never fails the submission.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Engine,
    Insert,
    Select,
    String,
    bindparam,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

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
from incident_service.intake.submission import RecordedReport, ReportSubmission, SubmissionResult
from incident_service.keystore import current_keyring
from incident_service.models import (
    MixingPoolEntry,
    Organisation,
    Report,
    TeamKey,
    db,
    random_id,
    today,
)
from incident_service.pipeline import dispatch


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


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
    connection: Connection | None = None,
) -> tuple[RecordedReport, str]:
    """Seal a report and insert it in the session's transaction (no commit), or through
    `connection` when one is given.

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
    # The language the report was written in, for the status page to follow after a lookup:
    # sealed to the reporter's own key, so only the receipt opens it (no tag to count).
    reporter_language = seal(
        _canonical({"language": submission.language}),
        context=bindings.reporter_language(report_id),
        recipients=[reporter_key.public],
    )
    consented = submission.consent.statistics
    received = received_on or today()
    row: dict[str, Any] = {
        "id": report_id,
        "organisation_id": organisation_id,
        "receipt_hash": receipt_lookup_hash(receipt, pepper),
        "submission_token_hash": submission_token_hash(submission_token, pepper),
        "reporter_salt": salt,
        "reporter_public_key": reporter_key.public.to_bytes(),
        "statistical_section": statistical,
        "private_section": private,
        "reporter_language": reporter_language,
        "status": ReportStatus.NEW.value,
        "received_on": received,
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
    # Queued today, whatever day the report is dated (the seed loader back-dates demo reports).
    pool_row = {"report_id": report_id, "queued_on": today()} if consented else None
    _insert_report_rows(row, pool_row, connection or db.session.connection())
    return RecordedReport(id=report_id, consent_statistics=consented), receipt


def _insert_report_rows(
    report_row: dict[str, Any], pool_row: dict[str, Any] | None, connection: Connection
) -> None:
    """Write a report and its pool entry through `connection`.

    Core statements rather than ORM objects: the unit of work cost intake more CPU than the
    sealing does (docs/benchmarks.md). On PostgreSQL both inserts travel as one cached
    statement (see `_postgres_report_insert`); SQLite gets two.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            _postgres_report_insert(tuple(report_row)),
            {
                **report_row,
                "pooled": pool_row is not None,
                "queued_on": pool_row["queued_on"] if pool_row is not None else today(),
            },
        )
        return
    connection.execute(insert(Report.__table__), [report_row])
    if pool_row is not None:
        connection.execute(insert(MixingPoolEntry.__table__), [pool_row])


@functools.cache
def _postgres_report_insert(columns: tuple[str, ...]) -> Insert:
    """One statement for the report row and its pool entry.

    Data-modifying CTEs always run to completion, and foreign keys are checked at the end of
    the statement, so the pool entry may refer to the report inserted beside it. Every value
    is a bound parameter, so the statement has one shape: SQLAlchemy compiles it once and
    psycopg prepares it on the server.
    """
    report_id = bindparam("id", type_=String)
    new_report = (
        insert(Report.__table__)
        .values({name: bindparam(name) for name in columns})
        .cte("new_report")
    )
    return (
        insert(MixingPoolEntry.__table__)
        .from_select(
            ["report_id", "queued_on"],
            select(report_id, bindparam("queued_on", type_=Date)).where(
                bindparam("pooled", type_=Boolean)
            ),
        )
        .add_cte(new_report)
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


def _single_statement_engine() -> Engine | None:
    """The engine to send this request's report through as a statement of its own, if it
    will be the only statement of its transaction: on PostgreSQL, with nothing read or written
    in the session yet (creating the organisation on first use, say, takes several statements
    and stays one transaction). None means: use the session's transaction."""
    bind = db.session.get_bind()
    if (
        isinstance(bind, Engine)
        and bind.dialect.name == "postgresql"
        and not db.session().in_transaction()
    ):
        return bind
    return None


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
    engine = _single_statement_engine()
    try:
        if engine is not None:
            # The report, its tags and its pool entry are one statement (see
            # `_postgres_report_insert`), atomic on its own: run in autocommit it costs one
            # round trip instead of three (psycopg sends BEGIN, the insert and COMMIT each on
            # its own). Sent through a Core connection of the session's engine rather than the
            # ORM session, which has nothing to flush and whose transaction bookkeeping cost
            # about 50 µs of CPU a report (docs/benchmarks.md). The same pool, with its
            # pre-ping; the isolation level is reset when the connection goes back.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                report, receipt = record_report(
                    submission,
                    submission_token=token,
                    destination=destination,
                    received_on=received_on,
                    connection=connection,
                )
        else:
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
