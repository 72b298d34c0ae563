"""A reporter on a small phone, JavaScript off, in Tajik: file a report, keep the receipt, and
come back to read the status — in Debian's headless Chromium against a real server."""

from __future__ import annotations

import re

import pytest

from incident_service.models import Report, db
from tests.browser_waits import absent
from tests.conftest import PHONE
from tests.reporter_helpers import open_statistical_section

pytestmark = pytest.mark.browser


def _open_section(driver, summary_text_start: str) -> None:
    from selenium.webdriver.common.by import By

    for summary in driver.find_elements(By.TAG_NAME, "summary"):
        if summary.text.startswith(summary_text_start):
            summary.click()
            return
    raise AssertionError(f"no section {summary_text_start!r}")


def test_can_a_reporter_file_in_tajik_on_a_small_phone_and_check_the_status(
    csrf_app, server, phone
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = phone
    # JavaScript really is off for pages (WebDriver's own calls still work).
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"
    driver.get(f"{server}/")
    driver.find_element(By.LINK_TEXT, "Тоҷикӣ").click()
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "tg"
    assert driver.title == "Маълумот"
    driver.find_element(By.CSS_SELECTOR, "a.button").click()
    assert driver.current_url.endswith("/report")
    assert "Чӣ рӯй дод?" in driver.page_source
    # The quick report comes first (tests/test_browser_quick.py files it); this reporter
    # chooses the full form, at the bottom, in Tajik still.
    assert absent(driver, By.NAME, "narrative")
    driver.find_element(By.ID, "full-form").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/report/full"))
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "tg"

    # The page fits the phone: nothing wider than the screen.
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0]

    # Sent too early, without saying what happened: the answer is a redirect to the form
    # again, which opens at the question to answer, with what was typed kept.
    narrative = "SYNTHETIC: моро дар фурудгоҳ се соат нигоҳ доштанд <b>"
    driver.find_element(By.NAME, "narrative").send_keys(narrative)
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    assert driver.find_element(By.ID, "e-acts").is_displayed()
    assert driver.current_url.endswith("/report/full#field-acts")
    assert driver.find_element(By.NAME, "narrative").get_property("value") == narrative

    for act in ("BRD.01", "BRD.02", "BRD.03"):
        checkbox = driver.find_element(By.CSS_SELECTOR, f'input[name="acts"][value="{act}"]')
        driver.execute_script("arguments[0].scrollIntoView()", checkbox)
        checkbox.click()
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2024")
    Select(driver.find_element(By.NAME, "month")).select_by_value("5")
    Select(driver.find_element(By.NAME, "day")).select_by_visible_text("14")
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    Select(driver.find_element(By.NAME, "airport")).select_by_value("LED")
    driver.find_element(By.NAME, "duration_hours").send_keys("3")
    _open_section(driver, "6.")
    driver.find_element(By.CSS_SELECTOR, 'input[name="citizenship"][value="TJK"]').click()
    driver.find_element(By.NAME, "group_size").send_keys("30")
    driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]').click()
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()

    receipt_text = driver.find_element(By.CSS_SELECTOR, "p#receipt").text
    assert re.fullmatch(r"\d{4}( \d{4}){4}", receipt_text)
    assert driver.current_url.endswith("/report")  # a GET page: Reload sends nothing again
    assert driver.find_element(By.TAG_NAME, "h1").text == "Муроҷиати шумо фиристода шуд"
    with csrf_app.app_context():
        report = db.session.query(Report).one()
        report_id = report.id
    statistical = open_statistical_section(csrf_app, report_id)
    assert statistical["acts"] == ["BRD.01", "BRD.02", "BRD.03"]
    assert statistical["airport"] == "LED" and statistical["region"] == "RU-SPE"
    assert statistical["people"]["group_size"] == 30

    # Later: the status page, the receipt typed in by hand, as printed.
    driver.find_element(By.CSS_SELECTOR, 'a.button[href$="/status"]').click()
    driver.find_element(By.CSS_SELECTOR, "input#receipt").send_keys(receipt_text)
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    assert driver.current_url.endswith("/status")  # the receipt never entered a URL
    status = driver.find_element(By.ID, "status").text
    assert status == "Муроҷиати шумо расид. Ҳанӯз касе онро нахондааст."
    assert receipt_text.replace(" ", "") not in driver.current_url

    # The reporter adds something; it appears in the thread.
    driver.find_element(By.NAME, "text").send_keys("SYNTHETIC: боз як чиз")
    driver.find_elements(By.CSS_SELECTOR, 'form button[type="submit"]')[0].click()
    # A click that submits a form can return before the next page is there: find the notice,
    # which the driver waits for (implicit wait), rather than reading the page source at once.
    assert driver.find_element(By.CSS_SELECTOR, ".flash").text == "Паёми шумо фиристода шуд."
    assert "SYNTHETIC: боз як чиз" in driver.find_element(By.CSS_SELECTOR, ".msg .text").text
    # Reloading the page keeps it open without sending anything again.
    driver.refresh()
    assert len(driver.find_elements(By.CSS_SELECTOR, ".msg .text")) == 1
    assert receipt_text.replace(" ", "") not in driver.page_source.replace(" ", "")

    # No cookie outlives the browser.
    for cookie in driver.get_cookies():
        assert "expiry" not in cookie, cookie

    # Quick exit: a neutral page, and the site's cookies are gone.
    driver.find_element(By.CSS_SELECTOR, "a.exit").click()
    assert driver.current_url.endswith("/exit")
    assert driver.title == "Маълумот"
    assert driver.get_cookies() == []
