"""What a caseworker reads on the case page and in the PDF export: dates at the precision the
reporter gave, labels in the staff language instead of codes, and text in any script shown in
its own direction."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from incident_service.constants import Role
from tests.factories import submit
from tests.staff import login, make_staff

ARABIC_SCRIPT = "ما را در فرودگاه سه ساعت نگه داشتند 😢 SYNTHETIC"
HEBREW = "החזיקו אותנו שלוש שעות"


@pytest.fixture
def desk(app):
    """A logged-in, unlocked caseworker's client and their account."""
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    return client, worker


def _when(page: str) -> str:
    match = re.search(r"<dt>(?:When|Когда)</dt><dd>([^<]*)</dd>", page)
    assert match, "the case page has no date"
    return match.group(1).strip()


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(
    ("date", "precision", "lang", "shown"),
    [
        ("2025", "year", "ru", "2025"),
        ("2025", "year", "en", "2025"),
        ("2025-03", "month", "ru", "март 2025"),
        ("2025-03", "month", "en", "March 2025"),
        ("2025-03-09", "day", "ru", "2025-03-09"),
    ],
)
def test_does_the_case_page_show_a_date_only_as_precisely_as_the_reporter_gave_it(
    app, desk, date, precision, lang, shown
):
    """Is a year-only date "2025" (not "2025-01-01 (Только год)"), and a month-only one the
    month and year in the staff language?"""
    client, _ = desk
    with app.app_context():
        filed = submit(incident_date=date, date_precision=precision)
    page = client.get(f"/cases/{filed.report_id}?lang={lang}").get_data(as_text=True)
    assert _when(page) == shown
    assert "Только год" not in page and "Year only" not in page


def test_does_the_export_name_the_status_and_date_in_the_staff_language(app, desk):
    """Does the PDF say "В работе" where it used to say "Status: in_progress", and give a
    year-only date as the year?"""
    client, _ = desk
    with app.app_context():
        filed = submit(incident_date="2025", date_precision="year")
    client.get("/cases/?lang=ru")
    client.post(f"/cases/{filed.report_id}/status", data={"status": "in_progress"})
    response = client.post(f"/cases/{filed.report_id}/export", data={"coded": "y"})
    assert response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "В работе" in text
    assert "in_progress" not in text
    assert "2025-01-01" not in text and "Только год" not in text
    assert "Со слов" in text and "Self-reported" not in text
    assert "Confidential" not in text  # the export's own words are Russian too


def test_is_a_narrative_in_arabic_script_marked_to_keep_its_own_direction(app, desk):
    """Would a Persian narrative, a Hebrew message or a note with emoji be reordered into the
    page's left-to-right flow? Each element holding reporter or caseworker text carries
    dir="auto", so the browser takes the direction from the text itself."""
    client, _ = desk
    with app.app_context():
        filed = submit(narrative=ARABIC_SCRIPT, place_text=HEBREW)
    client.post(f"/cases/{filed.report_id}/notes", data={"text": HEBREW + " 🙏"})
    client.post(f"/cases/{filed.report_id}/messages", data={"text": ARABIC_SCRIPT})
    page = client.get(f"/cases/{filed.report_id}").get_data(as_text=True)
    narrative = re.search(r"<dd[^>]*id=\"narrative\"[^>]*>", page)
    assert narrative and 'dir="auto"' in narrative.group(0)
    for text in (ARABIC_SCRIPT, HEBREW, HEBREW + " 🙏"):
        holders = re.findall(r"<(?:p|dd|span)\b([^>]*)>" + re.escape(text) + "<", page)
        assert holders, text
        assert all('dir="auto"' in attributes for attributes in holders), text
    for field in ("reply-text", "note-text", "intervention-note", "labels", "event-title"):
        tag = re.search(rf"<(?:textarea|input)\b[^>]*id=\"{field}\"[^>]*>", page)
        assert tag and 'dir="auto"' in tag.group(0), field


def test_does_the_reporter_see_the_case_teams_reply_in_its_own_direction(app, desk):
    """On the status page, is a reply in Arabic script marked dir="auto", and the answer box
    too?"""
    client, _ = desk
    with app.app_context():
        filed = submit()
    client.post(f"/cases/{filed.report_id}/messages", data={"text": ARABIC_SCRIPT})
    reporter = app.test_client()
    page = reporter.post(
        "/status", data={"receipt": filed.receipt, "lang": "tg"}, follow_redirects=True
    ).get_data(as_text=True)
    assert re.search(r'<p class="text" dir="auto">' + re.escape(ARABIC_SCRIPT) + "</p>", page)
    assert re.search(r'<textarea id="text" name="text" dir="auto"', page)
    form = reporter.get("/report/full").get_data(as_text=True)
    assert re.search(r'<textarea id="narrative" name="narrative" dir="auto"', form)
    step = reporter.get("/report/details/words").get_data(as_text=True)
    assert 'name="narrative"' not in step  # no report sent from this browser: nothing to add to
