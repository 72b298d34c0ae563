"""Does every error answer with a page of our own — in the visitor's language, styled, with a way
back and nothing of the fault — and does /api/ keep answering problem details?"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import build_app
from tests.reporter_helpers import text_of

HEADINGS_404 = {
    "en": "Page not found",
    "ru": "Страница не найдена",
    "tg": "Саҳифа ёфт нашуд",
    "uz": "Sahifa topilmadi",
    "ky": "Барак табылган жок",
}
WERKZEUG_DEFAULTS = ("Not Found", "Method Not Allowed", "Internal Server Error", "Werkzeug")


def assert_our_page(page: str, *, language: str) -> None:
    """The site's own page: the language, a viewport, the site's style (a stylesheet on staff
    pages, inline on reporter pages, see decisions "Page weight"), no default text."""
    assert f'<html lang="{language}">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'href="/static/site.css"' in page or "<style>" in page
    assert not any(default in page for default in WERKZEUG_DEFAULTS), page
    assert "Traceback" not in page


@pytest.mark.parametrize("language", sorted(HEADINGS_404))
def test_does_a_missing_page_answer_in_each_reporter_language_with_a_way_back(client, language):
    response = client.get(f"/no-such-page?lang={language}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert_our_page(page, language=language)
    assert f"<h1>{HEADINGS_404[language]}</h1>" in page
    assert '<a class="button" href="/">' in page  # back to the reporter's start page
    # The reporter's frame: the quick exit and the five languages.
    assert 'href="/exit"' in page
    assert page.count('href="?lang=') == 5


def test_does_a_missing_page_follow_the_phones_language(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "ky,ru;q=0.8"})
    assert response.status_code == 404
    assert_our_page(response.get_data(as_text=True), language="ky")


def test_does_a_wrong_method_say_so_in_russian_and_keep_the_allow_header(client):
    response = client.delete("/report", headers={"Accept-Language": "ru"})
    page = response.get_data(as_text=True)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_our_page(page, language="ru")
    assert "Ничего не отправлено." in text_of(page)


def test_does_a_staff_address_answer_a_staff_page_in_the_staff_language(client):
    """An unknown address under /cases is the staff's: Russian or English, the desk's frame
    (two languages, no quick exit) and a way back to the desk."""
    response = client.get("/cases/a/b/c/d", headers={"Accept-Language": "ru"})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert_our_page(page, language="ru")
    assert "<h1>Страница не найдена</h1>" in page
    assert 'href="/staff"' in page and "К рабочему месту" in page
    assert page.count('href="?lang=') == 2 and 'href="/exit"' not in page
    # A reporter language is not a staff language: Tajik falls back to English there.
    tajik = client.get("/cases/a/b/c/d", headers={"Accept-Language": "tg"})
    assert_our_page(tajik.get_data(as_text=True), language="en")


def test_is_a_body_too_large_for_the_login_refused_with_a_staff_page(app, client):
    too_much = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/login",
        data={"email": "a@example.org", "password": too_much},
        headers={"Accept-Language": "ru"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert_our_page(page, language="ru")
    assert "<h1>Отправленное слишком велико</h1>" in page


def test_are_too_many_logins_refused_with_a_page_in_english(client):
    statuses = [client.post("/login", data={}).status_code for _ in range(31)]
    assert statuses[:30] == [400] * 30  # an empty form, refused on its own merits
    response = client.post("/login", data={}, headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert_our_page(page, language="en")
    assert "<h1>Too many tries</h1>" in page


def test_does_a_fault_in_our_code_show_a_page_without_the_fault(app):
    """A bug answers 500 with the reporter's page; the exception's text stays out of it."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken() -> str:
        raise RuntimeError("SECRET-DETAIL of the fault")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken?lang=uz")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert_our_page(page, language="uz")
    assert "SECRET-DETAIL" not in page and "RuntimeError" not in page
    assert "<h1>Nimadir notoʻgʻri ketdi</h1>" in page


def test_does_the_api_keep_answering_problem_details(client):
    for path in ("/api/v1/no-such-thing", "/api/no-such-version"):
        response = client.get(path, headers={"Accept-Language": "ru"})
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert json.loads(response.get_data())["status"] == 404
    wrong = client.delete("/api/v1/reports")
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"


def test_is_there_a_favicon_from_this_site(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.get_data().startswith(b"\x00\x00\x01\x00")  # an ICO file
    for page in ("/", "/report", "/login", "/no-such-page"):
        assert '<link rel="icon" href="/favicon.ico">' in client.get(page).get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# In the browser


@pytest.mark.browser
def test_does_a_missing_page_fit_a_phone_with_the_sites_style_and_nothing_from_elsewhere(
    tmp_path, serve_over_http, headless_chromium
):
    from selenium.webdriver.common.by import By

    # The page does not touch the database: one backend is enough.
    app = next(build_app(tmp_path, "sqlite"))
    base = serve_over_http(app)
    driver = headless_chromium(window=(360, 740), javascript=False)
    driver.get(f"{base}/no-such-page?lang=tg")
    assert driver.find_element(By.TAG_NAME, "h1").text == HEADINGS_404["tg"]
    viewport = driver.find_element(By.CSS_SELECTOR, 'meta[name="viewport"]')
    assert viewport.get_attribute("content") == "width=device-width, initial-scale=1"
    # The site's style (inline on reporter pages) was applied: the button is the site's blue.
    back = driver.find_element(By.CSS_SELECTOR, "a.button")
    assert back.value_of_css_property("background-color") == "rgba(11, 79, 138, 1)"
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 360
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(url.startswith(base) for url in loaded), loaded
    assert re.fullmatch(r".*/no-such-page\?lang=tg", driver.current_url)
