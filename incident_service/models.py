"""SQLAlchemy 2 models: ciphertext, the coarse metadata operation needs, and statistical records.

What a stolen dump holds, table by table, is in docs/architecture.md. The rule: everything a
reporter wrote is inside a sealed column (`LargeBinary`, an envelope from `crypto.envelopes`);
plaintext columns are status, day received, assignment, consent flags and key ids. Nothing on a
report row says how urgent it is or what it is about (the queue reads that from sealed data,
see `cases.queue_index`).
Statistical records have their own random ids and carry no report id, no time finer than a
month and no column that follows submission order.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from collections.abc import Iterable
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from incident_service import month_versions
from incident_service.constants import (
    EvidenceState,
    ReleaseStatus,
    ReportStatus,
    StatisticsState,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys (and so cascades) only when asked, per connection; and it
    overwrites deleted content with zeros only when asked (many builds default to leaving it
    in free pages, where a copy of the file would still show a deleted report's ciphertext)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def random_id() -> str:
    """128 random bits as hex: ids that neither order nor can be guessed."""
    return secrets.token_hex(16)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --------------------------------------------------------------------------------------------
# Organisations, staff, keys


class Organisation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)

    team_keys: Mapped[list[TeamKey]] = relationship(back_populates="organisation")


class TeamKey(db.Model):  # type: ignore[name-defined,misc]
    """An organisation's case-team key pair. Only the public half is stored in the clear."""

    __tablename__ = "team_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    suite: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)

    organisation: Mapped[Organisation] = relationship(back_populates="team_keys")


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # TOTP secret encrypted under the web's totp.key, so a database dump alone cannot mint codes.
    totp_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # The caseworker's own key pair: private half wrapped under Argon2id(passphrase) and,
    # separately, under the recovery key printed once at enrolment.
    key_suite: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key_public: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_private_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_private_recovery: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)

    organisation: Mapped[Organisation] = relationship()


class TeamKeyGrant(db.Model):  # type: ignore[name-defined,misc]
    """The team private key sealed to one caseworker's key pair."""

    __tablename__ = "team_key_grants"
    __table_args__ = (UniqueConstraint("team_key_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_key_id: Mapped[int] = mapped_column(ForeignKey("team_keys.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    granted_on: Mapped[dt.date] = mapped_column(Date, default=today)


class StaffSession(db.Model):  # type: ignore[name-defined,misc]
    """Server side of a staff login. The cookie holds the token and the unlock key; this row
    holds only their hashes and the unlocked team key encrypted under the cookie's key."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    unlocked_keys: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token issued to an official (summaries) or to a partner app (filing reports);
    only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="official", server_default="official")
    # The official it speaks for; none for a partner app.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, nullable=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revoked_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


# --------------------------------------------------------------------------------------------
# Reports, events, acts (after HURIDOCS Events Standard Formats)


class Event(db.Model):  # type: ignore[name-defined,misc]
    """What happened; several reports can describe one event (linked by a caseworker)."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Title, description, persons affected: written by caseworkers, sealed to the team key.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    reports: Mapped[list[Report]] = relationship(back_populates="event")
    acts: Mapped[list[Act]] = relationship(back_populates="event", cascade="all, delete-orphan")


class Act(db.Model):  # type: ignore[name-defined,misc]
    """Who did what to whom, as coded by a caseworker for an event (sealed: code, victims,
    perpetrator type, verification)."""

    __tablename__ = "acts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    event: Mapped[Event] = relationship(back_populates="acts")


_overridden = {
    f"{dialect}_where": text("priority_override IS NOT NULL")
    for dialect in ("postgresql", "sqlite")
}


class QueueIndexChunk(db.Model):  # type: ignore[name-defined,misc]
    """Queue index entries sealed under a key derived from the team key (`cases/queue_store`),
    so that a restarted web process opens a few chunks instead of every report."""

    __tablename__ = "queue_index_chunks"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    @classmethod
    def discard(cls, organisation_ids: Iterable[int]) -> None:
        """Delete the organisations' chunks: they must not outlive a deleted report's coded
        answers, nor a rotated team key."""
        wanted = sorted(set(organisation_ids))
        if wanted:
            db.session.execute(sa_delete(cls).where(cls.organisation_id.in_(wanted)))


class Report(db.Model):  # type: ignore[name-defined,misc]
    """What one person submitted. Sections are envelopes bound to `report/<id>/<section>`."""

    __tablename__ = "reports"
    __table_args__ = (
        # Covers the queue's candidates and counts, so PostgreSQL answers them from the index.
        Index(
            "ix_reports_queue",
            "organisation_id",
            "status",
            "received_on",
            "id",
            postgresql_include=["assignee_id"],
        ),
        # The few reports with a caseworker's sealed priority, which the queue ranks apart.
        Index(
            "ix_reports_priority_override",
            "organisation_id",
            postgresql_where=text("priority_override IS NOT NULL"),
            sqlite_where=text("priority_override IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    submission_token_hash: Mapped[bytes | None] = mapped_column(
        LargeBinary(32), unique=True, nullable=True
    )
    reporter_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    reporter_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Coded answers (acts, place, people, dates): sealed to the team and statistics keys.
    statistical_section: Mapped[bytes] = mapped_column(LargeBinary)
    # Narrative, free-text place, contact details: sealed to the team key only.
    private_section: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.NEW.value)
    # The language it was written in, sealed to the reporter's key (None: filed before 0012).
    reporter_language: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # A caseworker's choice of priority, sealed to the team key; None: the coded answers decide.
    priority_override: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    received_on: Mapped[dt.date] = mapped_column(Date, default=today)
    triaged_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    referred_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), nullable=True, index=True)
    verification: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[str] = mapped_column(String(500), default="")
    consent_statistics: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_ombudsman: Mapped[bool] = mapped_column(Boolean, default=False)
    deletion_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    statistics_state: Mapped[str] = mapped_column(
        String(20), default=StatisticsState.NOT_CONSENTED.value, index=True
    )
    statistics_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    unread_for_caseworkers: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event | None] = relationship(back_populates="reports")
    messages: Mapped[list[Message]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="Message.id"
    )


