"""No trace on the phone: headers on every route, no lasting cookies, no scripts, neutral titles,
a quick exit everywhere, sensitive fields kept out of autofill, and a page light enough for
mobile data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale, gettext

from incident_service.i18n import LANGUAGES
from tests import PROJECT_ROOT
from tests.factories import submit
from tests.reporter_helpers import file_report, form_data, open_form, post_and_follow

FORM_PAGE_BUDGET = 50 * 1024
SENSITIVE_FIELDS = ("narrative", "place_text", "contact_value", "receipt", "text")


def _reporter_pages(app: Flask) -> dict[str, str]:
    """Every page a reporter can see, rendered once each."""
    client = app.test_client()
    with app.app_context():
        receipt = submit().receipt
    too_large = {"narrative": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    pages = {
        "index": client.get("/").get_data(as_text=True),
        "form": client.get("/report").get_data(as_text=True),
        "full form": client.get("/report/full").get_data(as_text=True),
        "form with errors": post_and_follow(client, "/report", {"acts": "DET.01"}).get_data(
            as_text=True
        ),
        "lookup": client.get("/status").get_data(as_text=True),
        "lookup failed": post_and_follow(client, "/status", {"receipt": "1" * 20}).get_data(
            as_text=True
        ),
        "status": post_and_follow(client, "/status", {"receipt": receipt}).get_data(as_text=True),
        "too large": post_and_follow(client, "/report", too_large).get_data(as_text=True),
    }
    _response, _receipt = file_report(client)
    pages["receipt"] = _response.get_data(as_text=True)
    for step in ("place", "people", "pressure", "words", "contact", "done"):
        pages[f"details: {step}"] = client.get(f"/report/details/{step}").get_data(as_text=True)
    return pages


def _every_route(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule of the app, arguments filled with dummies."""
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            values = {argument: "1" for argument in rule.arguments}
            if rule.endpoint == "static":
                values = {"filename": "site.css"}
            url = adapter.build(rule.endpoint, values, method=method)
            routes.append((rule.endpoint, method, url))
    return routes


