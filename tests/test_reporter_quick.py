"""The quick report at /report (issue 13): four questions and send; details after sending, as
optional steps sealed like every message from the reporter; the full form at /report/full.

Through the real path: the Flask test client posts what a browser posts and follows each 303."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from incident_service.auth.teams import ensure_organisation, load_bootstrap_key
from incident_service.cases.messaging import message_context
from incident_service.crypto.envelopes import open_envelope
from incident_service.crypto.receipts import format_receipt
from incident_service.i18n import LANGUAGES
from incident_service.intake.forms import FIELD_ORDER, QUICK_ERROR_PLACES
from incident_service.models import Message, Report, db
from tests.reporter_helpers import (
    form_data,
    only_report_id,
    open_form,
    open_statistical_section,
    post_and_follow,
    receipt_on,
    report_count,
    text_of,
)

QUICK = {
    "acts": ["BRD.01", "BRD.02"],
    "year": "2025",
    "month": "3",
    "country": "RU",
    "region": "RU-MOW",
    "consent_statistics": "yes",
}
# Questions the quick report leaves to the steps after sending or to the full form.
NOT_ON_THE_QUICK_REPORT = (
    'name="narrative"',
    'name="day"',
    'name="contact_value"',
    'name="group_size"',
    'name="perpetrators"',
    'name="evidence"',
    'name="reporter_role"',
)
MARKER = "SYNTHETIC-DETAIL-7f3a"


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _controls(page: str) -> int:
    return len(re.findall(r"<(?:input|select|textarea)\b(?![^>]*type=\"hidden\")", page))


def _file_quick(client, **overrides):
    data = {**QUICK, **overrides}
    response = post_and_follow(client, "/report", {**open_form(client), **data})
    return response, receipt_on(response)


def _team_key(app):
    return load_bootstrap_key(ensure_organisation(), Path(app.config["KEYS_DIR"]))


def _opened_messages(app, report_id: str) -> list[dict]:
    with app.app_context():
        key = _team_key(app)
        messages = db.session.scalars(
            select(Message).where(Message.report_id == report_id).order_by(Message.id)
        ).all()
        return [
            json.loads(open_envelope(m.sealed, context=message_context(m), private_key=key))
            for m in messages
        ]


# --------------------------------------------------------------------------------------------
# The first screen


def test_is_the_first_screen_a_quick_report_of_four_questions(client):
    page = client.get("/report").get_data(as_text=True)
    assert '<form method="post" action="/report"' in page
    for asked in ('name="acts"', 'name="year"', 'name="month"', 'name="country"'):
        assert asked in page, asked
    assert 'name="region"' in page and 'name="consent_statistics"' in page
    for left_out in NOT_ON_THE_QUICK_REPORT:
        assert left_out not in page, left_out
    # The full form had 103 controls; the quick report keeps the 30 acts, two date pickers,
    # two place pickers and two answers to the consent question.
    full = client.get("/report/full").get_data(as_text=True)
    assert _controls(page) == 36
    assert _controls(full) > 90
    # The full form is one press away, answers carried over (a POST, not a link that loses them).
    assert 'formaction="/report/full"' in page


def test_can_a_reporter_file_the_quick_report_and_be_offered_details(app, client):
    response, receipt = _file_quick(client)
    assert receipt is not None
    assert response.history[0].headers["Location"] == "/report"
    statistical = open_statistical_section(app, only_report_id(app))
    assert statistical["acts"] == ["BRD.01", "BRD.02"]
    assert statistical["region"] == "RU-MOW" and statistical["date_precision"] == "month"
    page = response.get_data(as_text=True)
    assert 'href="/report/details/place"' in page
    assert "Add details" in text_of(page)


def test_does_every_quick_question_have_its_anchor_once(client):
    page = client.get("/report").get_data(as_text=True)
    for name in QUICK_ERROR_PLACES:
        assert page.count(f'id="field-{name}"') == 1, name


def test_does_a_refused_quick_report_open_at_the_first_error_with_every_error_linked(app, client):
    hidden = open_form(client)
    refused = client.post("/report", data={**hidden, "month": "3", "region": "RU-MOW"})
    assert refused.status_code == 303
    assert refused.headers["Location"] == "/report#field-acts"
    page = client.get("/report").get_data(as_text=True)
    assert 'name="narrative"' not in page  # still the quick report
    links = re.findall(r'<li><a href="#(field-[a-z_]+)">([^<]*)</a></li>', page)
    assert [target for target, _ in links] == [
        "field-acts",
        "field-when",
        "field-country",
        "field-consent_statistics",
    ]
    assert links[0][1] == "What happened?: Please choose at least one."
    for target, _ in links:
        assert page.count(f'id="{target}"') == 1
    # What was typed is still there.
    assert 'value="RU-MOW" selected' in page
    assert report_count(app) == 0

    # Only the consent missing: the page opens there, at the bottom of the form.
    answers = {**QUICK, "consent_statistics": ""}
    again = client.post("/report", data={**hidden, **answers})
    assert again.headers["Location"] == "/report#field-consent_statistics"
    page = client.get("/report").get_data(as_text=True)
    assert re.findall(r'<li><a href="#(field-[a-z_]+)">', page) == ["field-consent_statistics"]


def test_is_a_refused_quick_report_in_the_language_chosen(client):
    client.post("/report", data={**open_form(client), "month": "3"})
    page = client.get("/report?lang=ru").get_data(as_text=True)
    assert "Что случилось?: " in text_of(page)


# --------------------------------------------------------------------------------------------
# Details after sending


def test_are_details_after_sending_sealed_and_in_the_thread(app, client):
    _response, receipt = _file_quick(client)
    report_id = only_report_id(app)
    step = post_and_follow(
        client,
        "/report/details/place",
        {"perpetrators": ["POL", "MIG"], "place_text": MARKER, "duration_hours": "6 hours"},
    )
    assert step.history[0].headers["Location"] == "/report/details/people"
    assert "Added to your report." in text_of(step.get_data(as_text=True))
    # Said once.
    assert "Added to your report." not in text_of(client.get("/report/details/people").text)

    with app.app_context():
        message = db.session.scalars(select(Message).where(Message.report_id == report_id)).one()
        assert message.author == "reporter"
        assert MARKER.encode() not in message.sealed
        report = db.session.get(Report, report_id)
        assert report.unread_for_caseworkers == 1
        for column in Report.__table__.columns:
            assert MARKER.encode() not in repr(getattr(report, column.key)).encode()
    (opened,) = _opened_messages(app, report_id)
    assert MARKER in opened["text"] and "Police" in opened["text"]
    assert opened["details"] == {
        "step": "place",
        "perpetrators": ["POL", "MIG"],
        "place_text": MARKER,
        "duration_hours": "6 hours",
    }
    # At rest, nowhere in the database file (SQLite) in the clear.
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        raw = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).read_bytes()
        assert MARKER.encode() not in raw

    # The case team reads it on the case page, in the thread, marked unread.
    from incident_service.constants import Role
    from tests.staff import login, make_staff

    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    desk = app.test_client()
    login(desk, worker)
    case = text_of(desk.get(f"/cases/{report_id}").get_data(as_text=True))
    assert MARKER in case and "Added after sending:" in case

    # The reporter finds it later with the number, on the status page.
    later = app.test_client()
    later.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    status = post_and_follow(later, "/status", {"receipt": format_receipt(receipt)})
    assert MARKER in text_of(status.get_data(as_text=True))


def test_does_each_step_lead_to_the_next_and_to_the_end(app, client):
    _file_quick(client)
    report_id = only_report_id(app)
    long_narrative = "SYNTHETIC " + "x" * 12_000  # longer than a message, as long as the form
    visited = []
    for step, data in (
        ("place", {}),
        ("people", {"group_size": "about 40", "children_involved": "y"}),
        ("pressure", {"contract_offered": "y", "forced_labour_indicators": ["FL08"]}),
        ("words", {"narrative": long_narrative}),
        (
            "contact",
            {"contact_channel": "TELEGRAM", "contact_value": "@x", "consent_follow_up": "y"},
        ),
    ):
        response = post_and_follow(client, f"/report/details/{step}", data)
        visited.append(response.history[0].headers["Location"])
    assert visited == [
        "/report/details/people",
        "/report/details/pressure",
        "/report/details/words",
        "/report/details/contact",
        "/report/details/done",
    ]
    opened = _opened_messages(app, report_id)
    # A step sent with nothing filled in adds nothing.
    assert [m["details"]["step"] for m in opened] == ["people", "pressure", "words", "contact"]
    assert opened[0]["details"]["group_size"] == "about 40"
    assert long_narrative in opened[2]["text"]
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert report.consent_follow_up is True and report.consent_ombudsman is False


def test_does_a_refused_step_open_at_its_field_with_the_error_linked(app, client):
    _file_quick(client)
    refused = client.post(
        "/report/details/people", data={"group_size": "0", "sex": "M", "citizenship": ["TJK"]}
    )
    assert refused.status_code == 303
    assert refused.headers["Location"] == "/report/details/people#field-group_size"
    page = client.get("/report/details/people").get_data(as_text=True)
    assert re.findall(r'<li><a href="#(field-[a-z_]+)">', page) == ["field-group_size"]
    assert page.count('id="field-group_size"') == 1
    assert 'value="0"' in page and 'value="TJK" checked' in page
    assert _opened_messages(app, only_report_id(app)) == []


def test_can_details_be_added_only_to_the_report_this_browser_just_sent(app, client):
    _file_quick(client)
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = stranger.get("/report/details/place").get_data(as_text=True)
    assert 'name="place_text"' not in page
    assert "open your report with your number" in text_of(page)
    answer = stranger.post("/report/details/place", data={"place_text": MARKER})
    assert answer.status_code == 303
    assert _opened_messages(app, only_report_id(app)) == []
    # "Leave quickly" closes the steps for this browser too.
    client.get("/exit")
    client.post("/report/details/place", data={"place_text": MARKER})
    assert _opened_messages(app, only_report_id(app)) == []


# --------------------------------------------------------------------------------------------
# The full form


def test_is_the_full_form_reachable_with_every_question(app, client):
    page = client.get("/report/full").get_data(as_text=True)
    assert '<form method="post" action="/report/full"' in page
    for name in FIELD_ORDER:
        assert page.count(f'id="field-{name}"') == 1, name
    refused = client.post("/report/full", data={**open_form(client), **form_data(acts=None)})
    assert refused.headers["Location"] == "/report/full#field-acts"
    again = client.get("/report/full").get_data(as_text=True)
    assert '<a href="#field-acts">' in again and "SYNTHETIC TEST REPORT" in again
    filed = post_and_follow(client, "/report/full", {**open_form(client), **form_data()})
    assert receipt_on(filed) is not None
    assert filed.history[0].headers["Location"] == "/report"


def test_does_the_full_form_button_carry_the_quick_answers_over(client):
    hidden = open_form(client)
    moved = client.post("/report/full", data={**hidden, **QUICK, "lang": "en"})
    assert moved.status_code == 303 and moved.headers["Location"] == "/report/full"
    page = client.get("/report/full").get_data(as_text=True)
    assert 'name="narrative"' in page
    assert 'value="BRD.02" checked' in page and 'value="RU-MOW" selected' in page


def test_are_files_to_choose_again_asked_for_on_the_full_form(client):
    """A refused POST to /report that carried files (an older page, or a partner's form): the
    quick report has no file input, so the page that asks for them again is the full form."""
    import io

    data = {**open_form(client), **QUICK, "acts": [], "evidence": [(io.BytesIO(b"x"), "a.jpg")]}
    refused = client.post("/report", data=data, content_type="multipart/form-data")
    assert refused.headers["Location"] == "/report#field-acts"
    page = client.get("/report").get_data(as_text=True)
    assert 'name="narrative"' in page and 'id="e-evidence"' in page and "a.jpg" in page


# --------------------------------------------------------------------------------------------
# Five languages


# The sentences these pages added (issue 13), as they read in English.
NEW_SENTENCES = (
    "Four short questions, then send.",
    "If you do not remember the month, choose only the year.",
    "Full form with every question",
    "Add details (you may skip this)",
    "Write down your number first.",
    "Where exactly, and what happened next",
    "Pressure to sign a military contract, problems at work",
    "Who is reporting, and how can we reach you?",
    "You may skip any question.",
    "Add to my report",
    "Skip this step",
    "What you added is with the case team.",
    "Added to your report.",
)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_are_the_quick_report_its_receipt_and_its_steps_in_every_language(app, language):
    client = app.test_client()
    client.get(f"/?lang={language}")
    form = client.get("/report").get_data(as_text=True)
    assert f'<html lang="{language}">' in form
    pages = [form, _file_quick(client)[0].get_data(as_text=True)]
    pages.append(post_and_follow(client, "/report/details/place", {"place_text": "x"}).text)
    for step in ("people", "pressure", "words", "contact", "done"):
        page = client.get(f"/report/details/{step}").get_data(as_text=True)
        assert f'<html lang="{language}">' in page
        pages.append(page)
    shown = " ".join(text_of(page) for page in pages)
    for sentence in NEW_SENTENCES:
        if language == "en":
            assert sentence in shown, sentence
        else:
            assert sentence not in shown, (language, sentence)
