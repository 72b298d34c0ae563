"""The status page tells the truth: read once a caseworker opened the case, in the language the
report was written in, and the demo question in the language of its report.

Issue 13 found "Your report has arrived. Nobody has read it yet." after a caseworker had opened
the case, an English demo question on a Russian page, and a lookup that stayed in the browser's
language rather than the report's.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from incident_service.constants import Role
from incident_service.models import AuditEntry, Report, db, today
from seeds.demo_reports import demo_reports
from seeds.loader import DEMO_THREADS, load_demo_reports
from tests.factories import submit
from tests.reporter_helpers import post_and_follow, text_of
from tests.staff import login, make_staff

NOBODY_YET = "Nobody has read it yet."
READ = "A caseworker has read your report."


def _filed(app, **overrides):
    with app.app_context():
        result = submit(**overrides)
    return result.report_id, result.receipt


def _look_up(app, receipt: str, *, browser_language: str = "en", lang: str | None = None):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = browser_language
    if lang:
        client.get(f"/status?lang={lang}")
    response = post_and_follow(client, "/status", {"receipt": receipt})
    return client, response.get_data(as_text=True)


def _caseworker_opens(app, report_id: str) -> None:
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    desk = app.test_client()
    login(desk, worker)
    assert desk.get(f"/cases/{report_id}").status_code == 200


def test_does_the_status_page_say_read_once_a_caseworker_opened_the_case(app):
    report_id, receipt = _filed(app, language="en")
    _client, page = _look_up(app, receipt)
    assert NOBODY_YET in text_of(page)
    _caseworker_opens(app, report_id)
    _client, page = _look_up(app, receipt)
    assert NOBODY_YET not in text_of(page)
    assert READ in text_of(page)
    with app.app_context():
        api = (
            app.test_client()
            .post("/api/v1/status", json={"receipt": receipt}, headers={"Accept-Language": "en"})
            .get_json()
        )
        assert api["status"] == "new" and api["status_text"] == READ


def test_is_reading_known_from_what_is_already_recorded_at_day_precision(app):
    """Nothing new is stored to know it: the opening's audit entry, dated to the day."""
    report_id, _receipt = _filed(app, language="en")
    _caseworker_opens(app, report_id)
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "report.open", AuditEntry.object_id == report_id
            )
        )
        assert entry is not None
        assert (entry.at.hour, entry.at.minute, entry.at.second) == (0, 0, 0)
        report = db.session.get_one(Report, report_id)
        assert report.status == "new"  # the workflow is the caseworker's to move


@pytest.mark.parametrize("language", ["ru", "tg", "uz", "ky", "en"])
def test_does_a_lookup_show_the_page_in_the_language_the_report_was_written_in(app, language):
    _report_id, receipt = _filed(app, language=language)
    other = "en" if language != "en" else "ru"
    client, page = _look_up(app, receipt, browser_language=other)
    assert f'<html lang="{language}">' in page
    # The reporter can still switch, and the choice holds.
    switched = client.get(f"/status?lang={other}").get_data(as_text=True)
    assert f'<html lang="{other}">' in switched
    assert f'<html lang="{other}">' in client.get("/status").get_data(as_text=True)


def test_is_the_demo_question_in_the_language_of_its_report(app):
    with app.app_context():
        result = load_demo_reports(count=DEMO_THREADS + 2)
        reports = demo_reports(count=DEMO_THREADS + 2, today=today())
    assert len(result.demo_receipts) == DEMO_THREADS
    for demo, receipt in zip(reports, result.demo_receipts, strict=False):
        language = demo.payload["language"]
        _client, page = _look_up(app, receipt, browser_language="ru")
        assert f'<html lang="{language}">' in page
        question = _question_text(page)
        if language != "en":
            assert "Hello, this is the case team" not in question, (language, question)
        assert question.startswith("[")  # still marked as invented


def _question_text(page: str) -> str:
    match = re.search(r'<div class="msg caseworker">.*?<p class="text"[^>]*>(.*?)</p>', page, re.S)
    assert match is not None
    return match.group(1)


def test_does_a_language_chosen_with_the_lookup_itself_win(app):
    _report_id, receipt = _filed(app, language="tg")
    client = app.test_client()
    response = post_and_follow(client, "/status", {"receipt": receipt, "lang": "en"})
    assert '<html lang="en">' in response.get_data(as_text=True)
