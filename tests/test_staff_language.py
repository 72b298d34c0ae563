"""Staff pages in Russian or English: caseworkers at support organisations in Russia work in
Russian; international staff and officials may not. The reporter's languages stay theirs."""

from __future__ import annotations

import re
from functools import cache

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from incident_service.constants import Role
from tests import PROJECT_ROOT
from tests.factories import submit
from tests.staff import logged_in_client, make_staff

STAFF_SOURCES = (
    "templates/staff/",
    "templates/summaries/",
    "incident_service/auth/",
    "incident_service/cases/",
    "incident_service/summaries/",
)
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


@cache
def _staff_messages() -> dict[object, tuple[str, ...]]:
    method_map = [("incident_service/**.py", "python"), ("templates/**.html", "jinja2")]
    found: dict[object, list[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        if filename.startswith(STAFF_SOURCES):
            key = message if isinstance(message, str) else tuple(message)
            found.setdefault(key, []).append(filename)
    return {message: tuple(files) for message, files in found.items()}


def test_is_every_staff_message_translated_into_russian():
    path = PROJECT_ROOT / "incident_service/translations/ru/LC_MESSAGES/messages.po"
    with open(path, "rb") as handle:
        catalogue = read_po(handle, locale="ru")
    messages = _staff_messages()
    assert len(messages) > 150  # the extraction really found the staff pages
    untranslated = []
    for message, files in messages.items():
        entry = catalogue.get(message[0] if isinstance(message, tuple) else message)
        strings = entry.string if entry is not None else None
        done = all(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is None or not done or entry.fuzzy:
            untranslated.append((message, files))
    assert untranslated == []


def test_does_a_staff_member_without_a_choice_get_english(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in" in page


def test_does_a_russian_browser_get_the_russian_login_page(client):
    page = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="ru">' in page
    assert "Войти" in page and "Log in" not in page


def test_does_a_reporter_language_without_staff_pages_fall_back_to_english(client):
    """Tajik has no staff translation: a mix of Tajik and English would be worse than English."""
    page = client.get("/login", headers={"Accept-Language": "tg"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_does_the_staff_choice_leave_the_reporter_pages_alone(client):
    client.get("/?lang=tg")
    client.get("/login?lang=ru")
    assert '<html lang="ru">' in client.get("/login").get_data(as_text=True)
    assert '<html lang="tg">' in client.get("/report").get_data(as_text=True)


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<nav class="langs".*?</nav>', " ", page, flags=re.S)
    # What the reporter typed stays as typed.
    page = re.sub(r'<dd class="narrative".*?</dd>', " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_does_the_queue_and_a_case_read_in_russian_once_chosen(app):
    with app.app_context():
        account = make_staff(role=Role.CASEWORKER)
        report_id = submit(narrative="SYNTHETIC report read in Russian").report_id
    client = logged_in_client(app, account)
    queue = client.get("/cases/?lang=ru").get_data(as_text=True)
    assert '<html lang="ru">' in queue
    assert "Очередь" in queue and "Отфильтровать" in queue
    case = _visible_text(client.get(f"/cases/{report_id}").get_data(as_text=True))
    assert "Изменить статус" in case
    # Apart from what the reporter typed, only proper names and addresses may stay in Latin.
    for page in (_visible_text(queue), case):
        capitalised = set(re.findall(r"\b[A-Z][a-z]{3,}\b", page)) - {"Telegram", "Signal"}
        assert capitalised == set()


def test_is_a_refused_case_change_explained_in_russian(app):
    """A label with a phone number in it is refused, and the reason reads in Russian."""
    with app.app_context():
        account = make_staff(role=Role.CASEWORKER)
        report_id = submit().report_id
    client = logged_in_client(app, account)
    client.get("/cases/?lang=ru")
    page = client.post(
        f"/cases/{report_id}/details",
        data={
            "priority": "1",
            "assignee": "",
            "labels": "звонить 89001234567",
            "verification": "0",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "В метках не может быть длинных чисел." in page
    assert "long numbers" not in page


def test_is_the_staff_language_picker_on_the_page(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="?lang=ru"' in page and 'href="?lang=en"' in page