class Message(db.Model):  # type: ignore[name-defined,misc]
    """A message in a report's thread, sealed to the team key and the reporter's key."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(20))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    sent_on: Mapped[dt.date] = mapped_column(Date, default=today)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the sealing context binds (crypto.bindings.report_message): 0 for messages written
    # before author and day were bound (revision 0005), 1 since.
    binding_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    report: Mapped[Report] = relationship(back_populates="messages")


class CaseNote(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Intervention(db.Model):  # type: ignore[name-defined,misc]
    """What was done about a report: lawyer, complaint, consulate, medical, referral, none."""

    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    on_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    sealed_note: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


# --------------------------------------------------------------------------------------------
# Anonymisation pipeline and statistics


class MixingPoolEntry(db.Model):  # type: ignore[name-defined,misc]
    """A consenting report waiting to be anonymised in the next shuffled batch.

    The row is deleted when the batch is written. It keeps the day the report was queued, never
    the time: a time to the second beside a report id dates the submission for anyone holding
    a provider's connection records.
    """

    __tablename__ = "mixing_pool"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    queued_on: Mapped[dt.date] = mapped_column(Date, default=today, index=True)


class StatisticalRecord(db.Model):  # type: ignore[name-defined,misc]
    """One consenting report, generalised. No report id, no time finer than a month."""

    __tablename__ = "statistical_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    # HMAC(report id) under the worker-held withdrawal key: the only way back, for withdrawal.
    withdrawal_tag: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    country: Mapped[str] = mapped_column(String(2))
    federal_district: Mapped[str | None] = mapped_column(String(3), nullable=True)
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    airport: Mapped[str | None] = mapped_column(String(3), nullable=True)
    location_type: Mapped[str | None] = mapped_column(String(3), nullable=True)
    sex: Mapped[str | None] = mapped_column(String(3), nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(5), nullable=True)
    legal_status: Mapped[str | None] = mapped_column(String(4), nullable=True)
    group_size_band: Mapped[str] = mapped_column(String(5))
    persons_affected: Mapped[int] = mapped_column(Integer)
    duration_band: Mapped[str] = mapped_column(String(6))
    women_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    children_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_offered: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    citizenship_promised: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_offered: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(3))
    reporter_role: Mapped[str] = mapped_column(String(10))

    acts: Mapped[list[StatisticalAct]] = relationship(cascade="all, delete-orphan")
    perpetrators: Mapped[list[StatisticalPerpetrator]] = relationship(cascade="all, delete-orphan")
    citizenships: Mapped[list[StatisticalCitizenship]] = relationship(cascade="all, delete-orphan")
    indicators: Mapped[list[StatisticalIndicator]] = relationship(cascade="all, delete-orphan")


class StatisticalAct(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "statistical_acts"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("statistical_records.id", ondelete="CASCADE"), primary_key=True
    )
    act_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    act_group: Mapped[str] = mapped_column(String(3), index=True)


class StatisticalPerpetrator(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "statistical_perpetrators"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("statistical_records.id", ondelete="CASCADE"), primary_key=True
    )
    perpetrator: Mapped[str] = mapped_column(String(3), primary_key=True)


class StatisticalCitizenship(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "statistical_citizenships"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("statistical_records.id", ondelete="CASCADE"), primary_key=True
    )
    citizenship: Mapped[str] = mapped_column(String(3), primary_key=True)
    origin_region: Mapped[str] = mapped_column(String(3))


class StatisticalIndicator(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "statistical_indicators"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("statistical_records.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(String(4), primary_key=True)


class StatisticalMonthVersion(db.Model):  # type: ignore[name-defined,misc]
    """A random value that the statistical records of a month (with their child rows) keep
    until their next write.

    Replaced only by the database's triggers (`month_versions`), in the transaction that
    writes; random rather than counted, so that it says nothing of how many writes there were.
    A month absent here has not been written since the triggers were installed.
    """

    __tablename__ = "statistical_month_versions"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))


class StatisticalMonthCounts(db.Model):  # type: ignore[name-defined,misc]
    """A month's record counts as a release counted them, at one version of its records.

    Used while the month's version is still `version` and the counting (`format`) is the
    same; otherwise counted again (see `releases.month_cache`). Holds only what a `GROUP BY`
    of the statistical records of the month gives anyone who can read them.
    """

    __tablename__ = "statistical_month_counts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(16))
    counts: Mapped[str] = mapped_column(Text)


@event.listens_for(db.metadata, "after_create")
def _install_month_triggers(target: object, connection: Any, **kw: object) -> None:
    # `create_all()` builds the tables; the versions only mean something with the triggers.
    month_versions.install(connection)


# --------------------------------------------------------------------------------------------
# Releases (fixed, reviewed, signed summaries)


class Release(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("period", "method", "parameters_digest"),
        # At most one published release per period and method: two would differ only by what
        # changed in between, and subtracting them would show exactly that. The service checks
        # this under a lock; the index makes it hold whatever writes to the table.
        Index(
            "uq_releases_one_published",
            "period",
            "method",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))  # 2024-11, 2024-Q4, 2024
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[str] = mapped_column(Text)  # canonical JSON
    parameters_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default=ReleaseStatus.DRAFT.value)
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Disclosure-controlled tables and, for DP releases, the noisy counts drawn once.
    content: Mapped[str] = mapped_column(Text, default="{}")
    disclosure_audit: Mapped[str] = mapped_column(Text, default="{}")
    manifest: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # DP only: what the noisy figures depend on (period, data, ε, contributions), so that a
    # draft with the same figures reuses the stored draw (privacy.noise_key). Never published.
    noise_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    files: Mapped[list[ReleaseFile]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )


class ReleaseFile(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "release_files"
    __table_args__ = (UniqueConstraint("release_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))

    release: Mapped[Release] = relationship(back_populates="files")


class PrivacyLedgerEntry(db.Model):  # type: ignore[name-defined,misc]
    """ε spent by a differentially private release, written with the release itself."""

    __tablename__ = "privacy_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), unique=True)
    epsilon: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --------------------------------------------------------------------------------------------
# Audit trail


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """One hash-chained entry: entry_hash = HMAC(prev_hash || canonical fields).

    `at` is the day (midnight UTC) for anything about a report and for reporter actions, and
    the minute for staff-only matters (logins, accounts, tokens, releases): see `audit.py`.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(30), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class PendingReporterAction(db.Model):  # type: ignore[name-defined,misc]
    """A reporter's action (a message, consent withdrawn, deletion asked) waiting to join the
    audit chain. Entries join after their day has ended, all of a day at once in random order,
    so that their place in the chain between timed staff entries cannot date them."""

    __tablename__ = "pending_reporter_actions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    on_day: Mapped[dt.date] = mapped_column(Date, default=today, index=True)
    action: Mapped[str] = mapped_column(String(50))
    report_id: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")


