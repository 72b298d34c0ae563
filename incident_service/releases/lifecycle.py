"""Releases: generate a fixed, signed summary for a period, review it, publish it.

A release is identified by its period, its method and its parameters (a digest of them):
asking for the same release twice returns the same release, whether the second request comes
from a retried task, a second click or the beat schedule. Generation runs in the worker (it
needs the signing key): it counts, protects, renders every file, signs the manifest and stores
all of it — and, for a differentially private release that drew new noise, the ledger entry —
in one transaction (a DP draft with the same figures as a stored one reuses its noise).
Publication is a supervisor's decision; it re-checks the stored files against the signature
and the published figures against earlier releases, then makes the release visible. Nothing
about a release changes after it is generated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from incident_service import audit as audit_log
from incident_service import locks
from incident_service.constants import ReleaseMethod, ReleaseStatus, Role
from incident_service.crypto import SigningKey
from incident_service.evidence import log as evidence_log
from incident_service.keystore import current_keyring
from incident_service.models import PrivacyLedgerEntry, Release, ReleaseFile, User, db, utcnow
from incident_service.releases import month_cache, privacy
from incident_service.releases.content import (
    ContentResult,
    JointInputs,
    comparison,
    suppression_content,
)
from incident_service.releases.counts import (
    RecordCounts,
    add_counts,
    count_cases,
)
from incident_service.releases.differencing import (
    PublishedFigures,
    TotalWouldDisclose,
    derivable,
    differencing_risks,
    hidden_keys,
)
from incident_service.releases.disclosure import AuditFailed, Component, DisclosureRules
from incident_service.releases.errors import ReleaseError
from incident_service.releases.joint import JointAuditRefused, JointRelease, joint_audit
from incident_service.releases.parameters import (
    canonical_json,
    normalise_parameters,
    parameters_digest,
    release_method,
)
from incident_service.releases.periods import ReleasePeriod, parse_period
from incident_service.releases.tables import record_components


class ReleaseNotFound(ReleaseError):
    def __init__(self, release_id: object) -> None:
        super().__init__(f"no release {release_id}")


class NotAllowed(ReleaseError):
    pass


class ReleaseTampered(ReleaseError):
    """A stored file no longer matches the signed manifest."""


class ReleaseBlockedByDifferencing(ReleaseError):
    """Raised at generation when even the release's total would expose a small remainder."""


class ReleaseWouldDisclose(ReleaseError):
    """Published together with releases published since it was generated, this draft would
    let readers difference out small figures; discard and generate it again."""

    def __init__(self, cells: Sequence[str]) -> None:
        shown = ", ".join(sorted(cells)[:5])
        super().__init__(
            f"publishing this draft would expose small differences against releases published "
            f"since it was generated ({shown}); discard it and generate it again"
        )
        self.cells = list(cells)


class PeriodAlreadyPublished(ReleaseError):
    """A period has at most one published release per method: two releases of the same
    period differ only by what changed in between (late reports, withdrawals) or by their
    parameters, and subtracting them would show exactly that."""

    def __init__(self, period: str, method: str, release_id: int) -> None:
        super().__init__(
            f"release {release_id} of {period} ({method}) is already published; a period has "
            "one published release per method, so this draft cannot be published"
        )
        self.release_id = release_id


class DraftKeepsBudget(ReleaseError):
    def __init__(self) -> None:
        super().__init__(
            "a differentially private draft cannot be discarded: its noise was drawn and its "
            "privacy budget is spent"
        )


# --------------------------------------------------------------------------------------------
# Finding


def find_release(period: str, method: ReleaseMethod, digest: str) -> Release | None:
    return db.session.scalar(
        sa.select(Release).where(
            Release.period == period,
            Release.method == method.value,
            Release.parameters_digest == digest,
        )
    )


def get_release(release_id: int) -> Release:
    release = db.session.get(Release, release_id)
    if release is None:
        raise ReleaseNotFound(release_id)
    return release


def list_releases(*, include_drafts: bool) -> list[Release]:
    query = sa.select(Release).order_by(Release.period_end.desc(), Release.id.desc())
    if not include_drafts:
        query = query.where(Release.status == ReleaseStatus.PUBLISHED.value)
    return list(db.session.scalars(query))


def content_of(release: Release) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(release.content)
    return document


def audit_of(release: Release) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(release.disclosure_audit or "{}")
    return document


def _published_releases(period: ReleasePeriod) -> list[PublishedFigures]:
    """Every published release of the period's year: the periods around this one, and their
    other parts (October and December are what turn "the quarter" into November), which do
    not overlap it. Of a differentially private release only the exact figures (case
    handling) are compared."""
    rows = db.session.scalars(
        sa.select(Release).where(
            Release.status == ReleaseStatus.PUBLISHED.value,
            Release.period_start <= dt.date(period.year, 12, 31),
            Release.period_end >= dt.date(period.year, 1, 1),
        )
    )
    return [PublishedFigures.from_content(content_of(release)) for release in rows]


