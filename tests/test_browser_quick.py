"""The quick report in Debian's headless Chromium at 360 × 740 with JavaScript off (issue 13):
filed in each of the five languages, refused first so that the page opens at the field to fix,
then details added after sending; every reporter page on the way fits the screen (no sideways
scrolling) and has tap targets of at least 44 × 44 CSS pixels, measured from the elements'
boxes. Screenshots go to `test-artifacts/screenshots/` (git-ignored). A second test files the
quick report with the keyboard alone.

JavaScript is off for the pages; WebDriver's own calls (reading boxes, the focused element)
still work, as they do in tests/test_browser_reporter.py."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from incident_service.i18n import LANGUAGES
from incident_service.models import Message, Report, db
from tests.browser_waits import absent
from tests.conftest import PHONE
from tests.reporter_helpers import open_statistical_section

MIN_TARGET = 44  # CSS pixels (WCAG 2.5.5, and issue 13)
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser

# Every tap target on a reporter page, and its box: a checkbox's or radio's target is its label
# (tapping anywhere on it ticks the box), so the label is measured, and the box itself must be
# at least 24 px (WCAG 2.5.8).
TARGETS_SCRIPT = """
const out = [];
const box = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
for (const el of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
  const label = el.closest('label');
  out.push(['label of ' + el.name + '=' + el.value, ...(label ? box(label) : [0, 0])]);
  out.push(['box ' + el.name + '=' + el.value, ...box(el)]);
}
for (const el of document.querySelectorAll(
    'button:not(.default-send), a.button, .langs a, a.exit, select, input[type=text], '
    + 'input[type=file], summary, .error-summary a, .steps a, #skip')) {
  out.push([el.tagName + ' ' + (el.name || el.textContent.trim().slice(0, 40)), ...box(el)]);
}
return out;
"""


def _check_page(driver, name: str) -> None:
    """The page fits a 360 px screen, every tap target is large enough, and a screenshot of
    the whole page is kept."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"{name}: {width} px wide"
    small = []
    for what, w, h in driver.execute_script(TARGETS_SCRIPT):
        if w == 0 and h == 0:
            continue  # not shown (inside a closed section)
        least = 24 if what.startswith("box ") else MIN_TARGET
        if w < least - 0.5 or h < least - 0.5:
            small.append((what, round(w), round(h)))
    assert not small, f"{name}: tap targets under the minimum: {small[:10]}"
    _screenshot(driver, name)


def _screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": PHONE[0], "height": size["height"], "scale": 1},
        },
    )
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _arrives(driver, suffix: str) -> None:
    """The browser is at a URL ending in `suffix`: a press that submits a form can return
    before the next page is there, so this waits for it (as finding an element does)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda _driver: driver.current_url.endswith(suffix), f"never reached {suffix}"
    )


def _opens_at(driver, element_id: str) -> None:
    """The page shows `element_id` at the top half of the screen: the browser scrolled to the
    URL's fragment by itself (JavaScript is off). Waited for: the scroll may follow the load."""
    from selenium.webdriver.support.ui import WebDriverWait

    def in_view(_driver: object) -> bool:
        top = driver.execute_script(
            "return document.getElementById(arguments[0]).getBoundingClientRect().top",
            element_id,
        )
        return bool(-2 <= top < PHONE[1] / 2)

    WebDriverWait(driver, 20).until(in_view, f"{element_id} is not where the page opened")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_can_a_reporter_file_the_quick_report_on_a_small_phone_in_every_language(
    csrf_app, server, phone, language
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = phone
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"  # JavaScript really is off for pages
    driver.get(f"{server}/?lang={language}")
    _check_page(driver, f"{language}-1-start")
    driver.find_element(By.CSS_SELECTOR, "a.button").click()
    _arrives(driver, "/report")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
    assert absent(driver, By.NAME, "narrative")  # the quick report, not the full form
    _check_page(driver, f"{language}-2-quick-report")

    # Sent with a place but nothing else: the page opens at the first question to answer, and
    # the summary links every error to its field.
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]:not([name])').click()
    assert driver.find_element(By.CSS_SELECTOR, ".error-summary").is_displayed()
    _arrives(driver, "/report#field-acts")
    _opens_at(driver, "field-acts")
    links = [
        a.get_attribute("href").rsplit("#", 1)[1]
        for a in driver.find_elements(By.CSS_SELECTOR, ".error-summary a")
    ]
    assert links == ["field-acts", "field-when", "field-consent_statistics"]
    for target in links:
        assert len(driver.find_elements(By.ID, target)) == 1
    _check_page(driver, f"{language}-3-quick-report-refused")

    # The acts and the date, still no consent: the page opens at the consent, at the bottom.
    for act in ("DET.01", "EXT.01"):
        box = driver.find_element(By.CSS_SELECTOR, f'input[name="acts"][value="{act}"]')
        box.find_element(By.XPATH, "./ancestor::label").click()  # a tap on the label
        assert box.is_selected()
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2025")
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]:not([name])').click()
    driver.find_element(By.CSS_SELECTOR, ".error-summary")
    _arrives(driver, "/report#field-consent_statistics")
    _opens_at(driver, "field-consent_statistics")
    assert driver.execute_script("return window.scrollY") > PHONE[1]  # far down the page
    consent = driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]')
    consent.find_element(By.XPATH, "./ancestor::label").click()
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]:not([name])').click()

    receipt = driver.find_element(By.CSS_SELECTOR, "p#receipt").text
    assert re.fullmatch(r"\d{4}( \d{4}){4}", receipt)
    _check_page(driver, f"{language}-4-receipt")
    with csrf_app.app_context():
        report_id = db.session.scalars(select(Report.id)).one()
    statistical = open_statistical_section(csrf_app, report_id)
    assert statistical["acts"] == ["DET.01", "EXT.01"] and statistical["country"] == "RU"

    # Details after sending: the first step, in the same language, added to the same report.
    driver.find_element(By.ID, "add-details").click()
    _arrives(driver, "/report/details/place")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
    _check_page(driver, f"{language}-5-details-place")
    driver.find_element(By.NAME, "place_text").send_keys("SYNTHETIC market, gate 4")
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    assert driver.find_element(By.CSS_SELECTOR, ".flash").is_displayed()
    _arrives(driver, "/report/details/people")
    _check_page(driver, f"{language}-6-details-people")
    with csrf_app.app_context():
        messages = db.session.scalars(select(Message).where(Message.report_id == report_id))
        assert [m.author for m in messages] == ["reporter"]


