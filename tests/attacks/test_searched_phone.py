"""Attack: the reporter's phone, taken at the next airport check with the browser tab still open.

Promise (design §10): after "Leave quickly" the phone may show that the site was visited, never
the receipt, anything typed or the thread — Back, Forward and Reload included.

The reporter files a report (its narrative and contact carry a unique marker), sees the receipt,
looks it up on the status page, reads the case team's question, answers it and presses "Leave
quickly". The officer then presses Back again and again, Forward, Reload, and reads every page
the browser shows: its text, its source and what its form fields hold. A CSRF failure (what a
replayed form meets once the cookies are gone) must echo nothing either, and the short-lived
record that carries the receipt to its page must be unreadable without the cookie's key and gone
once used.
"""

from __future__ import annotations

import base64
import json
import re
import secrets

import pytest

from incident_service import ratelimit
from incident_service.cases.messaging import post_message
from incident_service.constants import MessageAuthor
from incident_service.models import Report, db
from tests.attacks.dumps import redis_dump
from tests.conftest import build_app, redis_url_below, require_redis
from tests.factories import submit
from tests.reporter_helpers import form_data, hidden_fields, open_form

PHONE = (360, 740)


# --------------------------------------------------------------------------------------------
# The officer with the phone


def _what_the_phone_shows(driver) -> str:
    """Everything the officer can read: the page's text, its source and its fields' values
    (a browser restores typed values into a page it shows again)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    parts = [driver.page_source, driver.current_url]
    driver.implicitly_wait(0)  # the page is there: a page without fields must not wait for one
    try:
        parts.append(driver.find_element(By.TAG_NAME, "body").text)
        for field in driver.find_elements(By.CSS_SELECTOR, "input, textarea"):
            parts.append(str(field.get_property("value") or ""))
    except WebDriverException:  # an error page the driver cannot look into holds nothing of ours
        pass
    finally:
        driver.implicitly_wait(30)
    return "\n".join(parts)


def _assert_nothing_left(driver, secrets_typed: dict[str, str], where: str) -> None:
    shown = _what_the_phone_shows(driver)
    for name, value in secrets_typed.items():
        assert value not in shown, f"{where}: the {name} is on the phone ({driver.current_url})"


@pytest.fixture
def served(csrf_app, serve_over_http) -> tuple[object, str]:
    return csrf_app, serve_over_http(csrf_app)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_a_searched_phone_show_nothing_after_leaving_quickly(served, headless_chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    app, server = served
    marker = secrets.token_hex(6)
    narrative = f"SYNTHETIC narrative {marker} held at the airport"
    contact = f"@synthetic_contact_{marker}"
    question = f"SYNTHETIC question {marker} are you still held?"
    answer = f"SYNTHETIC answer {marker} released on Tuesday"

    driver = headless_chromium(window=PHONE, javascript=False)
    driver.implicitly_wait(30)
    driver.get(f"{server}/report?lang=en")
    # The quick report first; the narrative and the contact follow as details after sending
    # (intake.details), so that their pages are in the history too.
    driver.find_element(By.CSS_SELECTOR, 'input[name="acts"][value="DET.01"]').click()
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2024")
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="no"]').click()
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    receipt = driver.find_element(By.CSS_SELECTOR, "p#receipt").text
    assert re.fullmatch(r"\d{4}( \d{4}){4}", receipt)
    driver.find_element(By.ID, "add-details").click()
    for following in ("people", "pressure", "words"):  # skipped: nothing filled in
        driver.find_element(By.ID, "skip").click()
        WebDriverWait(driver, 30).until(
            lambda d, step=following: d.current_url.endswith(f"/report/details/{step}")
        )
    driver.find_element(By.NAME, "narrative").send_keys(narrative)
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    Select(driver.find_element(By.NAME, "contact_channel")).select_by_value("TELEGRAM")
    driver.find_element(By.NAME, "contact_value").send_keys(contact)
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/report/details/done"))

    with app.app_context():
        report = db.session.query(Report).one()
        post_message(report, author=MessageAuthor.CASEWORKER, text=question)
        db.session.commit()

    driver.find_element(By.CSS_SELECTOR, 'a.button[href$="/status"]').click()
    driver.find_element(By.CSS_SELECTOR, "input#receipt").send_keys(receipt)
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    assert question in driver.find_element(By.CSS_SELECTOR, ".msg.caseworker .text").text
    assert narrative in driver.find_element(By.CSS_SELECTOR, ".msg.reporter .text").text
    driver.find_element(By.NAME, "text").send_keys(answer)
    driver.find_element(By.XPATH, "//textarea[@name='text']/following::button[1]").click()
    assert driver.find_element(By.CSS_SELECTOR, ".flash").text == "Your message has been sent."
    assert answer in driver.page_source

    driver.find_element(By.CSS_SELECTOR, "a.exit").click()
    assert driver.current_url.endswith("/exit")

    typed = {
        "narrative": narrative,
        "contact": contact,
        "receipt": receipt,
        "receipt without spaces": receipt.replace(" ", ""),
        "question": question,
        "answer": answer,
        "marker": marker,
    }
    _assert_nothing_left(driver, typed, "the exit page")
    steps = 0
    for steps in range(1, 12):  # further back than the visit went
        driver.back()
        _assert_nothing_left(driver, typed, f"back ×{steps}")
        driver.refresh()
        _assert_nothing_left(driver, typed, f"back ×{steps}, reload")
        if driver.current_url.startswith("data:") or driver.current_url == "about:blank":
            break
    for forward in range(1, steps + 2):
        driver.forward()
        _assert_nothing_left(driver, typed, f"forward ×{forward}")
        driver.refresh()
        _assert_nothing_left(driver, typed, f"forward ×{forward}, reload")
    with app.app_context():
        assert db.session.query(Report).count() == 1, "a replayed form filed the report again"


# --------------------------------------------------------------------------------------------
# A replayed or stale form: the CSRF failure page


def _page_after(client, response) -> str:
    """The page a browser ends on: the response itself, or where its redirect leads."""
    page = response.get_data(as_text=True)
    if response.status_code in (301, 302, 303, 307, 308):
        page += client.get(response.headers["Location"]).get_data(as_text=True)
    return page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_a_csrf_failure_echo_nothing_that_was_posted(csrf_app):
    marker = secrets.token_hex(6)
    client = csrf_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    hidden = open_form(client)
    typed = form_data(
        narrative=f"SYNTHETIC narrative {marker}",
        contact_value=f"@contact_{marker}",
        place_text=f"SYNTHETIC place {marker}",
    )
    response = client.post("/report", data={**hidden, "csrf_token": "wrong", **typed})
    page = _page_after(client, response)
    assert marker not in page
    assert "expired" in page
    assert 'value="BRD.02" checked' not in page

    receipt = "1234 5678 9012 3456 7890"
    response = client.post("/status", data={"csrf_token": "wrong", "receipt": receipt})
    page = _page_after(client, response)
    assert receipt not in page and receipt.replace(" ", "") not in page
    assert "expired" in page
    response = client.post(
        "/status",
        data={"csrf_token": "wrong", "action": "message", "text": f"SYNTHETIC {marker}"},
    )
    assert marker not in _page_after(client, response)
    with csrf_app.app_context():
        assert db.session.query(Report).count() == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_a_csrf_failure_in_russian_say_so_in_russian(csrf_app):
    client = csrf_app.test_client()
    hidden = open_form(client, "/report?lang=ru")
    response = client.post("/report", data={**hidden, "csrf_token": "wrong", **form_data()})
    page = _page_after(client, response)
    assert '<html lang="ru">' in page
    assert "SYNTHETIC" not in page
    assert re.search(r'class="error"[^>]*>[^<]*[а-яё]', page, re.I)
    # Starting again works: the fresh form carries a token of this session.
    fresh = hidden_fields(client.get("/report").get_data(as_text=True))
    filed = client.post("/report", data={**fresh, **form_data()})
    assert filed.status_code == 303


# --------------------------------------------------------------------------------------------
# The record that carries the receipt from the POST to its page


def _redis_db() -> str:
    """A database of its own (one below the suite's), so that only this test writes there."""
    return redis_url_below(1)


@pytest.fixture(params=["memory", "redis"])
def handoff_app(request, tmp_path, monkeypatch):
    if request.param == "redis":
        require_redis()
        import redis

        url = _redis_db()
        redis.Redis.from_url(url).flushdb()
        monkeypatch.setattr(ratelimit, "_clients", {})
        yield from build_app(tmp_path, "sqlite", RATELIMIT_STORAGE_URI=url)
        redis.Redis.from_url(url).flushdb()
    else:
        yield from build_app(tmp_path, "sqlite")


def _stored_records(app) -> dict[str, bytes]:
    """Every handoff record the server holds, as a thief of Redis (or of the process) sees it."""
    from incident_service.intake import handoff

    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("redis"):
        prefix = handoff.NAME_PREFIX.encode()
        return {k.decode(): v[0] for k, v in redis_dump(uri).items() if k.startswith(prefix)}
    held = app.extensions.get(handoff.MEMORY_EXTENSION, {})
    return {name: blob for name, (_expires, blob) in held.items()}


def _cookie_half(app, client) -> tuple[str, bytes]:
    """The record id and key the browser's session cookie holds (signed, not encrypted)."""
    from incident_service.intake import handoff

    cookie = client.get_cookie("s")
    assert cookie is not None
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    record_id, key = session[handoff.SESSION_KEY].split(".")
    return record_id, base64.urlsafe_b64decode(key)


def test_is_the_receipt_record_unreadable_without_the_cookie_and_gone_once_shown(handoff_app):
    from incident_service.crypto import CryptoError, SymmetricKey, bindings
    from incident_service.crypto.secretbox import new_symmetric_key, open_with_key

    client = handoff_app.test_client()
    filed = client.post("/report", data={**open_form(client), **form_data()})
    assert filed.status_code == 303
    records = _stored_records(handoff_app)
    assert len(records) == 1
    ((name, sealed),) = records.items()
    record_id, key = _cookie_half(handoff_app, client)
    assert record_id in name
    context = bindings.handoff_record(record_id, "receipt")
    # Without the cookie's key the record opens to nothing ...
    with pytest.raises(CryptoError):
        open_with_key(sealed, key=new_symmetric_key("guess"), context=context)
    # ... and with it, it holds the receipt the page is about to show.
    opened = json.loads(open_with_key(sealed, key=SymmetricKey("cookie", key), context=context))
    (receipt,) = opened["receipts"]
    shown = " ".join(re.findall(r"\d{4}", receipt))
    for form in (receipt, shown):
        assert form.encode() not in sealed and form not in name
        assert form not in client.get_cookie("s").value
        assert form not in filed.headers["Location"]

    page = client.get(filed.headers["Location"]).get_data(as_text=True)
    assert f'id="receipt">{shown}<' in page
    # The receipt record is gone. What remains is the "add details" record of the report just
    # sent (intake.details): it names the report so that details can be added to it, and holds
    # no receipt, even opened with the cookie's key.
    remaining = _stored_records(handoff_app)
    assert [name.rsplit(":", 1)[1] for name in remaining] == ["details"]
    ((_details_name, details_sealed),) = remaining.items()
    details_context = bindings.handoff_record(record_id, "details")
    details = open_with_key(
        details_sealed, key=SymmetricKey("cookie", key), context=details_context
    )
    for form in (receipt, shown):
        assert form.encode() not in details, "the receipt outlived its page"
    assert set(json.loads(details)) == {"report", "country"}
    again = client.get(filed.headers["Location"]).get_data(as_text=True)
    assert shown not in again and receipt not in again


def test_does_leaving_quickly_delete_every_record_of_the_browser(handoff_app):
    client = handoff_app.test_client()
    with handoff_app.app_context():
        receipt = submit().receipt
    client.post("/report", data={**open_form(client), **form_data()})  # a receipt not yet seen
    client.post("/report", data=form_data(acts=None))  # a draft of another report
    client.post("/status", data={"receipt": receipt})  # an open status page
    assert len(_stored_records(handoff_app)) == 3
    other = handoff_app.test_client()
    other.post("/report", data={**open_form(other), **form_data(acts=None)})
    assert len(_stored_records(handoff_app)) == 4
    exit_page = client.get("/exit")
    assert exit_page.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert len(_stored_records(handoff_app)) == 1  # only the other browser's draft is left
    # Even a cookie kept by a browser that ignored Clear-Site-Data opens nothing any more.
    assert "Your report" not in client.get("/status").get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_do_records_expire_on_their_own(app, monkeypatch):
    """A phone taken with the tab open, before "Leave quickly": minutes later the cookie's
    records are gone from the server (here the embedded store; Redis expires them itself)."""
    from incident_service.intake import handoff

    clock = [1000.0]
    monkeypatch.setattr(handoff.time, "monotonic", lambda: clock[0])
    client = app.test_client()
    with app.app_context():
        receipt = submit().receipt
    client.post("/status", data={"receipt": receipt})
    clock[0] += handoff.STATUS.seconds - 60
    assert 'id="status"' in client.get("/status").get_data(as_text=True)  # in use: it lives on
    clock[0] += handoff.STATUS.seconds - 60
    assert 'id="status"' in client.get("/status").get_data(as_text=True)
    clock[0] += handoff.STATUS.seconds + 1
    assert 'id="status"' not in client.get("/status").get_data(as_text=True)
    client.post("/report", data={**open_form(client), **form_data()})
    clock[0] += handoff.RECEIPT.seconds + 1
    assert 'id="receipt"' not in client.get("/report").get_data(as_text=True)