def _published_joint(period: ReleasePeriod) -> list[JointRelease]:
    """The published threshold-rule releases of the period's year, as readers hold them."""
    rows = db.session.scalars(
        sa.select(Release).where(
            Release.status == ReleaseStatus.PUBLISHED.value,
            Release.method == ReleaseMethod.SUPPRESSION.value,
            Release.period_start <= dt.date(period.year, 12, 31),
            Release.period_end >= dt.date(period.year, 1, 1),
        )
    )
    return [JointRelease.from_content(content_of(release)) for release in rows]


def _counts_and_joint(
    period: ReleasePeriod, zero_sensitive_tables: Sequence[str]
) -> tuple[RecordCounts, JointInputs]:
    """The period's record counts, and what the joint audit needs: the published
    threshold-rule releases of the period's year, and the components of every month they and
    the new release cover, built from today's data (see `joint`).

    Every month involved is counted in one pass (grouped by month), or taken from the counts a
    release stored for it while its records have not changed since (`month_cache`); the
    period's own counts, like the components of all the months together, are the sum of its
    months'. So a year's records are scanned at most once, and a month already counted by the
    release of its month, quarter or year is not scanned again."""
    published = _published_joint(period)
    atoms = sorted(set(period.record_months).union(*(r.atoms for r in published)))
    by_month = month_cache.counts_by_month(atoms)
    own = add_counts([by_month[month] for month in period.record_months])
    if not published:
        return own, JointInputs(published=[], structure={}, per_atom={})

    def components(counts: RecordCounts) -> dict[str, Component]:
        built = record_components(counts, period, zero_sensitive_tables=zero_sensitive_tables)
        return {b.component.name: b.component for b in built if b.component.name != "by_month"}

    joint = JointInputs(
        published=published,
        structure=components(add_counts([by_month[atom] for atom in atoms])),
        per_atom={atom: components(by_month[atom]) for atom in atoms},
    )
    return own, joint


def _joint_inputs(period: ReleasePeriod, zero_sensitive_tables: Sequence[str]) -> JointInputs:
    """What the joint audit needs (see `_counts_and_joint`)."""
    return _counts_and_joint(period, zero_sensitive_tables)[1]


def _previous_published(period: ReleasePeriod, method: ReleaseMethod) -> Release | None:
    return db.session.scalar(
        sa.select(Release)
        .where(
            Release.period == period.previous().label,
            Release.method == method.value,
            Release.status == ReleaseStatus.PUBLISHED.value,
        )
        .order_by(Release.published_at.desc())
        .limit(1)
    )


# --------------------------------------------------------------------------------------------
# Generating


