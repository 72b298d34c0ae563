"""A caseworker in headless Chromium: log in with a TOTP code, unlock, open a case, triage it.

The app is served by a real HTTP server in a thread; the browser runs with JavaScript enabled
but the pages carry none (the CSP forbids it), so this is what a caseworker sees.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from incident_service.constants import Role
from incident_service.models import Report, db
from tests.factories import submit
from tests.staff import case_priority, make_staff, next_code

pytestmark = pytest.mark.browser


def settle(driver, condition) -> None:
    """Wait until the page the last click asked for has loaded (a form post may lag the click)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(condition)


@pytest.fixture
def browser(headless_chromium):
    driver = headless_chromium(window=(1280, 900), javascript=True)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def served(app, serve_over_http) -> str:
    return serve_over_http(app)


def test_can_a_caseworker_log_in_with_totp_and_triage_a_case_in_a_browser(app, served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        filed = submit(narrative="SYNTHETIC <b>held</b> at passport control", outcome="DET")

    browser.get(f"{served}/cases/")
    assert "/login" in browser.current_url  # sent to log in first
    browser.find_element(By.ID, "email").send_keys(worker.email)
    browser.find_element(By.ID, "password").send_keys(worker.password)
    browser.find_element(By.ID, "code").send_keys(next_code(app, worker))
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    settle(browser, lambda d: urlsplit(d.current_url).path == "/unlock")
    browser.find_element(By.ID, "passphrase").send_keys(worker.passphrase)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    # The unlock page's own address carries ?next=/cases/, so compare the path alone.
    settle(browser, lambda d: urlsplit(d.current_url).path == "/cases/")
    assert "still detained" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, f'a[href="/cases/{filed.report_id}"]').click()
    settle(browser, lambda d: d.find_elements(By.ID, "narrative"))

    narrative = browser.find_element(By.CSS_SELECTOR, "#narrative").text
    assert narrative == "SYNTHETIC <b>held</b> at passport control"  # shown as text
    Select(browser.find_element(By.ID, "status")).select_by_value("triaged")
    browser.find_element(By.CSS_SELECTOR, "#triage form button[type=submit]").click()
    settle(browser, lambda d: "Status changed." in d.page_source)
    Select(browser.find_element(By.ID, "priority")).select_by_value("3")
    labels = browser.find_element(By.ID, "labels")
    labels.clear()
    labels.send_keys("lawyer needed")
    browser.find_element(By.CSS_SELECTOR, "#details + form button[type=submit]").click()
    settle(browser, lambda d: "Case updated." in d.page_source)

    with app.app_context():
        report = db.session.get_one(Report, filed.report_id)
        assert (report.status, case_priority(report.id), report.labels) == (
            "triaged",
            3,
            "lawyer needed",
        )

    browser.find_element(By.CSS_SELECTOR, "header form button").click()  # log out
    settle(browser, lambda d: urlsplit(d.current_url).path == "/login")
    browser.get(f"{served}/cases/{filed.report_id}")
    assert "/login" in browser.current_url