# --------------------------------------------------------------------------------------------
# Evidence files and the transparency log of their commitments


class EvidenceFile(db.Model):  # type: ignore[name-defined,misc]
    """One file a reporter sent. Its bytes are in the file store, sealed; here: its sealed key
    and metadata, the salted commitment, where the objects are, and coarse facts only.

    No exact size (only the sealed size, which the store shows anyway, in buckets), no type,
    no name and no time finer than the day: those are inside `sealed_metadata`.
    """

    __tablename__ = "evidence_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # The per-file content key, in an envelope for the team key only.
    content_key_envelope: Mapped[bytes] = mapped_column(LargeBinary)
    # Salt, SHA-256, type, original name, day received: an envelope for the team key.
    sealed_metadata: Mapped[bytes] = mapped_column(LargeBinary)
    # HMAC-SHA256(salt, SHA-256): useless without the sealed salt, so a copy of the file does
    # not lead here.
    commitment: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    sealed_size: Mapped[int] = mapped_column(Integer)
    original_object: Mapped[str] = mapped_column(String(64), unique=True)
    working_object: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default=EvidenceState.STORED.value)
    received_on: Mapped[dt.date] = mapped_column(Date, default=today)
    # Name, size, type and fingerprint for the reporter's status page: an envelope for the key
    # derived from the receipt (and the team key), so the web can list files to a receipt
    # holder without holding any private key.
    reporter_summary: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # What the clean copy left out (EXIF, GPS, tags: names and values) and the copy's type:
    # an envelope for the team key, written by the evidence worker.
    removed_metadata: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Why no working copy could be made (`corrupt`, `too_many_pixels`, ...): a coarse reason.
    copy_problem: Mapped[str | None] = mapped_column(String(30), nullable=True)