def test_does_every_route_send_the_security_headers(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crashing route must still send headers
    client = app.test_client()
    routes = _every_route(app)
    endpoints = {endpoint for endpoint, _method, _url in routes}
    assert {"reporter.report", "reporter.status", "reporter.exit_page", "api.post_report"} <= (
        endpoints
    )
    for endpoint, method, url in routes:
        response = client.open(url, method=method)
        headers = response.headers
        where = f"{method} {url} ({endpoint})"
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp or "default-src 'self'" in csp, where
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
        assert "frame-ancestors 'none'" in csp, where
        assert headers.get("Referrer-Policy") == "no-referrer", where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        permissions = headers.get("Permissions-Policy", "")
        for feature in ("camera", "microphone", "geolocation", "accelerometer", "gyroscope"):
            assert f"{feature}=()" in permissions, where
        assert "no-store" in headers.get("Cache-Control", ""), where


def test_do_error_responses_send_the_security_headers_too(client):
    for response in (
        client.get("/no-such-page"),
        client.post("/api/v1/reports", data="{", content_type="application/json"),
        client.put("/api/v1/reports"),
    ):
        assert response.status_code >= 400
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "no-store" in response.headers["Cache-Control"]


def test_are_reporter_cookies_gone_when_the_browser_closes(app):
    client = app.test_client()
    with app.app_context():
        receipt = submit().receipt
    responses = [
        client.get("/?lang=tg"),
        client.get("/report"),
        client.post("/report", data={"acts": "DET.01"}),
        client.get("/status?lang=ky"),
        client.post("/status", data={"receipt": receipt, "lang": "uz"}),
        client.get("/exit"),
    ]
    cookies = [c for r in responses for c in r.headers.getlist("Set-Cookie")]
    assert cookies, "the language choice should at least be kept for the session"
    for cookie in cookies:
        attributes = cookie.lower()
        assert "httponly" in attributes and "samesite=strict" in attributes, cookie
        if cookie.startswith("s=;"):  # the quick exit empties the cookie: an expiry in the past
            assert "expires=thu, 01 jan 1970" in attributes, cookie
            continue
        assert "expires=" not in attributes and "max-age=" not in attributes, cookie
    assert responses[-1].headers.getlist("Set-Cookie")[0].startswith("s=;")


def test_does_every_reporter_post_answer_with_a_redirect_to_a_page(csrf_app):
    """POST/redirect/GET: whatever a reporter sends, the answer is "303 See Other" to a GET
    page of this site, so the browser's history never holds a form to send again."""
    client = csrf_app.test_client()
    with csrf_app.app_context():
        receipt = submit().receipt
    token = open_form(client)["csrf_token"]
    posts = [
        ("/report", form_data(acts=None)),
        ("/report", {**form_data(), "lang": "tg"}),
        ("/report", form_data()),
        ("/status", {"receipt": "1" * 20}),
        ("/status", {"action": "message", "text": "SYNTHETIC before opening"}),
        ("/status", {"receipt": receipt}),
        ("/status", {"action": "message", "text": ""}),
        ("/status", {"action": "message", "text": "SYNTHETIC answer"}),
        ("/status", {"action": "withdraw"}),
        ("/status", {"action": "withdraw", "confirm": "y"}),
        ("/status", {"action": "delete", "confirm": "y"}),
        ("/status", {"action": "close"}),
        ("/report", {"narrative": "x" * (csrf_app.config["MAX_CONTENT_LENGTH"] + 1)}),
    ]
    for url, data in posts:
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 303, (url, data)
        assert response.headers["Location"].split("#")[0] == url, (url, data)
        assert receipt not in response.get_data(as_text=True)
    for url in ("/report", "/status"):  # a form token that does not match
        response = client.post(url, data={"csrf_token": "stale", **form_data()})
        assert response.status_code == 303 and response.headers["Location"] == url


def test_does_the_api_set_no_cookie_even_when_a_language_is_asked_for(client):
    response = client.get("/api/v1/taxonomy?lang=tg")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


def test_does_every_reporter_page_carry_the_same_neutral_title(app):
    for language in LANGUAGES:
        with app.test_request_context(), force_locale(language):
            neutral = gettext("Information")
        with app.test_client() as client:
            client.get(f"/?lang={language}")
            for url in ("/", "/report", "/status", "/exit"):
                page = client.get(url).get_data(as_text=True)
                title = re.search(r"<title>(.*?)</title>", page, re.S)
                assert title is not None and title.group(1).strip() == neutral, (language, url)


def test_do_reporter_pages_run_no_script_and_load_nothing_from_elsewhere(app):
    for name, page in _reporter_pages(app).items():
        assert "<script" not in page.lower(), name
        assert not re.search(r"\son[a-z]+\s*=", page, re.I), name
        assert "javascript:" not in page.lower(), name
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', page):
            assert not re.match(r"(?:[a-z]+:)?//", url, re.I), (name, url)


def test_does_every_reporter_page_offer_the_quick_exit(app):
    for name, page in _reporter_pages(app).items():
        assert 'class="exit" href="/exit"' in page, name


def test_does_the_quick_exit_wipe_the_site_from_the_browser(client):
    client.get("/?lang=tg")
    response = client.get("/exit")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert 'href="/' not in page.replace('href="/static/', "")  # no way back in one tap
    assert "report" not in page.lower()


def test_are_sensitive_fields_kept_out_of_autofill(app):
    pages = _reporter_pages(app)
    seen = set()
    for name, page in pages.items():
        for form in re.findall(r"<form[^>]*>", page):
            assert 'autocomplete="off"' in form, name
        for field in SENSITIVE_FIELDS:
            for tag in re.findall(rf'<(?:input|textarea)[^>]*name="{field}"[^>]*>', page):
                if 'type="hidden"' in tag:
                    continue
                assert 'autocomplete="off"' in tag, (name, tag)
                seen.add(field)
    assert seen == set(SENSITIVE_FIELDS)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_is_the_form_page_with_its_css_within_50_kb(client, language):
    page = client.get(f"/report?lang={language}").data
    stylesheets = re.findall(rb'<link rel="stylesheet" href="([^"]+)"', page)
    css = sum(len(client.get(href.decode()).data) for href in stylesheets)
    assert stylesheets or b"<style>" in page  # styled, one way or the other
    assert len(page) + css <= FORM_PAGE_BUDGET, (len(page), css)


def test_does_the_form_work_as_plain_html(client):
    """No script, so the form must post by itself: a real submit button and the right action."""
    page = client.get("/report").get_data(as_text=True)
    assert '<form method="post" action="/report"' in page
    assert '<button type="submit">' in page


def test_does_the_stylesheet_load_nothing_else():
    for name in ("site.css", "reporter.css"):
        css = Path(PROJECT_ROOT / "static" / name).read_text(encoding="utf-8")
        assert "url(" not in css and "@import" not in css and "@font-face" not in css, name
