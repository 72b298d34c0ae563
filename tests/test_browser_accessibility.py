"""WCAG 2.2 AA on every reporter and staff page, checked by axe-core in headless Chromium.

Each test walks the pages as their users do — a reporter on a small phone in each of the five
languages, then staff of every role on a desk screen — and asks axe-core (tests/accessibility.py,
injected by the test, never served by the app) for violations on each page. One failure lists
every page's violations with the rule, its impact and the elements, so a single run shows all
that is left to fix.

Markup does not depend on the database, so these run on SQLite only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest

from incident_service.auth import enrolment
from incident_service.constants import Role
from incident_service.models import Release, User, db
from tests import evidence_samples as samples
from tests.accessibility import AxeAudit, axe_source, axe_violations
from tests.evidence_helpers import receive
from tests.factories import submit
from tests.reporter_helpers import form_data
from tests.staff import StaffAccount, make_staff, next_code
from tests.statistics_factory import insert_records

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_pdf_layout")]

PHONE = (360, 740)
DESK = (1280, 900)
REPORTER_LANGUAGES = ["ru", "tg", "uz", "ky", "en"]
STAFF_LANGUAGES = ["ru", "en"]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def browser_factory(headless_chromium):
    axe_source()  # before a browser starts: without axe-core there is nothing to check

    def start(window: tuple[int, int]):
        # JavaScript on for WebDriver's calls that run axe-core; the pages carry none.
        driver = headless_chromium(window=window, javascript=True)
        driver.set_page_load_timeout(30)
        driver.implicitly_wait(20)
        return driver

    return start


def settle(driver, condition) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(condition)


def path_of(driver) -> str:
    return urlsplit(driver.current_url).path


# Fill a form as a person would with the answers of `form_data`: boxes and options by value,
# text typed in. Then send it with its own submit button.
_FILL = """
const form = arguments[0], answers = arguments[1];
for (const [name, answer] of Object.entries(answers)) {
  const values = (Array.isArray(answer) ? answer : [answer]).map(String);
  for (const element of form.elements) {
    if (element.name !== name) continue;
    if (element.type === "checkbox" || element.type === "radio") {
      element.checked = values.includes(element.value);
    } else if (element.type !== "hidden" && element.type !== "file") {
      element.value = values[0];
    }
  }
}
"""


def _report_form(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, 'main form[method="post"]')


def _send(driver, form) -> None:
    from selenium.webdriver.common.by import By

    # The first submit button is the form's own, the one Enter presses (the reporter form's
    # language buttons come after it).
    button = form.find_elements(By.CSS_SELECTOR, 'button[type="submit"]')[0]
    driver.execute_script("arguments[0].scrollIntoView()", button)
    driver.execute_script("arguments[0].click()", button)


def test_does_the_check_find_grey_text_and_an_unnamed_field(browser_factory):
    """The checker itself: on a page with pale grey text and a text box without a label, does
    axe-core (as injected here, with these tags) report both? Otherwise a clean result would
    say nothing."""
    driver = browser_factory(PHONE)
    driver.get(
        "data:text/html;charset=utf-8,<!doctype html><html lang=en><title>t</title><main>"
        "<h1>Form</h1><p style='color:%23bbb'>pale text</p><input type=text name=q></main>"
    )
    found = {violation["id"] for violation in axe_violations(driver)}
    assert {"color-contrast", "label"} <= found, found


def test_are_the_reporter_pages_wcag_22_aa_in_every_language(
    csrf_app, serve_over_http, browser_factory, tmp_path
):
    from selenium.webdriver.common.by import By

    server = serve_over_http(csrf_app)
    files = [tmp_path / "photo.jpg", tmp_path / "archive.zip"]
    files[0].write_bytes(samples.jpeg())
    files[1].write_bytes(samples.zip_archive())
    driver = browser_factory(PHONE)
    audit = AxeAudit(driver)
    headings = set()
    for lang in REPORTER_LANGUAGES:
        driver.delete_all_cookies()
        driver.get(f"{server}/?lang={lang}")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        headings.add(driver.find_element(By.TAG_NAME, "h1").text)
        audit.check(f"start page [{lang}]")

        driver.get(f"{server}/report")
        audit.check(f"report form [{lang}]")
        # Sent empty: the form again, with its errors.
        _send(driver, _report_form(driver))
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
        audit.check(f"report form with errors [{lang}]")

        # Filled in and sent, with a photo and a file that is refused where the form takes
        # files: the receipt lists both.
        form = _report_form(driver)
        driver.execute_script(_FILL, form, form_data(narrative=f"SYNTHETIC report in {lang}"))
        pickers = form.find_elements(By.CSS_SELECTOR, 'input[type="file"]')
        if pickers:
            pickers[0].send_keys("\n".join(str(path) for path in files))
        _send(driver, form)
        receipt = driver.find_element(By.ID, "receipt").text
        if pickers:
            driver.find_element(By.ID, "files")
        audit.check(f"receipt [{lang}]")

        driver.get(f"{server}/status")
        audit.check(f"status lookup [{lang}]")
        driver.find_element(By.ID, "receipt").send_keys("1234 5678")
        _send(driver, driver.find_element(By.CSS_SELECTOR, "main form"))
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
        audit.check(f"status lookup, wrong number [{lang}]")
        driver.find_element(By.ID, "receipt").clear()
        driver.find_element(By.ID, "receipt").send_keys(receipt)
        _send(driver, driver.find_element(By.CSS_SELECTOR, "main form"))
        driver.find_element(By.ID, "status")
        audit.check(f"status [{lang}]")
        # A message in the thread, and the page that confirms it.
        driver.find_element(By.ID, "text").send_keys("SYNTHETIC: one more thing")
        _send(driver, driver.find_element(By.ID, "field-text"))
        driver.find_element(By.CSS_SELECTOR, ".msg .text")
        audit.check(f"status with a message [{lang}]")
        # Files added here too: the accepted one listed, the refused one said why.
        evidence = driver.find_element(By.ID, "field-evidence")
        evidence.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(
            "\n".join(str(path) for path in files)
        )
        _send(driver, evidence)
        settle(driver, lambda d: d.find_elements(By.ID, "e-evidence"))
        audit.check(f"status with files [{lang}]")
        # Sent without saying yes: the same page with an error by the box.
        _send(driver, driver.find_element(By.ID, "field-delete"))
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#field-delete .error"))
        audit.check(f"status with an error [{lang}]")

        driver.get(f"{server}/no-such-page")
        audit.check(f"not found [{lang}]")
        driver.get(f"{server}/exit")
        audit.check(f"exit [{lang}]")
    assert len(headings) == len(REPORTER_LANGUAGES), "the pages were not translated"
    audit.assert_clean()


ERROR_STATUSES = [404, 405, 413, 429, 500, 503]


def _add_error_routes(app) -> None:
    """Addresses that answer each error through the app's own handlers, one in the reporter's
    area and one in the staff's (an address outside every blueprint is judged by its first
    segment, and `cases` is the staff's). Some of these errors cannot be caused from a browser
    without JavaScript (a 500, a 413 body, a database outage); the pages are the real ones."""
    from flask import abort
    from sqlalchemy.exc import OperationalError

    def fail(code: int):
        if code == 503:  # the database outage: its own handler, 503 with Retry-After
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError())
        abort(code)

    app.add_url_rule("/failing/<int:code>", "reporter_error_for_test", fail)
    app.add_url_rule("/cases/failing/<int:code>", "staff_error_for_test", fail)


def test_are_the_error_pages_wcag_22_aa(csrf_app, serve_over_http, browser_factory):
    """404, 405, 413, 429, 500 and 503: the reporter's in five languages on a phone, the
    staff's in Russian and English on a desk, each in its language and clean under axe."""
    from selenium.webdriver.common.by import By

    _add_error_routes(csrf_app)
    server = serve_over_http(csrf_app)
    for area, size, languages, prefix in (
        ("reporter", PHONE, REPORTER_LANGUAGES, "/failing"),
        ("staff", DESK, STAFF_LANGUAGES, "/cases/failing"),
    ):
        driver = browser_factory(size)
        audit = AxeAudit(driver)
        for status in ERROR_STATUSES:
            headings = set()
            for lang in languages:
                driver.delete_all_cookies()
                driver.get(f"{server}{prefix}/{status}?lang={lang}")
                assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
                assert str(status) in driver.find_element(By.TAG_NAME, "main").text
                headings.add(driver.find_element(By.TAG_NAME, "h1").text)
                audit.check(f"{area} error {status} [{lang}]")
            assert len(headings) == len(languages), f"{area} {status}: not translated"
        audit.assert_clean()
        driver.quit()


