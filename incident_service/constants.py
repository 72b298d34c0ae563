"""Domain constants as str enums: statuses, roles and states shared by models, views and tests."""

from __future__ import annotations

import enum


class ReportStatus(enum.StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    CLOSED = "closed"
    SPAM = "spam"
    DUPLICATE = "duplicate"

    @property
    def withdraws_statistics(self) -> bool:
        """Spam and duplicates must not be counted in any summary."""
        return self in UNCOUNTED_STATUSES


# The one definition of "spam and duplicates stop counting": the pipeline, the releases' case
# counts and the caseworkers' workflow all read it from here.
UNCOUNTED_STATUSES = frozenset({ReportStatus.SPAM, ReportStatus.DUPLICATE})


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    OFFICIAL = "official"
    ADMIN = "admin"

    @property
    def opens_reports(self) -> bool:
        return self in (Role.CASEWORKER, Role.SUPERVISOR)


class StatisticsState(enum.StrEnum):
    """Where a report stands in the anonymisation pipeline."""

    NOT_CONSENTED = "not_consented"  # reporter did not agree to statistics
    WAITING = "waiting"  # consented, waiting in the mixing pool
    RECORDED = "recorded"  # a statistical record exists (unlinkable)
    WITHDRAWN = "withdrawn"  # record removed (spam, duplicate, consent withdrawn)
    FAILED = "failed"  # the statistical section could not be opened; an operator must look


class MessageAuthor(enum.StrEnum):
    REPORTER = "reporter"
    CASEWORKER = "caseworker"


class ReleaseStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class ReleaseMethod(enum.StrEnum):
    SUPPRESSION = "suppression"  # threshold rule with secondary suppression
    DIFFERENTIAL_PRIVACY = "dp"  # OpenDP noisy counts over the public key set


class Section(enum.StrEnum):
    """Sections of a sealed report; the name is bound into each ciphertext."""

    STATISTICAL = "statistical"
    PRIVATE = "private"


class EvidenceState(enum.StrEnum):
    """Where an evidence file stands. Stored in the clear: it says nothing about the content."""

    STORED = "stored"  # original sealed and stored; no working copy yet
    WORKING_COPY = "working_copy"  # the metadata-stripped working copy exists beside it
    # The evidence worker could not make a copy (corrupt, too large to decode, unreadable): the
    # original is kept and `copy_problem` says why.
    COPY_REFUSED = "copy_refused"
    DELETED = "deleted"  # objects removed (retention or deletion request); the log keeps its leaf
