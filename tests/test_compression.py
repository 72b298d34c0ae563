"""Page weight on a slow link: the blank form and the home page arrive gzipped, while a page
with a secret next to text a request can choose (the receipt, the status page, a refused form,
staff pages) is never compressed, whatever the browser asks for (BREACH). The reporter's style
sheet travels inside the page under a CSP hash, and a browser really applies it."""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import re

import pytest

from incident_service.constants import Role
from incident_service.i18n import LANGUAGES
from tests import PROJECT_ROOT
from tests.factories import submit
from tests.reporter_helpers import form_data, open_form, receipt_on
from tests.staff import login, make_staff
from tests.test_reporter_privacy import _every_route

GZIP = {"Accept-Encoding": "gzip, deflate"}
# The target for /report on the wire (body; the headers come on top, about 1 KB).
FORM_COMPRESSED_BUDGET = 12 * 1024
# Every place a response may be compressed: the views that call allow_compression(), and
# static files (the same bytes for everyone).
ALLOWED_ENDPOINTS = {"reporter.index", "reporter.report", "static"}


def _is_gzipped(response) -> bool:
    return response.headers.get("Content-Encoding") == "gzip"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_does_the_blank_form_arrive_as_valid_gzip_within_12_kb(client, language):
    response = client.get(f"/report?lang={language}", headers=GZIP)
    assert response.status_code == 200
    assert _is_gzipped(response)
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert len(body) <= FORM_COMPRESSED_BUDGET, len(body)
    page = gzip.decompress(body).decode("utf-8")
    assert f'<html lang="{language}">' in page
    assert '<form method="post" action="/report"' in page
    assert int(response.headers["Content-Length"]) == len(body)
    assert "no-store" in response.headers["Cache-Control"]


def test_does_a_browser_without_gzip_get_the_plain_form_with_vary(client):
    for headers in ({}, {"Accept-Encoding": "gzip;q=0, identity"}):
        response = client.get("/report", headers=headers)
        assert not _is_gzipped(response)
        assert "Accept-Encoding" in response.headers["Vary"]
        assert b'<form method="post"' in response.get_data()


def test_does_the_compressed_form_show_nothing_a_request_sent(client):
    """BREACH needs text of the attacker's choosing on the compressed page. The blank form
    takes nothing from the request but the language, one of five."""
    marker = "zq7MARKERzq7"
    response = client.get(
        f"/report?lang=en&q={marker}&{marker}=1",
        headers={**GZIP, "Referer": f"http://evil.example/{marker}", "User-Agent": marker},
    )
    assert _is_gzipped(response)
    assert marker not in gzip.decompress(response.get_data()).decode("utf-8")


def test_is_the_receipt_page_never_compressed_even_when_asked(client):
    hidden = open_form(client)
    sent = client.post("/report", data={**hidden, **form_data()}, headers=GZIP)
    assert sent.status_code == 303
    receipt_page = client.get(sent.headers["Location"], headers=GZIP)
    assert receipt_on(receipt_page) is not None  # it is the receipt page
    assert not _is_gzipped(receipt_page)
    assert "Accept-Encoding" not in receipt_page.headers.get("Vary", "")


def test_is_a_refused_form_with_what_was_typed_never_compressed(client):
    hidden = open_form(client)
    sent = client.post(
        "/report", data={**hidden, **form_data(acts=None, narrative="SYNTHETIC typed")}
    )
    assert sent.status_code == 303
    again = client.get("/report", headers=GZIP)
    assert "SYNTHETIC typed" in again.get_data(as_text=True)
    assert not _is_gzipped(again)


def test_are_the_status_pages_never_compressed_even_when_asked(app, client):
    with app.app_context():
        receipt = submit().receipt
    lookup = client.get("/status", headers=GZIP)
    assert lookup.status_code == 200 and not _is_gzipped(lookup)
    opened = client.post("/status", data={"receipt": receipt}, headers=GZIP)
    assert opened.status_code == 303
    status = client.get("/status", headers=GZIP)
    assert 'id="status"' in status.get_data(as_text=True)  # the open status page
    assert not _is_gzipped(status)
    failed = client.post("/status", data={"receipt": "1" * 20}, headers=GZIP)
    assert not _is_gzipped(client.get(failed.headers["Location"], headers=GZIP))


def test_is_no_route_outside_the_allow_list_ever_compressed(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    compressed = set()
    for endpoint, method, url in _every_route(app):
        response = client.open(url, method=method, headers=GZIP)
        if _is_gzipped(response):
            compressed.add(endpoint)
    assert compressed <= ALLOWED_ENDPOINTS
    assert {"reporter.index", "reporter.report", "static"} <= compressed


def test_is_a_staff_case_page_never_compressed(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        report_id = submit().report_id
    client = app.test_client()
    login(client, worker)
    for url in ("/cases/", f"/cases/{report_id}"):
        response = client.get(url, headers=GZIP)
        assert response.status_code == 200, url
        assert not _is_gzipped(response), url


def test_is_compression_allowed_only_where_the_decisions_say():
    """A new call of allow_compression() must come with its reasoning in docs/decisions.md
    and an update here."""
    calls: dict[str, int] = {}
    for path in (PROJECT_ROOT / "incident_service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "allow_compression":
                name = str(path.relative_to(PROJECT_ROOT))
                calls[name] = calls.get(name, 0) + 1
    assert calls == {"incident_service/intake/views.py": 2}


def test_is_the_style_sheet_sent_gzipped_and_still_not_kept(client):
    response = client.get("/static/site.css", headers=GZIP)
    assert response.status_code == 200 and _is_gzipped(response)
    assert "Accept-Encoding" in response.headers["Vary"]
    assert b".staff-bar" in gzip.decompress(response.get_data())
    assert "no-store" in response.headers["Cache-Control"]


def test_do_reporter_pages_carry_their_style_inside_under_the_policy(app):
    client = app.test_client()
    for url in ("/", "/report", "/status", "/exit"):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert 'rel="stylesheet"' not in page, url
        style = re.search(r"<style>(.*?)</style>", page, re.S)
        assert style is not None, url
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        policy = response.headers["Content-Security-Policy"]
        assert f"style-src 'self' 'sha256-{digest}'" in policy, url
        assert "unsafe-inline" not in policy


@pytest.mark.browser
def test_does_a_browser_apply_the_inline_style_under_the_policy(
    csrf_app, serve_over_http, headless_chromium
):
    from selenium.webdriver.common.by import By

    base = serve_over_http(csrf_app)
    driver = headless_chromium(window=(360, 740), javascript=False)
    driver.get(f"{base}/report?lang=ky")
    exit_link = driver.find_element(By.CSS_SELECTOR, "a.exit")
    # The quick exit is the red button the home page talks about, not a plain blue link.
    assert exit_link.value_of_css_property("background-color") == "rgba(138, 16, 16, 1)"
    button = driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]')
    assert button.value_of_css_property("color") == "rgba(255, 255, 255, 1)"
