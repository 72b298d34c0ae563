"""Languages: every reporter-facing string in Russian, Tajik, Uzbek, Kyrgyz and English, chosen
by a visible picker and remembered for the browser session only."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale

from incident_service import taxonomy
from incident_service.cases.messaging import post_message
from incident_service.constants import MessageAuthor
from incident_service.i18n import LANGUAGES
from incident_service.models import Report, db
from tests import PROJECT_ROOT
from tests import evidence_samples as samples
from tests.factories import submit
from tests.reporter_helpers import file_report, post_and_follow, text_of

TRANSLATIONS = PROJECT_ROOT / "incident_service" / "translations"
TRANSLATED = ("ru", "tg", "uz", "ky")
CYRILLIC = ("ru", "tg", "ky")
# Where reporter-facing text comes from; staff pages are someone else's catalogue entries.
REPORTER_SOURCES = (
    "templates/base.html",
    "templates/reporter/",
    "incident_service/intake/views.py",
    "incident_service/intake/forms.py",
    "incident_service/api/",
    "incident_service/intake/validation.py",
    "incident_service/intake/reporter_access.py",
    "incident_service/intake/understood.py",
    "incident_service/intake/evidence.py",
    "incident_service/evidence/refusals.py",
    "incident_service/taxonomy/",
    "templates/errors/reporter.html",
    "incident_service/error_pages.py",
    "incident_service/database_outage.py",
)
# Names that stay as they are in every language.
PROPER_NAMES = {"Telegram", "WhatsApp", "Signal"}
# File formats, named as a phone names them (the file input's hint).
FORMAT_NAMES = {"JPEG", "PNG", "HEIC", "WebP", "PDF", "AAC", "Ogg", "WAV"}
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _reporter_facing(locations) -> bool:
    return any(path.startswith(REPORTER_SOURCES) for path, _line in locations)


@cache
def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


@cache
def _source_messages() -> dict[str, tuple]:
    """Every message id in the reporter-facing source files, extracted as pybabel would."""
    method_map = [
        ("incident_service/**.py", "python"),
        ("seeds/**.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    found: dict[str, list] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        if filename.startswith(REPORTER_SOURCES) and isinstance(message, str):
            found.setdefault(message, []).append(filename)
    return {message: tuple(files) for message, files in found.items()}


@pytest.mark.parametrize("language", TRANSLATED)
def test_is_every_reporter_facing_message_in_the_source_translated(language):
    """A string added to a template or a view without a translation fails here."""
    catalogue = _catalogue(language)
    untranslated = []
    for message_id, files in _source_messages().items():
        entry = catalogue.get(message_id)
        if entry is None or not entry.string or entry.fuzzy:
            untranslated.append((message_id, files))
    assert untranslated == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_do_translations_keep_every_placeholder(language):
    catalogue = _catalogue(language)
    problems = [(message.id, errors) for message, errors in catalogue.check() if errors]
    assert problems == []
    for message in catalogue:
        if message.id and _reporter_facing(message.locations):
            # A plural entry's forms may each use the placeholders of either English form.
            ids, strings = _forms(message.id), _forms(message.string)
            placeholders = {p for form in ids for p in re.findall(r"%\(\w+\)s", form)}
            for string in strings:
                assert placeholders == set(re.findall(r"%\(\w+\)s", string)), message.id


def _forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return text if isinstance(text, tuple) else (text,)


@pytest.mark.parametrize("language", CYRILLIC)
def test_are_cyrillic_translations_actually_translated(language):
    """A copied English string in a Cyrillic catalogue is a missed translation."""
    for message in _catalogue(language):
        if not message.id or not _reporter_facing(message.locations):
            continue
        if isinstance(message.id, tuple):  # plurals: every form translated
            assert all(re.search(r"[а-яёҷқғӯҳӣөүң]", f, re.I) for f in message.string), message.id
            continue
        if message.id in PROPER_NAMES or re.fullmatch(r"[\d\s%()a-z_–-]*", message.id):
            continue
        assert message.string != message.id, message.id
        assert re.search(r"[а-яёҷқғӯҳӣөүң]", message.string, re.I), message.id


def _pages(app, language: str) -> dict[str, str]:
    """Every reporter page, in one language, with a message thread and errors showing."""
    client = app.test_client()
    client.get(f"/?lang={language}")
    with app.app_context():
        # Written in the page's language: a lookup shows the report's language.
        result = submit(language=language)
        report = db.session.get(Report, result.report_id)
        post_message(report, author=MessageAuthor.CASEWORKER, text="SYNTHETIC 1")
        db.session.commit()

    def sent(url: str, data: dict) -> str:
        return str(post_and_follow(client, url, data).get_data(as_text=True))

    pages = {
        "index": client.get("/").get_data(as_text=True),
        "form": client.get("/report").get_data(as_text=True),
        "form with errors": sent(
            "/report", {"duration_hours": "x", "group_size": "0", "consent_statistics": ""}
        ),
        "form refused, page expired": sent("/report", {"csrf_token": "x"}),
        "lookup": client.get("/status").get_data(as_text=True),
        "lookup failed": sent("/status", {"receipt": "1"}),
        "lookup after the page closed": sent("/status", {"action": "message", "text": "x"}),
        "status": sent("/status", {"receipt": result.receipt}),
        "status with error": sent("/status", {"action": "delete"}),
        "status with notice": sent("/status", {"action": "message", "text": "SYNTHETIC 2"}),
    }
    response, _receipt = file_report(client)
    pages["receipt"] = response.get_data(as_text=True)
    files = [(io.BytesIO(samples.png()), "order.png"), (io.BytesIO(b"SYNTHETIC"), "notes.txt")]
    response, _receipt = file_report(client, evidence=files)
    pages["receipt with files"] = response.get_data(as_text=True)
    pages["exit"] = client.get("/exit").get_data(as_text=True)
    return pages


def _visible_text(page: str) -> str:
    """Text a reader sees, without the language picker (each language names itself)."""
    page = re.sub(r'<(nav|form) class="langs".*?</\1>', " ", page, flags=re.S)
    page = re.sub(r"<textarea[^>]*>.*?</textarea>", " ", page, flags=re.S)
    page = re.sub(r'<span class="fp">[0-9A-F ]+</span>', " ", page)  # a file's fingerprint
    return text_of(page)


def _english_leftovers(text: str, language: str) -> list[str]:
    catalogue = _catalogue(language)
    leftovers = []
    for message in catalogue:
        if not message.id or message.id in PROPER_NAMES or message.string == message.id:
            continue
        if isinstance(message.id, tuple):  # plurals always have a placeholder
            continue
        if not _reporter_facing(message.locations) or "%(" in message.id:
            continue
        if re.search(rf"(?<!\w){re.escape(message.id)}(?!\w)", text):
            leftovers.append(message.id)
    return leftovers


@pytest.mark.parametrize("language", TRANSLATED)
def test_does_every_reporter_page_render_with_no_english_left(app, language):
    for name, page in _pages(app, language).items():
        assert f'<html lang="{language}">' in page, name
        text = _visible_text(page)
        assert _english_leftovers(text, language) == [], name
        if language in CYRILLIC:
            latin_words = set(re.findall(r"[A-Za-z]{3,}", text)) - PROPER_NAMES - FORMAT_NAMES
            latin_words -= {"SYNTHETIC", "order", "png", "notes", "txt"}  # file names sent
            assert latin_words == set(), (name, latin_words)


def test_does_the_english_page_show_the_english_text(app):
    """The other half of the check above: the English page really uses these message ids."""
    pages = _pages(app, "en")
    assert "Tell us what happened" in _visible_text(pages["form"])
    assert "This must be a number." in _visible_text(pages["form with errors"])


def test_is_the_language_remembered_for_the_session_only(client):
    first = client.get("/?lang=ky")
    cookie = first.headers["Set-Cookie"]
    assert "expires=" not in cookie.lower() and "max-age=" not in cookie.lower()
    page = client.get("/report").get_data(as_text=True)
    assert '<html lang="ky">' in page
    assert "Эмне болду?" in page


def test_does_a_new_visitor_get_the_language_their_phone_asks_for(app):
    client = app.test_client()
    page = client.get("/report", headers={"Accept-Language": "uz,ru;q=0.5"}).get_data(as_text=True)
    assert '<html lang="uz">' in page


def test_is_the_default_language_russian(app):
    page = app.test_client().get("/report").get_data(as_text=True)
    assert '<html lang="ru">' in page


def test_are_validation_messages_in_the_reporters_language(client):
    client.get("/report?lang=tg")
    page = post_and_follow(client, "/report", {"group_size": "abc"}).get_data(as_text=True)
    with client.application.test_request_context(), force_locale("tg"):
        expected = str(_catalogue("tg").get("This must be a number.").string)
    assert expected in page


@pytest.mark.parametrize("language", TRANSLATED)
def test_does_every_taxonomy_label_read_in_each_language(app, language):
    with app.test_request_context(), force_locale(language):
        for vocabulary in taxonomy.VOCABULARIES.values():
            for term in vocabulary:
                label = term.label
                assert label and label != term.code, (vocabulary.name, term.code)
                if term.msgid is not None and str(term.msgid) in PROPER_NAMES:
                    continue
                if term.msgid is not None and language in CYRILLIC:
                    assert re.search(r"[а-яёҷқғӯҳӣөүң]", label, re.I), (language, term.code)


def test_is_a_place_name_shown_in_russian_to_tajik_and_kyrgyz_readers(app):
    """Cyrillic-script pages show the name on documents and signs; the Uzbek page, in Latin
    script, its own (tests/test_reporter_scripts.py)."""
    for language in ("tg", "ky"):
        with app.test_request_context(), force_locale(language):
            assert taxonomy.REGIONS.label("RU-SPE") == "Санкт-Петербург"
    with app.test_request_context(), force_locale("uz"):
        assert taxonomy.REGIONS.label("RU-SPE") == "Sankt-Peterburg"
    with app.test_request_context(), force_locale("en"):
        assert taxonomy.REGIONS.label("RU-SPE") == "Saint Petersburg"


def test_are_compiled_catalogues_there_for_every_language():
    for language in LANGUAGES:
        assert (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").exists(), language
        assert Path(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").exists(), language


def test_do_kept_errors_follow_a_change_of_language(client):
    """A refused form's errors are checked again when shown, so a reporter who then picks
    another language reads them in it."""
    client.get("/report?lang=ru")
    post_and_follow(client, "/report", {"group_size": "abc", "narrative": "SYNTHETIC kept"})
    page = client.get("/report?lang=ky").get_data(as_text=True)
    expected = str(_catalogue("ky").get("This must be a number.").string)
    assert '<html lang="ky">' in page and expected in page and "SYNTHETIC kept" in page
