"""Summaries pages for staff: officials read published releases; supervisors review and publish.

Every page sits behind `require_roles`. Separation of duties: only supervisors generate, see
drafts, publish and discard; admins manage accounts and, like officials, read published
releases only. To anyone but a supervisor a draft does not exist (404). The release page shows
the same document as the files, in the reader's language where the release has it, without
charts (inline SVG styles are not allowed by the pages' content security policy; the
downloaded documents have them).
"""

from __future__ import annotations

import io
import zipfile
from typing import Protocol

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from incident_service.auth.access import current_staff, require_roles
from incident_service.constants import ReleaseMethod, ReleaseStatus, Role
from incident_service.models import Release, User, db
from incident_service.pipeline import dispatch
from incident_service.releases import lifecycle as releases
from incident_service.releases.documents.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    signature_file,
)
from incident_service.releases.documents.render import document_view, file_stem
from incident_service.releases.errors import ReleaseError
from incident_service.releases.parameters import UnknownMethod
from incident_service.releases.periods import PeriodError, parse_period
from incident_service.summaries.downloads import attachment, release_file

blueprint = Blueprint("summaries", __name__, url_prefix="/summaries")

READERS = (Role.OFFICIAL, Role.SUPERVISOR, Role.ADMIN)
# Admins manage accounts; they do not decide what is published (separation of duties).
REVIEWERS = (Role.SUPERVISOR,)


def _reviewer() -> bool:
    return current_staff().role in REVIEWERS


def _visible(release_id: int) -> Release:
    release = db.session.get(Release, release_id)
    if release is None:
        abort(404)
    if release.status != ReleaseStatus.PUBLISHED.value and not _reviewer():
        abort(404)
    return release


def _actor() -> User:
    user = db.session.get(User, current_staff().id)
    if user is None:
        abort(403)
    return user


def _page_language(available: list[str]) -> str:
    from flask_babel import get_locale

    locale = get_locale()
    language = locale.language if locale is not None else "ru"
    return language if language in available else ("ru" if "ru" in available else available[0])


@blueprint.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    shown = releases.list_releases(include_drafts=_reviewer())
    return render_template("summaries/index.html", releases=shown, reviewer=_reviewer())


@blueprint.post("/generate")
@require_roles(*REVIEWERS)
def generate() -> ResponseReturnValue:
    """Ask the worker for a draft (the web holds no signing key, so it never generates)."""
    period_text = (request.form.get("period") or "").strip()
    method = request.form.get("method") or ReleaseMethod.SUPPRESSION.value
    try:
        period = parse_period(period_text)
        if method not in {m.value for m in ReleaseMethod}:
            raise UnknownMethod(method)
    except (PeriodError, ReleaseError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("summaries.index"))
    if dispatch.enqueue(dispatch.TASK_RELEASE_GENERATE, period.label, method):
        flash(
            _(
                "The draft for %(period)s is being prepared; it appears here when it is ready.",
                period=period.label,
            ),
            "ok",
        )
    else:
        flash(_("The worker could not be reached; please try again in a few minutes."), "error")
    return redirect(url_for("summaries.index"))


@blueprint.get("/<int:release_id>")
@require_roles(*READERS)
def show(release_id: int) -> ResponseReturnValue:
    release = _visible(release_id)
    content = releases.content_of(release)
    view = document_view(
        content,
        _page_language(content["parameters"]["languages"]),
        digest=release.parameters_digest,
    )
    for section in view.sections:
        for table in section.tables:
            table.chart = None
    return render_template(
        "summaries/release.html",
        release=release,
        doc=view,
        files=sorted(release.files, key=lambda f: f.name),
        reviewer=_reviewer(),
        draft=release.status == ReleaseStatus.DRAFT.value,
    )


@blueprint.get("/<int:release_id>/files/<name>")
@require_roles(*READERS)
def download(release_id: int, name: str) -> ResponseReturnValue:
    release = _visible(release_id)
    found = release_file(release, name)
    if found is None:
        abort(404)
    releases.record_download(release, name, actor_id=current_staff().id)
    db.session.commit()
    return attachment(*found, name)


@blueprint.get("/<int:release_id>/release.zip")
@require_roles(*READERS)
def download_all(release_id: int) -> ResponseReturnValue:
    """Every file with the manifest and its signature, in one folder, ready for `verify`."""
    release = _visible(release_id)
    folder = file_stem(releases.content_of(release))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for stored in release.files:
            archive.writestr(f"{folder}/{stored.name}", stored.content)
        archive.writestr(f"{folder}/{MANIFEST_NAME}", release.manifest or b"")
        archive.writestr(f"{folder}/{SIGNATURE_NAME}", signature_file(release.signature or b""))
    releases.record_download(release, "release.zip", actor_id=current_staff().id)
    db.session.commit()
    return attachment(buffer.getvalue(), "application/zip", f"{folder}.zip")


class _Decision(Protocol):
    def __call__(self, release_id: int, *, actor: User) -> object: ...


def _decide(release_id: int, decision: _Decision) -> bool:
    """Apply a supervisor's decision on a release and commit. When the release refuses it, roll
    back, show why and return False; an unknown release is a 404."""
    try:
        decision(release_id, actor=_actor())
        db.session.commit()
    except releases.ReleaseNotFound:
        abort(404)
    except ReleaseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    return True


@blueprint.post("/<int:release_id>/publish")
@require_roles(*REVIEWERS)
def publish(release_id: int) -> ResponseReturnValue:
    if _decide(release_id, releases.publish_release):
        flash(_("The release is published. Officials can read and download it now."), "ok")
    return redirect(url_for("summaries.show", release_id=release_id))


@blueprint.post("/<int:release_id>/discard")
@require_roles(*REVIEWERS)
def discard(release_id: int) -> ResponseReturnValue:
    if not _decide(release_id, releases.discard_draft):
        return redirect(url_for("summaries.show", release_id=release_id))
    flash(_("The draft is discarded; it can be generated again from current data."), "ok")
    return redirect(url_for("summaries.index"))
