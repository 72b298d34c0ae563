"""Each page in its language's script: Uzbek pages are in Latin script, place names included.

Region and airport names were always Russian, so the Uzbek form carried about a hundred
Cyrillic strings. Only the language switcher may show another script: each language names
itself in its own.
"""

from __future__ import annotations

import re

import pytest

from incident_service import taxonomy
from incident_service.i18n import LANGUAGES
from tests.reporter_helpers import form_data, open_form, post_and_follow

CYRILLIC = re.compile(r"[\u0400-\u04ff]+")


def _without_language_switchers(page: str) -> str:
    """The page with the language links and buttons removed (each names its language in its
    own script: "Русский" is how a Russian reader finds Russian)."""
    names = "|".join(re.escape(name) for name in LANGUAGES.values())
    page = re.sub(rf'<a href="\?lang=\w+" lang="\w+"[^>]*>(?:{names})</a>', "", page)
    return re.sub(
        rf'<button [^>]*name="lang" value="\w+" lang="\w+"[^>]*>(?:{names})</button>', "", page
    )


def test_is_the_uzbek_report_page_free_of_cyrillic_outside_the_language_switcher(client):
    quick = client.get("/report?lang=uz").get_data(as_text=True)
    page = client.get("/report/full").get_data(as_text=True)
    assert '<html lang="uz">' in page and '<html lang="uz">' in quick
    assert "Moskva viloyati" in quick and "Moskva viloyati" in page
    assert "Sheremetyevo (Moskva)" in page
    assert CYRILLIC.findall(_without_language_switchers(page)) == []
    assert CYRILLIC.findall(_without_language_switchers(quick)) == []
    # The switcher itself still names Russian, Tajik and Kyrgyz in their own script.
    assert "Русский" in page and "Кыргызча" in page


def test_is_the_uzbek_form_sent_back_with_errors_free_of_cyrillic_too(client):
    client.get("/report?lang=uz")
    hidden = open_form(client)
    typed = form_data(acts=None, group_size="taxminan 40", narrative="SYNTHETIC")
    page = post_and_follow(client, "/report", {**hidden, **typed}).get_data(as_text=True)
    assert 'id="e-acts"' in page
    assert CYRILLIC.findall(_without_language_switchers(page)) == []


@pytest.mark.parametrize(
    ("language", "region", "airport"),
    [
        ("uz", "Sankt-Peterburg", "Pulkovo (Sankt-Peterburg)"),
        ("en", "Saint Petersburg", "Pulkovo (Saint Petersburg)"),
        ("ru", "Санкт-Петербург", "Пулково (Санкт-Петербург)"),
        ("tg", "Санкт-Петербург", "Пулково (Санкт-Петербург)"),
        ("ky", "Санкт-Петербург", "Пулково (Санкт-Петербург)"),
    ],
)
def test_is_each_place_named_in_the_script_of_the_page(app, language, region, airport):
    assert taxonomy.place_label("RU-SPE", language) == region
    assert taxonomy.place_label("LED", language) == airport
    client = app.test_client()
    quick = client.get(f"/report?lang={language}").get_data(as_text=True)
    page = client.get("/report/full").get_data(as_text=True)
    assert f'<option value="RU-SPE">{region}</option>' in quick
    assert f'<option value="RU-SPE">{region}</option>' in page
    assert f'<option value="LED">{airport}</option>' in page


def test_does_every_place_have_a_latin_name_for_uzbek_readers():
    for places in (taxonomy.REGIONS, taxonomy.AIRPORTS, taxonomy.FEDERAL_DISTRICTS):
        for term in places:
            name = term.label_in("uz")
            assert name != term.label_in("ru") or not CYRILLIC.search(name), term.code
            assert not CYRILLIC.search(name), (term.code, name)