def _log_in(driver, server: str, app, account: StaffAccount) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{server}/favicon.ico")  # cookies are deleted for the page's own site
    driver.delete_all_cookies()
    driver.get(f"{server}/login")
    driver.find_element(By.ID, "email").send_keys(account.email)
    driver.find_element(By.ID, "password").send_keys(account.password)
    driver.find_element(By.ID, "code").send_keys(next_code(app, account))
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    if account.role.opens_reports:
        settle(driver, lambda d: path_of(d) == "/unlock")
        driver.find_element(By.ID, "passphrase").send_keys(account.passphrase)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    settle(driver, lambda d: path_of(d) not in {"/login", "/unlock"})


def test_are_the_staff_pages_wcag_22_aa(csrf_app, serve_over_http, browser_factory, tmp_path):
    from selenium.webdriver.common.by import By

    app = csrf_app
    with app.app_context():
        caseworker = make_staff(role=Role.CASEWORKER)
        supervisor = make_staff(role=Role.SUPERVISOR)
        official = make_staff(role=Role.OFFICIAL)
        admin = make_staff(role=Role.ADMIN)
        newcomer = make_staff(role=Role.CASEWORKER, setup=False)
        keyless = make_staff(role=Role.CASEWORKER, grant=False)
        filed = submit(narrative="SYNTHETIC held at passport control", outcome="DET")
        receive(samples.jpeg(), report_id=filed.report_id, name="photo.jpg")
        receive(samples.pdf(), report_id=filed.report_id, name="contract.pdf")
        insert_records(40, months=["2024-11"], seed=71)
    server = serve_over_http(app)
    driver = browser_factory(DESK)
    audit = AxeAudit(driver)

    for lang in STAFF_LANGUAGES:
        # Logged out: the login page, refused, and the first login of a new account.
        driver.delete_all_cookies()
        driver.get(f"{server}/login?lang={lang}")
        audit.check(f"login [{lang}]")
        driver.find_element(By.ID, "email").send_keys(caseworker.email)
        driver.find_element(By.ID, "password").send_keys("not the password")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
        audit.check(f"login refused [{lang}]")
        driver.get(f"{server}/cases/no-such-case/no-such-page")
        audit.check(f"not found [{lang}]")

    driver.delete_all_cookies()
    driver.get(f"{server}/login?lang=ru")
    driver.find_element(By.ID, "email").send_keys(newcomer.email)
    driver.find_element(By.ID, "password").send_keys(newcomer.one_time_password)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    settle(driver, lambda d: path_of(d) == "/login/setup")
    audit.check("first login setup [ru]")
    # Everything typed, but a code the authenticator never showed: refused.
    for field in driver.find_elements(By.CSS_SELECTOR, "main form input[required]"):
        field.send_keys("000000" if field.get_attribute("id") == "code" else "SYNTHETIC pass 1")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
    audit.check("first login setup with errors [ru]")
    # Done right: the recovery key, shown once.
    with app.app_context():
        secret = enrolment.pending_totp(db.session.get_one(User, newcomer.user_id)).secret
    code = pyotp.TOTP(secret).now()
    for field in driver.find_elements(By.CSS_SELECTOR, "main form input[required]"):
        field.clear()
        name = field.get_attribute("id") or ""
        if name == "code":
            field.send_keys(code)
        elif "passphrase" in name:  # must differ from the password, or the page refuses
            field.send_keys("SYNTHETIC several key words")
        else:
            field.send_keys("SYNTHETIC pass 1")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # The setup page shows its TOTP secret in a `.recovery-key` paragraph too: wait for the
    # recovery key itself, or axe-core runs on the setup page as it unloads and never answers.
    settle(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".recovery-key code:not(#totp-secret)")
    )
    audit.check("recovery key [ru]")

    # A caseworker whom no supervisor has given the team key yet.
    _log_in(driver, server, app, keyless)
    driver.get(f"{server}/cases/?lang=ru")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Доступа к обращениям пока нет"
    audit.check("no team key [ru]")

    # A caseworker: unlock, queue, case, its forms, events.
    for lang in STAFF_LANGUAGES:
        driver.delete_all_cookies()
        driver.get(f"{server}/login?lang={lang}")
        driver.find_element(By.ID, "email").send_keys(caseworker.email)
        driver.find_element(By.ID, "password").send_keys(caseworker.password)
        driver.find_element(By.ID, "code").send_keys(next_code(app, caseworker))
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        settle(driver, lambda d: path_of(d) == "/unlock")
        audit.check(f"unlock [{lang}]")
        driver.get(f"{server}/cases/{filed.report_id}")
        assert driver.find_elements(By.CSS_SELECTOR, 'main a[href^="/unlock"]')
        audit.check(f"case while the key is locked [{lang}]")
        driver.get(f"{server}/unlock")
        driver.find_element(By.ID, "passphrase").send_keys("not the passphrase")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
        audit.check(f"unlock refused [{lang}]")
        driver.get(f"{server}/unlock/recover")
        audit.check(f"recover key [{lang}]")
        driver.get(f"{server}/unlock")
        driver.find_element(By.ID, "passphrase").send_keys(caseworker.passphrase)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        settle(driver, lambda d: path_of(d) == "/cases/")
        audit.check(f"queue [{lang}]")
        driver.get(f"{server}/cases/{filed.report_id}")
        assert len(driver.find_elements(By.CSS_SELECTOR, ".evidence-file")) == 2
        audit.check(f"case with files [{lang}]")
        if lang == STAFF_LANGUAGES[0]:
            # A reply, a note and an event, so that the pages show them.
            driver.find_element(By.ID, "reply-text").send_keys("SYNTHETIC reply")
            _send(driver, driver.find_element(By.ID, "reply-text").find_element(By.XPATH, ".."))
            settle(driver, lambda d: "SYNTHETIC reply" in d.page_source)
            driver.find_element(By.ID, "note-text").send_keys("SYNTHETIC note")
            _send(driver, driver.find_element(By.ID, "note-text").find_element(By.XPATH, ".."))
            settle(driver, lambda d: "SYNTHETIC note" in d.page_source)
            new_event = driver.find_element(
                By.CSS_SELECTOR, f'form[action="/cases/{filed.report_id}/event/new"]'
            )
            new_event.find_element(By.ID, "event-title").send_keys("SYNTHETIC event")
            new_event.find_element(By.ID, "event-persons").send_keys("3")
            _send(driver, new_event)
            settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'form[action$="/unlink"]'))
            audit.check(f"case with notes and an event [{lang}]")
        driver.get(f"{server}/cases/{filed.report_id}/export")
        audit.check(f"case export [{lang}]")
        driver.get(f"{server}/cases/{filed.report_id}/dossier")
        audit.check(f"dossier [{lang}]")
        driver.get(f"{server}/cases/events")
        audit.check(f"events [{lang}]")
        links = driver.find_elements(By.CSS_SELECTOR, 'main a[href^="/cases/events/"]')
        assert links, "no event listed"
        links[0].click()
        settle(driver, lambda d: path_of(d).startswith("/cases/events/"))
        audit.check(f"event [{lang}]")
        driver.get(f"{server}/summaries/")
        audit.check(f"forbidden to a caseworker [{lang}]")
        driver.get(f"{server}/logout")
        audit.check(f"log out [{lang}]")

    # A supervisor: team keys, audit log, and a release prepared, reviewed and published.
    _log_in(driver, server, app, supervisor)
    for lang in STAFF_LANGUAGES:
        driver.get(f"{server}/cases/team?lang={lang}")
        audit.check(f"team keys [{lang}]")
        driver.get(f"{server}/cases/audit")
        audit.check(f"audit log [{lang}]")
        driver.get(f"{server}/summaries/")
        audit.check(f"summaries [{lang}]")
        driver.find_element(By.ID, "period").send_keys("2024-Q5")
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        settle(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main .error"))
        audit.check(f"summaries, bad period [{lang}]")
    driver.get(f"{server}/summaries/")
    period = driver.find_element(By.ID, "period")
    period.clear()
    period.send_keys("2024-11")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    settle(driver, lambda d: path_of(d).rstrip("/").split("/")[-1].isdigit())
    release_url = driver.current_url.split("?")[0]
    for lang in STAFF_LANGUAGES:
        driver.get(f"{release_url}?lang={lang}")
        audit.check(f"draft release [{lang}]")
        driver.get(f"{release_url}/publish")
        audit.check(f"publish confirmation [{lang}]")
    driver.find_element(By.CSS_SELECTOR, 'button[value="publish"]').click()
    settle(driver, lambda d: not path_of(d).endswith("/publish"))

    # An official reads the published release.
    _log_in(driver, server, app, official)
    for lang in STAFF_LANGUAGES:
        driver.get(f"{server}/summaries/?lang={lang}")
        audit.check(f"summaries for officials [{lang}]")
        driver.get(release_url)
        audit.check(f"published release [{lang}]")
        driver.get(f"{server}/cases/")
        audit.check(f"forbidden to an official [{lang}]")
    # The release's HTML documents, opened from disk as an official does after downloading.
    with app.app_context():
        release = db.session.get_one(Release, int(release_url.rstrip("/").split("/")[-1]))
        documents = {f.name: f.content for f in release.files if f.name.endswith(".html")}
    assert documents, "the release has no HTML document"
    for name, content in sorted(documents.items()):
        (tmp_path / name).write_bytes(content)
        driver.get((tmp_path / name).as_uri())
        audit.check(f"release document {name}")

    # An administrator: accounts, and a new account's one-time password.
    _log_in(driver, server, app, admin)
    for lang in STAFF_LANGUAGES:
        driver.get(f"{server}/accounts?lang={lang}")
        audit.check(f"accounts [{lang}]")
        driver.find_element(By.ID, "email").send_keys(f"new-{lang}@example.org")
        _send(driver, driver.find_element(By.ID, "email").find_element(By.XPATH, "ancestor::form"))
        settle(driver, lambda d: "new-" in d.page_source and path_of(d) == "/accounts")
        audit.check(f"account created [{lang}]")
    audit.assert_clean()