class EvidenceUpload(db.Model):  # type: ignore[name-defined,misc]
    """A resumable (tus) upload in progress. Everything about it that could tell a size or a
    time (content key, offset, length, exact expiry, the bytes of an unfinished chunk) is in
    `sealed_state`, under a key derived from the secret in the upload's URL, which the service
    never stores. `purge_on` is the day after the upload expires: a day, never a time."""

    __tablename__ = "evidence_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    sealed_state: Mapped[bytes] = mapped_column(LargeBinary)
    # Objects holding the sealed records received so far, in order, space-separated: the purge
    # removes them without the secret.
    segments: Mapped[str] = mapped_column(Text, default="")
    purge_on: Mapped[dt.date] = mapped_column(Date, index=True)


class EvidenceLogLeaf(db.Model):  # type: ignore[name-defined,misc]
    """A commitment in the append-only log. `leaf_index` stays empty until the day's batch is
    appended in shuffled order, so an index never tells the order files arrived in a day.
    Leaves outlive their files: the log is append-only."""

    __tablename__ = "evidence_log_leaves"

    commitment: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    leaf_index: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    received_on: Mapped[dt.date] = mapped_column(Date, index=True)


class EvidenceTreeHead(db.Model):  # type: ignore[name-defined,misc]
    """A signed tree head of the evidence log (Ed25519, the worker's signing key)."""

    __tablename__ = "evidence_tree_heads"

    tree_size: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[str] = mapped_column(String(16))
    # RFC 3161 timestamp token over the signed head, when a TSA is configured.
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
