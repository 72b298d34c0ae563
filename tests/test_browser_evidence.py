"""A reporter on a small phone, JavaScript off, in Tajik, sends two photos and a voice note
with the report form, sees them on the receipt page with their fingerprints, and adds one more
file on the status page — in Debian's headless Chromium against a real server."""

from __future__ import annotations

import hashlib

import pytest

from incident_service.models import EvidenceFile, db
from tests import evidence_samples as samples
from tests.conftest import PHONE

pytestmark = pytest.mark.browser


def _fingerprint(data: bytes) -> str:
    head = hashlib.sha256(data).hexdigest()[:16].upper()
    return " ".join(head[i : i + 4] for i in range(0, 16, 4))


def _click(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView()", element)
    element.click()


def test_can_a_reporter_send_photos_and_a_voice_note_in_tajik_with_javascript_off(
    csrf_app, server, phone, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = phone
    driver.get("data:text/html,<title>off</title><script>document.title='on'</script>")
    assert driver.title == "off"  # JavaScript really is off for pages
    samples_sent = {
        "hibs.jpg": samples.jpeg(),
        "amr.png": samples.png(),
        "ovoz.ogg": samples.ogg(),
        "shartnoma.pdf": samples.pdf(),
    }
    for name, data in samples_sent.items():
        (tmp_path / name).write_bytes(data)

    driver.get(f"{server}/report/full?lang=tg")  # files are sent with the full form
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "tg"
    for act in ("DET.01", "DET.03"):
        _click(driver, driver.find_element(By.CSS_SELECTOR, f'input[name="acts"][value="{act}"]'))
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2024")
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    driver.find_element(By.NAME, "narrative").send_keys("SYNTHETIC: моро дар хобгоҳ гирифтанд")
    # One file input, several files chosen at once (a phone's picker; here, by path).
    picker = driver.find_element(By.CSS_SELECTOR, 'input[type="file"][name="evidence"]')
    assert picker.get_attribute("multiple") is not None
    assert "image/jpeg" in picker.get_attribute("accept")
    picker.send_keys("\n".join(str(tmp_path / n) for n in ("hibs.jpg", "amr.png", "ovoz.ogg")))
    _click(
        driver, driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="no"]')
    )
    _click(driver, driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]'))

    receipt = driver.find_element(By.CSS_SELECTOR, "p#receipt").text
    assert driver.current_url.endswith("/report")  # a GET page: Reload sends nothing again
    files = driver.find_element(By.ID, "files").text
    assert "Файлҳои шумо" in files
    for name in ("hibs.jpg", "amr.png", "ovoz.ogg"):
        assert name in files and _fingerprint(samples_sent[name]) in files
    assert "Акс" in files and "Сабти овоз" in files
    with csrf_app.app_context():
        assert db.session.query(EvidenceFile).count() == 3

    # Later: the status page, the number typed in; the files are listed, one more is added.
    _click(driver, driver.find_element(By.CSS_SELECTOR, 'a.button[href$="/status"]'))
    driver.find_element(By.CSS_SELECTOR, "input#receipt").send_keys(receipt)
    _click(driver, driver.find_element(By.CSS_SELECTOR, 'form button[type="submit"]'))
    assert driver.current_url.endswith("/status")
    listed = driver.find_element(By.CSS_SELECTOR, "ul.files").text
    assert all(name in listed for name in ("hibs.jpg", "amr.png", "ovoz.ogg"))
    driver.find_element(By.CSS_SELECTOR, 'input[type="file"][name="evidence"]').send_keys(
        str(tmp_path / "shartnoma.pdf")
    )
    add = driver.find_element(By.CSS_SELECTOR, '#field-evidence button[type="submit"]')
    _click(driver, add)
    assert driver.find_element(By.CSS_SELECTOR, ".flash").text == "Файлҳои шумо илова шуданд."
    listed = driver.find_element(By.CSS_SELECTOR, "ul.files").text
    assert "shartnoma.pdf" in listed and _fingerprint(samples_sent["shartnoma.pdf"]) in listed
    assert "Ҳуҷҷат" in listed
    assert receipt.replace(" ", "") not in driver.current_url
    assert receipt.replace(" ", "") not in driver.page_source.replace(" ", "")
    # The page fits the phone, file names and fingerprints included.
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    with csrf_app.app_context():
        assert db.session.query(EvidenceFile).count() == 4