def test_can_the_quick_report_be_filed_with_the_keyboard_alone(csrf_app, server, phone):
    """Tab moves, Space ticks and chooses, Enter sends; a closed <select> takes the Down arrow
    (Tab, Space and Enter alone cannot choose one of its options in any browser). No element is
    clicked and nothing is set by script."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = phone
    driver.get(f"{server}/report?lang=en")

    def press(*what: str) -> None:
        ActionChains(driver).send_keys(*what).perform()

    def focused() -> tuple[str, str, str]:
        return tuple(  # type: ignore[return-value]
            driver.execute_script(
                "const e = document.activeElement;"
                "return [e.tagName.toLowerCase(), e.name || '', e.value || ''];"
            )
        )

    def tab_to(tag: str, name: str, value: str | None = None, *, limit: int = 80) -> int:
        for count in range(1, limit + 1):
            press(Keys.TAB)
            now = focused()
            if now[0] == tag and now[1] == name and (value is None or now[2] == value):
                return count
        raise AssertionError(f"Tab never reached {tag} {name} {value}")

    tabs = tab_to("input", "acts", "BRD.02")
    press(Keys.SPACE)
    tabs += tab_to("select", "year")
    while not driver.find_element(By.NAME, "year").get_property("value"):
        press(Keys.ARROW_DOWN)
    tabs += tab_to("select", "country")
    press(Keys.ARROW_DOWN)
    assert driver.find_element(By.NAME, "country").get_property("value") == "RU"
    # Forgot the consent: Enter on the send button.
    tabs += tab_to("button", "")
    press(Keys.ENTER)
    driver.find_element(By.CSS_SELECTOR, ".error-summary")
    _arrives(driver, "/report#field-consent_statistics")
    # The page opened at the question: the next Tab is in it.
    press(Keys.TAB)
    assert focused()[:2] == ("input", "consent_statistics")
    press(Keys.SPACE)
    assert driver.find_element(
        By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]'
    ).is_selected()
    tab_to("button", "")
    press(Keys.ENTER)

    assert re.fullmatch(r"\d{4}( \d{4}){4}", driver.find_element(By.ID, "receipt").text)
    with csrf_app.app_context():
        report_id = db.session.scalars(select(Report.id)).one()
    assert open_statistical_section(csrf_app, report_id)["acts"] == ["BRD.02"]
    # A frightened person's whole form, in key presses: every act is one Tab.
    assert tabs <= 50, tabs

    # Then a detail, by keyboard too: Enter on the link, type, Enter on the button.
    for _ in range(80):
        press(Keys.TAB)
        if driver.execute_script("return document.activeElement.id") == "add-details":
            break
    press(Keys.ENTER)
    assert driver.find_element(By.TAG_NAME, "h1").is_displayed()
    tab_to("input", "place_text")
    press("SYNTHETIC typed by keyboard")
    tab_to("button", "")
    press(Keys.ENTER)
    assert driver.find_element(By.CSS_SELECTOR, ".flash").is_displayed()
    with csrf_app.app_context():
        assert db.session.scalars(select(Message.author)).all() == ["reporter"]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_do_the_other_reporter_pages_fit_the_phone_with_large_targets(
    csrf_app, server, phone, language
):
    """The full form (every section opened), the status lookup, the status page and the exit
    page: no sideways scrolling, every tap target 44 × 44 px."""
    from selenium.webdriver.common.by import By

    from incident_service.crypto.receipts import format_receipt
    from tests.factories import submit

    with csrf_app.app_context():
        filed = submit(language=language)
    driver = phone
    driver.get(f"{server}/report/full?lang={language}")
    for summary in driver.find_elements(By.TAG_NAME, "summary"):
        summary.click()  # open every collapsed section, so that its targets are measured
    _check_page(driver, f"{language}-7-full-form")
    driver.get(f"{server}/status")
    _check_page(driver, f"{language}-8-status-lookup")
    driver.find_element(By.ID, "receipt").send_keys(format_receipt(filed.receipt))
    driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    driver.find_element(By.ID, "status")
    _check_page(driver, f"{language}-9-status")
    driver.find_element(By.CSS_SELECTOR, "a.exit").click()
    _arrives(driver, "/exit")
    _check_page(driver, f"{language}-10-exit")


def test_do_the_languages_at_the_top_keep_the_answers_while_enter_still_sends(
    csrf_app, server, phone
):
    """The languages in the page header, pressed halfway through the quick report, the full form
    and a details step, bring the page back in the new language with every answer still there
    (they were links that started an empty form). Enter in a text field still sends: the header
    buttons come first in the page, and a form's first submit button is the one Enter presses."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver = phone

    def header_language(code: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        driver.find_element(By.CSS_SELECTOR, f'header .langs [lang="{code}"]').click()

        WebDriverWait(driver, 30).until(  # the next page's <html>, read as it arrives
            lambda _d: driver.execute_script("return document.documentElement.lang") == code,
            f"the page never came back in {code}",
        )

    def ticked(act: str) -> bool:
        box = driver.find_element(By.CSS_SELECTOR, f'input[name="acts"][value="{act}"]')
        return bool(box.is_selected())

    driver.get(f"{server}/report?lang=en")
    box = driver.find_element(By.CSS_SELECTOR, 'input[name="acts"][value="DET.01"]')
    box.find_element(By.XPATH, "./ancestor::label").click()
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2025")
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    header_language("tg")
    assert ticked("DET.01")
    assert Select(driver.find_element(By.NAME, "year")).first_selected_option.text == "2025"
    assert driver.find_element(By.NAME, "country").get_property("value") == "RU"
    assert absent(driver, By.CSS_SELECTOR, ".error-summary")  # nothing was checked

    # On to the full form, still in Tajik with the same answers; a place typed, then Russian.
    driver.find_element(By.ID, "full-form").click()
    _arrives(driver, "/report/full")
    assert ticked("DET.01")
    driver.find_element(By.NAME, "place_text").send_keys("SYNTHETIC market, gate 4")
    consent = driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]')
    consent.find_element(By.XPATH, "./ancestor::label").click()
    header_language("ru")
    place = driver.find_element(By.NAME, "place_text")
    assert place.get_property("value") == "SYNTHETIC market, gate 4"
    assert ticked("DET.01")
    assert driver.find_element(
        By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]'
    ).is_selected()

    # Enter in the place field sends the report (not a language button).
    place.send_keys(Keys.ENTER)
    assert re.fullmatch(r"\d{4}( \d{4}){4}", driver.find_element(By.ID, "receipt").text)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    with csrf_app.app_context():
        report_id = db.session.scalars(select(Report.id)).one()
    assert open_statistical_section(csrf_app, report_id)["acts"] == ["DET.01"]

    # A details step: typed, the language changed at the top, the text still there; Enter adds it.
    driver.find_element(By.ID, "add-details").click()
    _arrives(driver, "/report/details/place")
    driver.find_element(By.NAME, "place_text").send_keys("SYNTHETIC second gate")
    header_language("uz")
    place = driver.find_element(By.NAME, "place_text")
    assert place.get_property("value") == "SYNTHETIC second gate"
    place.send_keys(Keys.ENTER)
    assert driver.find_element(By.CSS_SELECTOR, ".flash").is_displayed()
    with csrf_app.app_context():
        messages = db.session.scalars(select(Message).where(Message.report_id == report_id))
        assert [m.author for m in messages] == ["reporter"]
