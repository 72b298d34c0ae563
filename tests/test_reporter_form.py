"""The report form at /report: filing, every validation rule, double submission, CSRF, size.

Every POST answers 303 to GET /report (POST/redirect/GET): the receipt, or the form again with
what was typed and the errors, comes from a short-lived record (`intake.handoff`)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from markupsafe import escape

from incident_service import ratelimit
from incident_service.crypto.receipts import new_submission_token
from incident_service.intake.forms import FIELD_OF_PATH, FIELD_ORDER, ReportForm
from incident_service.intake.submission import MAX_CONTACT, MAX_NARRATIVE, MAX_PLACE_TEXT
from incident_service.intake.validation import parse_report
from incident_service.models import db
from incident_service.pipeline import dispatch
from tests.factories import report_payload
from tests.reporter_helpers import (
    default_button,
    file_report,
    form_data,
    hidden_fields,
    only_report_id,
    open_form,
    open_private_section,
    open_statistical_section,
    post_and_follow,
    receipt_on,
    report_count,
)

REQUIRED_ONLY = {
    "acts": ["DET.01"],
    "year": "2024",
    "country": "RU",
    "consent_statistics": "no",
}


def test_can_a_reporter_file_a_report_answering_only_the_required_questions(app, client):
    hidden = open_form(client)
    response = post_and_follow(client, "/report", {**hidden, **REQUIRED_ONLY})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.history[0].headers["Location"] == "/report"
    receipt = re.search(r'id="receipt">([\d ]+)<', page)
    assert receipt is not None
    assert re.fullmatch(r"\d{4}( \d{4}){4}", receipt.group(1))
    report_id = only_report_id(app)
    statistical = open_statistical_section(app, report_id)
    assert statistical["acts"] == ["DET.01"]
    assert statistical["date_precision"] == "year"
    assert statistical["consent_statistics"] is False


def test_does_the_full_form_file_the_same_report_as_the_api_body(app):
    """The form and the API must land in the same validated report."""
    with app.test_request_context("/report", method="POST", data=form_data()):
        form = ReportForm()
        from_form = parse_report(form.report_body(language="ru"))
    expected = parse_report(report_payload(language="ru"))
    assert from_form.statistical_section() == expected.statistical_section()
    assert from_form.private_section()["contact"] == expected.private_section()["contact"]


@pytest.mark.parametrize(
    ("year", "month", "day", "precision", "expected"),
    [
        ("2024", "", "", "year", "2024-01-01"),
        ("2024", "3", "", "month", "2024-03-01"),
        ("2024", "3", "9", "day", "2024-03-09"),
    ],
)
def test_does_the_date_picker_record_how_precise_the_date_is(
    app, client, year, month, day, precision, expected
):
    response, receipt = file_report(client, year=year, month=month, day=day)
    assert receipt is not None, response.get_data(as_text=True)[:2000]
    statistical = open_statistical_section(app, only_report_id(app))
    assert (statistical["incident_date"], statistical["date_precision"]) == (expected, precision)


NEXT_YEAR = str(dt.date.today().year + 1)

# (form overrides, the field the error must appear beside)
BAD_INPUT = [
    ({"acts": None}, "acts"),
    ({"acts": ["DET.99"]}, "acts"),
    ({"year": None, "month": None, "day": None}, "when"),
    ({"year": "2023", "month": "2", "day": "30"}, "when"),
    ({"year": "2023", "month": "", "day": "12"}, "when"),
    ({"year": NEXT_YEAR, "month": "1", "day": "1"}, "when"),
    ({"year": "1999", "month": "12", "day": "31"}, "when"),
    ({"year": "20x4"}, "when"),
    ({"duration_hours": "-1"}, "duration_hours"),
    ({"duration_hours": "100000"}, "duration_hours"),
    ({"duration_hours": "three"}, "duration_hours"),
    ({"group_size": "0"}, "group_size"),
    ({"group_size": "5000"}, "group_size"),
    ({"group_size": "2.5"}, "group_size"),
    ({"payment_offered_rub": "-10"}, "payment_offered_rub"),
    ({"payment_offered_rub": "1000000000000"}, "payment_offered_rub"),
    ({"narrative": "x" * (MAX_NARRATIVE + 1)}, "narrative"),
    ({"place_text": "y" * (MAX_PLACE_TEXT + 1)}, "place_text"),
    ({"contact_value": "z" * (MAX_CONTACT + 1)}, "contact_value"),
    ({"contact_channel": None}, "contact_channel"),
    ({"country": None}, "country"),
    ({"country": "XX"}, "country"),
    ({"country": "TJ"}, "region"),
    ({"region": "RU-XXX"}, "region"),
    ({"airport": "JFK"}, "airport"),
    ({"location_type": "MOON"}, "location_type"),
    ({"perpetrators": ["ALIENS"]}, "perpetrators"),
    ({"citizenship": ["ATL"]}, "citizenship"),
    ({"sex": "Q"}, "sex"),
    ({"age_band": "200+"}, "age_band"),
    ({"legal_status": "VIP"}, "legal_status"),
    ({"outcome": "FREED"}, "outcome"),
    ({"reporter_role": "BOSS"}, "reporter_role"),
    ({"forced_labour_indicators": ["FL99"]}, "forced_labour_indicators"),
    ({"consent_statistics": None}, "consent_statistics"),
    ({"consent_statistics": "maybe"}, "consent_statistics"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_INPUT)
def test_is_each_bad_answer_named_beside_its_field_with_everything_typed_kept(
    app, client, overrides, field
):
    overrides = {"narrative": "SYNTHETIC what I typed <b>must</b> stay — ёжик 🙂", **overrides}
    response, receipt = file_report(client, **overrides)
    page = response.get_data(as_text=True)
    assert receipt is None
    # The page opens at the field to fix (the only error here), without a script.
    assert response.history[0].headers["Location"] == f"/report#field-{field}"
    assert f'id="e-{field}"' in page and f'id="field-{field}"' in page
    # Everything typed comes back: the narrative (escaped), the place, the ticked boxes.
    assert str(escape(overrides["narrative"])) in page
    if "place_text" not in overrides:
        assert 'value="SYNTHETIC terminal 1"' in page
    if "acts" not in overrides:
        assert 'value="BRD.02" checked' in page
    assert report_count(app) == 0


def test_is_a_narrative_over_the_limit_kept_whole_with_the_limit_and_its_length_said(app, client):
    """A browser's `maxlength` cut a pasted 25,000-character account to 20,000 without a word.
    The box now says its limit, nothing cuts the text, and the server sends it back whole with
    how long it is and how much fits; nothing is filed until it fits."""
    page = client.get("/report/full?lang=ru").get_data(as_text=True)
    box = re.search(r"<textarea id=\"narrative\"[^>]*>", page)
    assert box is not None and "maxlength" not in box.group(0)
    assert 'aria-describedby="narrative-limit"' in box.group(0)
    hint = re.search(r'<p class="hint" id="narrative-limit">([^<]*)<', page)
    assert hint is not None and "20\xa0000 знаков" in hint.group(1)

    long_text = ("SYNTHETIC ёжик " * 2000)[:25_000]
    hidden = open_form(client, "/report/full?lang=ru")
    response = post_and_follow(client, "/report/full", {**hidden, **form_data(narrative=long_text)})
    page = response.get_data(as_text=True)
    assert receipt_on(response) is None and report_count(app) == 0
    error = re.search(r'<p class="error" id="e-narrative">([^<]*)<', page)
    assert error is not None
    assert "25\xa0000" in error.group(1) and "20\xa0000" in error.group(1)
    assert str(escape(long_text)) in page  # every character typed is still in the box
    # Shortened to the limit, it is filed whole.
    _response, receipt = file_report(client, narrative=long_text[:MAX_NARRATIVE])
    assert receipt is not None
    assert open_private_section(app, only_report_id(app))["narrative"] == long_text[:MAX_NARRATIVE]


def test_does_changing_language_half_way_keep_every_answer_and_store_nothing(app, client):
    """A reporter who started in Russian switches to Tajik under the form: the answers come
    back as typed, in Tajik, with no error marked, and nothing is filed yet."""
    hidden = open_form(client, "/report?lang=ru")
    typed = form_data(narrative="SYNTHETIC half-way — ёжик 🙂", acts=["BRD.02"])
    response = post_and_follow(client, "/report", {**hidden, **typed, "lang": "tg"})
    page = response.get_data(as_text=True)
    assert response.history[0].headers["Location"] == "/report"
    assert '<html lang="tg">' in page
    assert str(escape("SYNTHETIC half-way — ёжик 🙂")) in page
    assert 'value="BRD.02" checked' in page and 'value="SYNTHETIC terminal 1"' in page
    assert 'class="error"' not in page
    assert hidden_fields(page)["token"] == hidden["token"]
    assert report_count(app) == 0
    # Enter in a field still sends the report: the form's default button is "send", not a
    # language (those at the top of the page come first in it).
    assert page.index('name="lang"') < page.index("<main>")
    assert "name=" not in default_button(page)
    # Sent afterwards, it files one report, in Tajik.
    _response, receipt = file_report(client, **typed)
    assert receipt is not None and report_count(app) == 1


def test_is_the_submission_token_kept_when_the_form_comes_back_with_errors(client):
    hidden = open_form(client)
    response = post_and_follow(client, "/report", {**hidden, **form_data(acts=None)})
    assert hidden_fields(response.get_data(as_text=True))["token"] == hidden["token"]


def test_does_the_page_open_at_the_first_field_to_fix(client):
    response = client.post("/report", data=form_data(group_size="0", country=None, acts=None))
    assert response.status_code == 303
    assert response.headers["Location"] == "/report#field-acts"
    response = client.post("/report", data=form_data(group_size="0", narrative="x" * 20_001))
    assert response.headers["Location"] == "/report#field-group_size"


def test_does_every_place_an_error_is_shown_have_its_anchor(client):
    # The full form asks every question (the quick report's anchors: test_reporter_quick.py).
    page = client.get("/report/full").get_data(as_text=True)
    assert set(FIELD_OF_PATH.values()) <= set(FIELD_ORDER)
    for name in FIELD_ORDER:
        assert page.count(f'id="field-{name}"') == 1, name


def test_are_the_answers_still_there_on_reload_and_gone_once_filed(app, client):
    hidden = open_form(client)
    typed = form_data(narrative="SYNTHETIC kept across reloads", acts=None)
    post_and_follow(client, "/report", {**hidden, **typed})
    again = client.get("/report").get_data(as_text=True)  # Reload, or the form opened anew
    assert "SYNTHETIC kept across reloads" in again and 'id="e-acts"' in again
    _response, receipt = file_report(client, narrative="SYNTHETIC kept across reloads")
    assert receipt is not None
    fresh = client.get("/report").get_data(as_text=True)
    assert "SYNTHETIC kept across reloads" not in fresh and 'class="error"' not in fresh


def test_is_the_receipt_shown_once_and_never_in_the_redirect(app, client):
    hidden = open_form(client)
    answer = client.post("/report", data={**hidden, **form_data()})
    assert answer.status_code == 303 and answer.headers["Location"] == "/report"
    assert answer.get_data(as_text=True).count("receipt") == 0
    page = client.get("/report")
    receipt = receipt_on(page)
    assert receipt is not None
    again = client.get("/report").get_data(as_text=True)
    assert receipt not in again.replace(" ", "") and 'id="receipt"' not in again
    assert '<form method="post" action="/report"' in again  # a fresh form instead


def test_does_pressing_send_twice_file_one_report_and_show_the_same_receipt(app, client):
    hidden = open_form(client)
    data = {**hidden, **form_data()}
    first = receipt_on(post_and_follow(client, "/report", data))
    second = receipt_on(post_and_follow(client, "/report", data))
    assert first is not None and first == second
    assert report_count(app) == 1


def test_does_a_press_whose_page_never_loaded_keep_its_receipt(app, client):
    """Two reports sent before the first receipt page could load: both numbers are shown."""
    first = client.post("/report", data={**open_form(client), **form_data()})
    second = client.post("/report", data={"token": "ab" * 32, **form_data(narrative="other")})
    assert first.status_code == second.status_code == 303
    page = client.get("/report").get_data(as_text=True)
    assert len(re.findall(r'class="receipt"', page)) == 2
    assert report_count(app) == 2


def test_do_two_forms_opened_separately_file_two_reports(app, client):
    _first, receipt_a = file_report(client)
    _second, receipt_b = file_report(client)
    assert receipt_a and receipt_b and receipt_a != receipt_b
    assert report_count(app) == 2


def test_does_a_reused_token_with_different_answers_file_a_new_report(app, client):
    """A token alone never opens someone else's receipt: it is bound to the content."""
    hidden = open_form(client)
    first = post_and_follow(client, "/report", {**hidden, **form_data()})
    second = post_and_follow(
        client, "/report", {**hidden, **form_data(narrative="SYNTHETIC other")}
    )
    assert receipt_on(first) is not None and receipt_on(second) is not None
    assert receipt_on(first) != receipt_on(second)
    assert report_count(app) == 2