def generate_release(
    *,
    period: str,
    method: str | ReleaseMethod = ReleaseMethod.SUPPRESSION,
    parameters: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> Release:
    """The release for (period, method, parameters): the stored one if it exists, else a new,
    signed draft. Commits. Raises a `PeriodError`, `ReleaseError` or `PrivacyBudgetExhausted`
    with a message fit for staff."""
    generated_on = today or dt.datetime.now(dt.UTC).date()
    release_period = parse_period(period, today=generated_on)
    chosen = release_method(method)
    canonical = normalise_parameters(chosen, parameters)
    digest = parameters_digest(chosen, canonical)
    existing = find_release(release_period.label, chosen, digest)
    if existing is not None:
        return existing

    ring = current_keyring()
    signing_key = ring.require_signing_key()  # fail before any work, let alone any noise
    # Every release pins the evidence log as it stands (finished days appended, head signed).
    tree_head = evidence_log.publish_tree_head(signing_key=signing_key)
    lifetime = float(current_app.config["DP_LIFETIME_EPSILON"])
    result = _draft_content(release_period, chosen, canonical, generated_on, lifetime=lifetime)
    release = _signed_draft(
        release_period, chosen, canonical, digest, result, generated_on, signing_key, tree_head
    )
    if chosen is ReleaseMethod.DIFFERENTIAL_PRIVACY:
        release.noise_key = privacy.noise_key(release_period, canonical)
    return _store_draft(release, release_period, chosen, canonical, digest, lifetime=lifetime)


def _draft_content(
    release_period: ReleasePeriod,
    chosen: ReleaseMethod,
    canonical: Mapping[str, Any],
    generated_on: dt.date,
    *,
    lifetime: float,
) -> ContentResult:
    """Count, protect (or draw the noise) and audit; compare with the previous release."""
    cases = count_cases(release_period.start, release_period.end)
    if chosen is ReleaseMethod.SUPPRESSION:
        counts, joint = _counts_and_joint(release_period, canonical["zero_sensitive_tables"])
        try:
            result = suppression_content(
                period=release_period,
                parameters=canonical,
                counts=counts,
                cases=cases,
                generated_on=generated_on,
                published_overlapping=_published_releases(release_period),
                joint=joint,
            )
        except (TotalWouldDisclose, JointAuditRefused) as exc:
            raise ReleaseBlockedByDifferencing(str(exc)) from exc
    else:
        # Held until the draft is stored: a concurrent identical draft waits, then reuses
        # this draw instead of drawing its own.
        privacy.lock_ledger()
        source = privacy.stored_draw(release_period, privacy.noise_key(release_period, canonical))
        if source is None:
            privacy.check_budget(release_period, canonical["epsilon"], lifetime=lifetime)
        result = privacy.dp_content(
            period=release_period,
            parameters=canonical,
            cases=cases,
            generated_on=generated_on,
            published_overlapping=_published_releases(release_period),
            lifetime=lifetime,
            reuse=source,
        )
    if not result.audit["passed"]:
        # Never stored, never shown: a release the audit cannot prove safe does not exist.
        raise AuditFailed(f"the disclosure audit of {release_period.label} did not pass")
    previous = _previous_published(release_period, chosen)
    result.content["comparison"] = comparison(
        result.content,
        content_of(previous) if previous is not None else None,
        previous_release_id=previous.id if previous is not None else None,
        min_base=canonical["change_min_base"],
    )
    return result


def _signed_draft(
    release_period: ReleasePeriod,
    chosen: ReleaseMethod,
    canonical: Mapping[str, Any],
    digest: str,
    result: ContentResult,
    generated_on: dt.date,
    signing_key: SigningKey,
    tree_head: evidence_log.SignedTreeHead | None,
) -> Release:
    """Every file rendered from the content, the signed manifest, all in an unsaved draft."""
    from incident_service.releases.documents.manifest import build_manifest, sign_manifest
    from incident_service.releases.documents.render import render_release_files

    rendered = render_release_files(result.content, result.audit, digest=digest)
    manifest = build_manifest(
        period=release_period.label,
        method=chosen.value,
        parameters=canonical,
        parameters_digest=digest,
        generated_on=generated_on,
        files=rendered,
        verify_key=signing_key.verify_key,
        evidence_tree_head=tree_head.to_json() if tree_head is not None else None,
    )
    return Release(
        period=release_period.label,
        period_start=release_period.start,
        period_end=release_period.end,
        method=chosen.value,
        parameters=canonical_json(canonical),
        parameters_digest=digest,
        status=ReleaseStatus.DRAFT.value,
        content=canonical_json(result.content),
        disclosure_audit=canonical_json(result.audit),
        manifest=manifest,
        signature=sign_manifest(manifest, signing_key),
        files=[
            ReleaseFile(
                name=file.name,
                media_type=file.media_type,
                content=file.content,
                sha256=file.sha256,
            )
            for file in rendered
        ],
    )


def _store_draft(
    release: Release,
    release_period: ReleasePeriod,
    chosen: ReleaseMethod,
    canonical: Mapping[str, Any],
    digest: str,
    *,
    lifetime: float,
) -> Release:
    """Store the draft (and a DP release's ledger entry) in one transaction and commit; the
    release stored by a concurrent identical request wins over this one."""
    charged = float(json.loads(release.disclosure_audit).get("noise", {}).get("epsilon_charged", 0))
    try:
        if charged:
            privacy.lock_ledger()
            privacy.check_budget(release_period, charged, lifetime=lifetime)
        db.session.add(release)
        db.session.flush()
        if charged:
            # Only new noise is charged: a draft that reuses a stored draw adds nothing.
            db.session.add(PrivacyLedgerEntry(release_id=release.id, epsilon=charged))
        audit_log.record(
            "release.generated",
            object_type="release",
            object_id=str(release.id),
            detail={"period": release.period, "method": release.method, "digest": digest},
        )
        db.session.commit()
    except IntegrityError:
        # The same release generated at the same moment elsewhere: that one stands, and this
        # one's figures (and noise) are dropped unseen.
        db.session.rollback()
        existing = find_release(release_period.label, chosen, digest)
        if existing is None:
            raise
        return existing
    return release


# --------------------------------------------------------------------------------------------
# Reviewing and publishing


def _require_supervisor(actor: User) -> None:
    # Admins manage accounts and do not decide what is published (separation of duties).
    if actor.role != Role.SUPERVISOR.value or not actor.active:
        raise NotAllowed("only a supervisor can publish or discard a release")


def verify_stored(release: Release) -> None:
    """Check the stored manifest's signature and every stored file against it."""
    from incident_service.releases.documents.manifest import ManifestError, check_manifest

    ring = current_keyring()
    try:
        check_manifest(
            manifest=release.manifest or b"",
            signature=release.signature or b"",
            files={file.name: file.content for file in release.files},
            verify_key=ring.require_verify_key(),
        )
    except ManifestError as exc:
        raise ReleaseTampered(str(exc)) from exc


def _lock_publication() -> None:
    """Serialise publications until the transaction ends, so that two drafts of one period,
    or of nested periods, are never both checked against a state without the other."""
    locks.hold_until_commit(locks.PUBLICATION)


def publish_release(release_id: int, *, actor: User, now: dt.datetime | None = None) -> Release:
    """Make a draft visible to officials (the caller commits). Publishing twice is harmless;
    a published release is never altered."""
    _require_supervisor(actor)
    release = get_release(release_id)
    if release.status == ReleaseStatus.PUBLISHED.value:
        return release
    verify_stored(release)
    _lock_publication()
    already = db.session.scalar(
        sa.select(Release.id).where(
            Release.period == release.period,
            Release.method == release.method,
            Release.status == ReleaseStatus.PUBLISHED.value,
            Release.id != release.id,
        )
    )
    if already is not None:
        raise PeriodAlreadyPublished(release.period, release.method, already)
    content = content_of(release)
    period = parse_period(release.period, today=dt.date.max)
    others = _published_releases(period)
    exact = release.method == ReleaseMethod.SUPPRESSION.value
    risky = differencing_risks(
        period=period,
        # A differentially private release's record figures are noisy: only its case
        # handling (threshold rule) is differenced.
        tables=content.get("tables", {}) if exact else {},
        total=content.get("reports") if exact else None,
        persons=content.get("persons_affected") if exact else None,
        cases=content.get("case_handling"),
        others=others,
        threshold=int(content["parameters"]["threshold" if exact else "case_threshold"]),
    )
    # A figure the draft hides that releases published since it was generated now let
    # readers compute: it protects nothing, and what it was protecting is exposed.
    audited_known = set(audit_of(release).get("differencing", {}).get("cells_known", []))
    risky |= set(derivable(period, hidden_keys(content), others)) - audited_known
    if risky:
        raise ReleaseWouldDisclose(sorted(risky))
    if exact and content.get("status") == "ok":
        _joint_check(release, content, period)
    release.status = ReleaseStatus.PUBLISHED.value
    release.published_at = now or utcnow()
    release.published_by_id = actor.id
    audit_log.record(
        "release.published",
        actor_id=actor.id,
        object_type="release",
        object_id=str(release.id),
        detail={"period": release.period, "method": release.method},
    )
    return release


def _joint_check(release: Release, content: Mapping[str, Any], period: ReleasePeriod) -> None:
    """The joint audit again, on the draft as stored, when releases of its year were published
    (or data changed) since it was generated: refuse rather than publish what it did not
    prove safe."""
    audited = audit_of(release).get("joint", {}).get("audited_with")
    others = sorted(r.label for r in _published_joint(period) if r.label != release.period)
    if audited is not None and audited == others:
        return  # the releases it was proven against are exactly the ones published now
    parameters = content["parameters"]
    rules = DisclosureRules(
        threshold=int(parameters["threshold"]),
        protection_width=int(parameters["protection_width"]),
    )
    inputs = _joint_inputs(period, parameters["zero_sensitive_tables"])
    try:
        result = joint_audit(
            new=JointRelease.from_content(content, new=True),
            published=inputs.published,
            structure=inputs.structure,
            per_atom=inputs.per_atom,
            rules=rules,
        )
    except JointAuditRefused as exc:
        raise ReleaseBlockedByDifferencing(str(exc)) from exc
    if not result.passed:
        raise ReleaseWouldDisclose(sorted(result.to_hide) or result.unprotectable)


def discard_draft(release_id: int, *, actor: User) -> None:
    """Delete a threshold-rule draft so that it can be generated again (the caller commits)."""
    _require_supervisor(actor)
    release = get_release(release_id)
    if release.status != ReleaseStatus.DRAFT.value:
        raise NotAllowed("a published release is never changed or removed")
    if release.method == ReleaseMethod.DIFFERENTIAL_PRIVACY.value:
        raise DraftKeepsBudget()
    audit_log.record(
        "release.discarded",
        actor_id=actor.id,
        object_type="release",
        object_id=str(release.id),
        detail={"period": release.period, "method": release.method},
    )
    db.session.delete(release)


def record_download(release: Release, name: str, *, actor_id: int | None) -> None:
    """An export is audited like any other (the caller commits)."""
    audit_log.record(
        "release.downloaded",
        actor_id=actor_id,
        object_type="release",
        object_id=str(release.id),
        detail={"file": name},
    )


def find_file(release: Release, name: str) -> ReleaseFile | None:
    for file in release.files:
        if file.name == name:
            return file
    return None
