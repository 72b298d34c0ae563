"""Helpers for the reporter's tests: filling the form as a browser would, reading pages back."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from incident_service.auth.teams import ensure_organisation, load_bootstrap_key
from incident_service.constants import Section
from incident_service.crypto.bindings import report_section as section_context
from incident_service.crypto.envelopes import open_envelope
from incident_service.models import Report, db

RECEIPT_ON_PAGE = re.compile(r'id="receipt">(\d{4}(?: \d{4}){4})<')
HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    return {m["name"]: html.unescape(m["value"]) for m in HIDDEN.finditer(page)}


def form_data(**overrides: Any) -> dict[str, Any]:
    """What a browser sends for a filled-in report form (synthetic answers)."""
    data: dict[str, Any] = {
        "acts": ["BRD.01", "BRD.02", "BRD.03"],
        "year": "2024",
        "month": "5",
        "day": "14",
        "country": "RU",
        "region": "RU-SPE",
        "airport": "LED",
        "location_type": "AIR",
        "place_text": "SYNTHETIC terminal 1",
        "duration_hours": "3",
        "perpetrators": ["BRD"],
        "citizenship": ["TJK"],
        "sex": "M",
        "age_band": "25-34",
        "legal_status": "PAT",
        "group_size": "30",
        "women_involved": "y",
        "outcome": "REL",
        "narrative": "SYNTHETIC TEST REPORT. Held as a group, phones searched.",
        "reporter_role": "SELF",
        "contact_channel": "TELEGRAM",
        "contact_value": "@synthetic_test_contact",
        "consent_statistics": "yes",
        "consent_follow_up": "y",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def open_form(client: FlaskClient, url: str = "/report") -> dict[str, str]:
    """GET the form; return its hidden fields (submission token, CSRF token)."""
    response = client.get(url)
    assert response.status_code == 200
    return hidden_fields(response.get_data(as_text=True))


def post_and_follow(client: FlaskClient, url: str, data: dict[str, Any]) -> Any:
    """POST as a browser does: the answer must be "303 See Other" to a page of this site, which
    is then fetched with GET. Returns that page's response (`.history[0]` is the 303)."""
    response = client.post(url, data=data, follow_redirects=True)
    codes = [step.status_code for step in response.history]
    assert codes == [303], f"POST {url} answered {codes or response.status_code}, not one 303"
    location = response.history[0].headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    return response


def file_report(client: FlaskClient, **overrides: Any) -> tuple[Any, str | None]:
    """Open the form and send it, following the redirect. Returns the page the browser ends on
    and the receipt (digits) if that page shows one."""
    hidden = open_form(client)
    response = post_and_follow(client, "/report", {**hidden, **form_data(**overrides)})
    return response, receipt_on(response)


def receipt_on(response: Any) -> str | None:
    """The receipt (digits) a page shows, if any."""
    match = RECEIPT_ON_PAGE.search(response.get_data(as_text=True))
    return match.group(1).replace(" ", "") if match else None


def report_count(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Report).count()


def _open_section(app: Flask, report_id: str, section: Section) -> dict[str, Any]:
    """One sealed section of a report, opened with the bootstrap team key."""
    with app.app_context():
        team = load_bootstrap_key(ensure_organisation(), Path(app.config["KEYS_DIR"]))
        assert team is not None
        report = db.session.get(Report, report_id)
        assert report is not None
        sealed = (
            report.private_section if section is Section.PRIVATE else report.statistical_section
        )
        plain = open_envelope(sealed, context=section_context(report.id, section), private_key=team)
        document: dict[str, Any] = json.loads(plain)
        return document


def open_private_section(app: Flask, report_id: str) -> dict[str, Any]:
    """What the case team would read (opened with the bootstrap team key)."""
    return _open_section(app, report_id, Section.PRIVATE)


def open_statistical_section(app: Flask, report_id: str) -> dict[str, Any]:
    return _open_section(app, report_id, Section.STATISTICAL)


def only_report_id(app: Flask) -> str:
    with app.app_context():
        ids = [row.id for row in db.session.query(Report).all()]
    assert len(ids) == 1, ids
    return ids[0]


def text_of(page: str) -> str:
    """The visible text of a page, tags (and the style sheet inside one) removed and entities
    decoded."""
    without_style = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    without_tags = re.sub(r"<[^>]+>", " ", without_style)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


def default_button(page: str, form_id: str = "answers") -> str:
    """The submit button that Enter in a field of the form `form_id` presses: the first one in
    the page that belongs to the form, inside it or naming it with `form=` (HTML's default
    button). Returns its start tag."""
    start = page.index(f'id="{form_id}"')
    opened = page.rindex("<form", 0, start)
    closed = page.index("</form>", start)
    for match in re.finditer(r"<button[^>]*>", page):
        tag = match.group(0)
        if 'type="submit"' not in tag:
            continue
        if f'form="{form_id}"' in tag or opened < match.start() < closed:
            return tag
    raise AssertionError(f"the form {form_id} has no submit button")