@pytest.mark.parametrize("token", ["", "abc", "zz" * 32, "00" * 31])
def test_does_a_tampered_submission_token_still_file_exactly_one_report(app, client, token):
    response = post_and_follow(client, "/report", {"token": token, **form_data()})
    assert receipt_on(response) is not None
    assert report_count(app) == 1


def test_is_the_narrative_stored_exactly_as_typed(app, client):
    narrative = "\nFirst line\r\n<script>alert('x')</script> «ёлка» 🇹🇯 \u200b  trailing  "
    _response, receipt = file_report(client, narrative=narrative)
    assert receipt is not None
    stored = open_private_section(app, only_report_id(app))
    assert stored["narrative"] == narrative


def test_is_a_leading_newline_of_the_narrative_kept_when_the_form_comes_back(client):
    """Browsers drop the first newline inside <textarea>; the page adds one to compensate."""
    response, _receipt = file_report(client, narrative="\nstarts on line two", acts=None)
    page = response.get_data(as_text=True)
    assert 'autocomplete="off">\n\nstarts on line two</textarea>' in page


def test_is_the_pipeline_nudged_only_after_the_report_is_committed(app, client, monkeypatch):
    seen = []

    def spy(task_name, *args):
        # A fresh connection sees only committed rows.
        with app.app_context():
            db.session.remove()
            seen.append((task_name, report_count(app)))
        return True

    monkeypatch.setattr(dispatch, "enqueue", spy)
    monkeypatch.setattr(dispatch, "_last_nudge", 0.0)
    _response, receipt = file_report(client)
    assert receipt is not None
    assert seen == [(dispatch.TASK_PIPELINE_NUDGE, 1)]


