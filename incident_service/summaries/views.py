"""Summaries pages for staff: officials read published releases; supervisors review and publish.

Every page sits behind `require_roles`. Separation of duties: only supervisors generate, see
drafts, publish and discard; admins manage accounts and, like officials, read published
releases only. To anyone but a supervisor a draft does not exist (404). The release page shows
the same document as the files, in the reader's language where the release has it, charts
included: the same inline SVG as the HTML and PDF files, drawn with presentation attributes
only (the pages' content security policy allows no inline styles), no script, nothing
fetched, each chart named and described for screen readers, its figures in the table below.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Protocol

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from incident_service.auth.access import current_staff, require_roles
from incident_service.constants import ReleaseMethod, ReleaseStatus, Role
from incident_service.keystore import current_keyring
from incident_service.models import Release, User, db
from incident_service.pipeline import dispatch
from incident_service.releases import lifecycle as releases
from incident_service.releases.documents.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    download_helpers,
    signature_file,
)
from incident_service.releases.documents.render import document_view, file_stem
from incident_service.releases.errors import ReleaseError
from incident_service.releases.parameters import release_method
from incident_service.releases.periods import PeriodError, parse_period
from incident_service.summaries.downloads import attachment, release_file
from incident_service.summaries.messages import explain, refusal

blueprint = Blueprint("summaries", __name__, url_prefix="/summaries")

READERS = (Role.OFFICIAL, Role.SUPERVISOR, Role.ADMIN)
# Admins manage accounts; they do not decide what is published (separation of duties).
REVIEWERS = (Role.SUPERVISOR,)
_TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    return render_template(
        "summaries/index.html",
        releases=shown,
        reviewer=_reviewer(),
        # What the form held when it was refused (see `_back_to_form`).
        period=(request.args.get("period") or "")[:20],
        method=request.args.get("method") or ReleaseMethod.SUPPRESSION.value,
    )


@blueprint.post("/generate")
@require_roles(*REVIEWERS)
def generate() -> ResponseReturnValue:
    """Ask the worker for a draft (the web holds no signing key, so it never generates)."""
    period_text = (request.form.get("period") or "").strip()[:20]
    method = request.form.get("method") or ReleaseMethod.SUPPRESSION.value
    try:
        period = parse_period(period_text)
        release_method(method)
    except (PeriodError, ReleaseError) as exc:
        flash(explain(exc), "error")
        return _back_to_form(period_text, method)
    handover = dispatch.enqueue_tracked(dispatch.TASK_RELEASE_GENERATE, period.label, method)
    if handover is None:
        flash(_("The worker could not be reached; please try again in a few minutes."), "error")
        return _back_to_form(period.label, method)
    if handover.ran_here:  # embedded mode: the draft was made in this request
        return _prepared(handover.result, period.label, method)
    return redirect(
        url_for(
            "summaries.preparing", task_id=handover.task_id, period=period.label, method=method
        ),
        303,
    )


def _back_to_form(period: str, method: str) -> ResponseReturnValue:
    """The index with the form as the supervisor left it, so that a typo is fixed, not retyped."""
    return redirect(url_for("summaries.index", period=period, method=method), 303)


def _prepared(result: object, period: str, method: str) -> ResponseReturnValue:
    """After the generation task finished: the draft, or why there is none."""
    outcome = result if isinstance(result, dict) else {}
    release_id = outcome.get("release")
    if isinstance(release_id, int):
        flash(_("The draft for %(period)s is ready. Review it before publishing.", period=period))
        return redirect(url_for("summaries.show", release_id=release_id), 303)
    flash(refusal(str(outcome.get("refused") or "unknown")), "error")
    return _back_to_form(period, method)


@blueprint.get("/preparing/<task_id>")
@require_roles(*REVIEWERS)
def preparing(task_id: str) -> ResponseReturnValue:
    """How the draft asked for is getting on, as the worker recorded it (no JavaScript: the
    supervisor reloads with "Check again")."""
    if not _TASK_ID.fullmatch(task_id):
        abort(404)
    period = (request.args.get("period") or "")[:20]
    method = request.args.get("method") or ReleaseMethod.SUPPRESSION.value
    progress = dispatch.task_progress(task_id)
    if progress.state is dispatch.TaskState.DONE:
        return _prepared(progress.result, period, method)
    listed = [
        release
        for release in releases.list_releases(include_drafts=True)
        if release.period == period and release.method == method
    ]
    return render_template(
        "summaries/preparing.html",
        task_id=task_id,
        state=progress.state.value,
        period=period,
        method=method,
        listed=listed,
    )


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
    """Every file with the manifest and its signature, in one folder, ready for `verify` or
    for OpenSSL and sha256sum as its VERIFY.txt explains."""
    release = _visible(release_id)
    folder = file_stem(releases.content_of(release))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for stored in release.files:
            archive.writestr(f"{folder}/{stored.name}", stored.content)
        archive.writestr(f"{folder}/{MANIFEST_NAME}", release.manifest or b"")
        archive.writestr(f"{folder}/{SIGNATURE_NAME}", signature_file(release.signature or b""))
        # VERIFY.txt, the public key and SHA256SUMS: enough to check it with OpenSSL alone.
        helpers = download_helpers(
            release.manifest or b"", current_keyring().require_verify_key(), folder=folder
        )
        for name, content in helpers.items():
            archive.writestr(f"{folder}/{name}", content)
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
        flash(explain(exc), "error")
        return False
    return True


@blueprint.get("/<int:release_id>/publish")
@require_roles(*REVIEWERS)
def confirm_publish(release_id: int) -> ResponseReturnValue:
    """The step before publishing: the figures officials will read, and a button to confirm."""
    release = _visible(release_id)
    if release.status == ReleaseStatus.PUBLISHED.value:
        return redirect(url_for("summaries.show", release_id=release_id), 303)
    content = releases.content_of(release)
    view = document_view(
        content,
        _page_language(content["parameters"]["languages"]),
        digest=release.parameters_digest,
    )
    return render_template("summaries/publish.html", release=release, doc=view)


@blueprint.post("/<int:release_id>/publish")
@require_roles(*REVIEWERS)
def publish(release_id: int) -> ResponseReturnValue:
    if request.form.get("confirm") != "publish":  # not from the confirmation page
        return redirect(url_for("summaries.confirm_publish", release_id=release_id), 303)
    if _decide(release_id, releases.publish_release):
        flash(_("The release is published. Officials can read and download it now."), "ok")
    return redirect(url_for("summaries.show", release_id=release_id), 303)


@blueprint.post("/<int:release_id>/discard")
@require_roles(*REVIEWERS)
def discard(release_id: int) -> ResponseReturnValue:
    if not _decide(release_id, releases.discard_draft):
        return redirect(url_for("summaries.show", release_id=release_id))
    flash(_("The draft is discarded; it can be generated again from current data."), "ok")
    return redirect(url_for("summaries.index"))
