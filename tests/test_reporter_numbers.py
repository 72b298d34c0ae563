"""Numbers answered in words on the report form: accepted, said back, counted, kept sealed.

"около 40", "2 суток" and "2 млн" used to be refused with "This must be a number"; now the page
that follows (the receipt, or the form again) says how each was understood, in the language of
the page, and the words typed are stored only inside the sealed private section.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from incident_service.models import Report, db
from tests.reporter_helpers import (
    file_report,
    form_data,
    only_report_id,
    open_form,
    open_private_section,
    open_statistical_section,
    post_and_follow,
    text_of,
)

IN_WORDS = {"group_size": "около 40", "duration_hours": "2 суток", "payment_offered_rub": "2 млн"}


def test_can_a_reporter_answer_how_many_in_words_and_see_how_it_was_understood(app, client):
    client.get("/report?lang=ru")
    response, receipt = file_report(client, **IN_WORDS)
    assert receipt is not None, text_of(response.get_data(as_text=True))[:500]
    said = text_of(response.get_data(as_text=True))
    assert "Мы поняли так: примерно 40 человек." in said
    assert "Мы поняли так: 2 дня; в подсчётах — 48 часов." in said
    assert "Мы поняли так: 2 000 000 рублей." in said
    coded = open_statistical_section(app, only_report_id(app))
    assert coded["people"]["group_size"] == 40
    assert coded["duration_hours"] == 48
    assert coded["coercion"]["payment_offered_rub"] == 2_000_000


def test_are_the_words_typed_kept_sealed_for_the_case_team_and_nowhere_in_the_clear(app, client):
    _response, receipt = file_report(client, **IN_WORDS)
    assert receipt is not None
    report_id = only_report_id(app)
    assert open_private_section(app, report_id)["as_typed"] == {
        "people.group_size": "около 40",
        "duration_hours": "2 суток",
        "coercion.payment_offered_rub": "2 млн",
    }
    # The worker opens the coded section: no free text goes there.
    assert "около" not in str(open_statistical_section(app, report_id))
    with app.app_context():
        row = db.session.execute(select(Report.__table__).where(Report.id == report_id)).one()
    for value in row:
        as_bytes = value if isinstance(value, bytes) else str(value).encode()
        for typed in IN_WORDS.values():
            assert typed.encode() not in as_bytes


def test_is_a_plain_number_stored_with_no_words_kept(app, client):
    _response, receipt = file_report(client, group_size="12", duration_hours="3")
    assert receipt is not None
    assert "as_typed" not in open_private_section(app, only_report_id(app))
    assert "Understood" not in text_of(_response.get_data(as_text=True))


def test_does_the_form_sent_back_say_how_each_number_in_words_was_read(client):
    client.get("/report?lang=en")
    hidden = open_form(client)
    typed = form_data(acts=None, group_size="more than 20", duration_hours="несколько дней")
    page = post_and_follow(client, "/report", {**hidden, **typed}).get_data(as_text=True)
    assert 'id="e-acts"' in page  # the reason it came back
    said = text_of(page)
    assert "Understood as: more than 20 people, counted as 21 people." in said
    assert "Understood as: several, counted as 72 hours." in said
    assert 'value="more than 20"' in page  # what was typed stays in the box


def test_is_the_reading_told_in_the_language_chosen_afterwards(client):
    """The draft keeps what was typed; the sentence is made in the page's language."""
    client.get("/report?lang=ru")
    hidden = open_form(client)
    typed = form_data(group_size="около 40")
    page = post_and_follow(client, "/report", {**hidden, **typed, "lang": "uz"})
    assert "Biz shunday tushundik: taxminan 40 kishi." in text_of(page.get_data(as_text=True))


def test_is_text_that_is_no_number_still_refused_beside_its_field(app, client):
    client.get("/report?lang=ru")
    response, receipt = file_report(client, group_size="много", duration_hours="долго")
    assert receipt is None
    page = response.get_data(as_text=True)
    # Beside each field, and once more in the summary at the top, linked to the field.
    beside = re.findall(r'id="e-([a-z_]+)">Здесь должно быть число\.<', page)
    assert beside == ["duration_hours", "group_size"]
    assert text_of(page).count("Здесь должно быть число.") == 4
    linked = re.findall(r'<a href="#field-([a-z_]+)">[^<]*Здесь должно быть число\.</a>', page)
    assert linked == ["duration_hours", "group_size"]
    assert response.history[0].headers["Location"] == "/report#field-duration_hours"


def test_does_the_api_read_numbers_in_words_like_the_form(client):
    from tests.factories import report_payload

    body = report_payload(duration_hours="6 часов", people={"group_size": "40-50"})
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.get_json()


def test_does_the_case_team_see_the_words_typed_beside_the_number_counted(app, client):
    from incident_service.constants import Role
    from tests.staff import login, make_staff

    _response, receipt = file_report(client, **IN_WORDS)
    assert receipt is not None
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    desk = app.test_client()
    login(desk, worker)
    page = desk.get(f"/cases/{only_report_id(app)}").get_data(as_text=True)
    said = text_of(page)
    assert "Group size: около 40" in said and "Group size: 40" in said
    assert "How long (hours): 2 суток" in said