def test_is_the_pipeline_left_alone_when_statistics_consent_is_refused(client, monkeypatch):
    seen = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args: seen.append(name) or True)
    _response, receipt = file_report(client, consent_statistics="no")
    assert receipt is not None
    assert seen == []


def test_does_a_body_over_the_size_limit_store_nothing_and_say_so(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    hidden = open_form(client)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    data = {**hidden, **form_data(narrative="x" * (limit + 10))}
    response = post_and_follow(client, "/report", data)
    page = response.get_data(as_text=True)
    assert "What you sent is too large." in page and 'class="error"' in page
    assert "xxxxxxxxxx" not in page
    assert report_count(app) == 0


def test_is_a_report_refused_without_the_csrf_token_and_nothing_sent_shown_again(csrf_app):
    """What a stale form (or one replayed from a phone's history) meets: "start again", never
    the answers it carried."""
    client = csrf_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    hidden = open_form(client)
    hidden.pop("csrf_token")
    data = {**hidden, **form_data(narrative="SYNTHETIC not echoed")}
    response = post_and_follow(client, "/report", data)
    page = response.get_data(as_text=True)
    assert "This page has expired and nothing was sent. Please start again." in page
    assert "SYNTHETIC not echoed" not in page
    assert 'value="BRD.02" checked' not in page
    # A fresh CSRF token comes with the page, so starting again works.
    retry = {**hidden_fields(page), **form_data(narrative="SYNTHETIC second try")}
    assert receipt_on(post_and_follow(client, "/report", retry)) is not None
    assert "expired" not in client.get("/report").get_data(as_text=True)  # said once
    assert report_count(csrf_app) == 1


def test_is_a_report_accepted_with_the_csrf_token_of_its_session(csrf_app):
    client = csrf_app.test_client()
    _response, receipt = file_report(client)
    assert receipt is not None


def test_is_a_csrf_token_from_another_session_refused(csrf_app):
    attacker = csrf_app.test_client()
    stolen = open_form(attacker)["csrf_token"]
    victim = csrf_app.test_client()
    hidden = open_form(victim)
    response = victim.post("/report", data={**hidden, "csrf_token": stolen, **form_data()})
    assert response.status_code == 303
    assert report_count(csrf_app) == 0


def test_is_the_same_submission_token_shape_the_form_issues(app, client):
    token = open_form(client)["token"]
    assert len(token) == 2 * len(new_submission_token())
    assert re.fullmatch(r"[0-9a-f]+", token)


def test_does_the_year_picker_offer_exactly_the_accepted_years(client, app: Flask):
    page = client.get("/report").get_data(as_text=True)
    select = page[page.index('name="year"') : page.index("</select>", page.index('name="year"'))]
    years = [int(y) for y in re.findall(r"<option(?: selected)?>(\d{4})</option>", select)]
    assert min(years) == 2000
    assert max(years) in (dt.date.today().year, dt.date.today().year + 1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_is_the_page_answered_directly_when_redis_is_down(app, monkeypatch):
    """The handoff store unreachable: the POST shows its page itself, so the reporter never
    loses a receipt nor an answer, and is told to close the browser when leaving."""
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(ratelimit, "_clients", {})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    refused = client.post("/report", data=form_data(narrative="SYNTHETIC kept", acts=None))
    assert refused.status_code == 422
    assert "SYNTHETIC kept" in refused.get_data(as_text=True)
    filed = client.post("/report", data={**open_form(client), **form_data()})
    assert filed.status_code == 200 and receipt_on(filed) is not None
    assert "also close the browser" in filed.get_data(as_text=True)
    assert report_count(app) == 1


def test_does_a_report_form_hold_nothing_of_the_request_before_it(app):
    """The form's fields are copied from prototypes (`forms._QuietMeta`): is each form's data
    its own request's only, and are the shared prototypes left without any answer?"""
    first_answers = {"narrative": "SYNTHETIC first reporter", "acts": ["DET.01"], "sex": "F"}
    with app.test_request_context("/report", method="POST", data=first_answers):
        first = ReportForm()
        assert first.narrative.data == "SYNTHETIC first reporter"
    with app.test_request_context("/report", method="POST", data={"year": "2024"}):
        second = ReportForm()
        assert second.narrative.data is None
        assert second.sex.data is None
        assert second.acts.data == []
        assert second.year.data == "2024"
        assert first.narrative.data == "SYNTHETIC first reporter"
        assert second.narrative is not first.narrative
        assert all(field._form is second for field in second)
        assert "SYNTHETIC first reporter" not in str(second.narrative())
    prototypes = [
        prototype
        for _name, unbound in ReportForm._unbound_fields
        for prototype in unbound.__dict__.get("_incident_prototypes", {}).values()
    ]
    assert prototypes
    assert all("data" not in vars(p) and "raw_data" not in vars(p) for p in prototypes)
