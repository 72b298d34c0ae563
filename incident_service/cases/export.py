"""A case as a PDF for referral (to a lawyer, a consulate, the ombudsman), holding only the parts
the caseworker ticked, rendered without any network access, and recorded in the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from incident_service import audit
from incident_service.cases import events, triage
from incident_service.constants import Section
from incident_service.crypto import RecipientPrivateKey
from incident_service.models import Event, Report, db

# What a caseworker can choose to include; nothing is included unless ticked.
EXPORT_PARTS: tuple[str, ...] = (
    "coded",
    "narrative",
    "place",
    "contact",
    "notes",
    "interventions",
    "messages",
    "event",
)


class NothingToExport(Exception):
    """No part was ticked."""


class OfflineFetcher(URLFetcher):  # type: ignore[misc]
    """Refuses every fetch except inline `data:` URIs.

    Report text is escaped, but a PDF renderer that fetched URLs would still be a way to make
    the server call out (and to tell a third party that a case was exported).
    """

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        raise ValueError("network access is disabled while rendering exports")


def render_pdf(html: str) -> bytes:
    pdf: bytes = HTML(string=html, base_url=None, url_fetcher=OfflineFetcher()).write_pdf()
    return pdf


def export_case_pdf(
    *, report: Report, parts: Iterable[str], team_key: RecipientPrivateKey, actor_id: int
) -> bytes:
    """Render the chosen parts of a case as PDF and record the export (no commit)."""
    chosen = sorted(set(parts) & set(EXPORT_PARTS))
    if not chosen:
        raise NothingToExport
    context: dict[str, Any] = {"report": report, "parts": set(chosen)}
    if {"coded"} & set(chosen):
        context["coded"] = triage.open_section(report, Section.STATISTICAL, team_key)
        # The priority says what happened (4: still detained), so it travels with the coded
        # answers only.
        context["priority"] = triage.case_priority(
            report=report, team_key=team_key, coded=context["coded"]
        )
    if {"narrative", "place", "contact"} & set(chosen):
        context["private"] = triage.open_section(report, Section.PRIVATE, team_key)
    if "notes" in chosen:
        context["notes"] = triage.read_notes(report, team_key)
    if "interventions" in chosen:
        context["interventions"] = triage.read_interventions(report, team_key)
    if "messages" in chosen:
        context["thread"] = triage.read_thread(report, team_key)
    if "event" in chosen and report.event_id is not None:
        event = db.session.get_one(Event, report.event_id)
        context["event"] = events.read_event(event, team_key)
        context["acts"] = events.read_acts(event, team_key)
    html = render_template(
        "staff/cases/export_pdf.html", exported_on=dt.date.today().isoformat(), **context
    )
    pdf = render_pdf(html)
    audit.record(
        "report.export",
        actor_id=actor_id,
        object_type="report",
        object_id=report.id,
        detail={"parts": chosen, "format": "pdf"},
    )
    return pdf
