"""The reporter's pages on a 2G link: bytes, requests, time to first text on screen and to load.

Debian's headless Chromium loads each page with its network emulated by the DevTools protocol
(`Network.emulateNetworkConditions`: 250 kbit/s down, 100 kbit/s up, 300 ms latency) from the
service under gunicorn with its production settings (`incident_service.serving`, one gthread
worker, SQLite and Redis), as a first-time visitor (cookies and cache cleared), in all five
languages:

- /report        the blank form, as served (gzip when the browser takes it);
- receipt        the filled-in form sent: POST /report, 303, GET /report showing the receipt;
- /status        the lookup form;
- status page    the receipt typed in: POST /status, 303, GET /status showing the report.

Two baselines in the same run, each loaded right before or after the page it is measured
against (the order alternates run by run): an empty HTML page from the same server (the floor
the link sets: one request and its headers) and the blank form with gzip refused
(`Accept-Encoding: identity`). Chromium's emulation adds the latency once per request; it does
not model the TCP and TLS handshakes of a real first visit (two to three more round trips).
"First text" is Chromium's first contentful paint and "load" its load event, both counted from
the start of the navigation: for the receipt and the status page, from the click, so the upload
of the form and the redirect are in them. "bytes" is what came down the wire, headers and the
303 included; "sent" the posted form's body.

    .venv/bin/python bench/page_weight.py [--runs 3]

Needs chromium and chromedriver (scripts/ensure_chromium.sh), selenium, gunicorn and Redis
(`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/11: a database of its own, since Celery's,
the limiter's and the handoff's keys there are removed at the end).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path, where bench/queue.py would shadow the
# standard library's queue module that Celery imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LANGUAGES = ("en", "ru", "tg", "uz", "ky")
LINK = {"down_kbit": 250, "up_kbit": 100, "latency_ms": 300}
TARGET_BYTES = 12 * 1024
TARGET_FIRST_PAINT_MS = 1000
EMPTY_PATH = "/bench-empty"
EMPTY_PAGE = b'<!doctype html><html lang="en"><meta charset="utf-8"><title>Information</title><p>.'


# --------------------------------------------------------------------------------------------
# The WSGI app gunicorn loads (`bench.page_weight:service_app()`)


def service_app() -> Any:
    """The service, plus the empty baseline page at EMPTY_PATH with the same headers."""
    from incident_service import create_app
    from incident_service.settings import Config

    app = create_app(Config.from_env())

    @app.get(EMPTY_PATH)
    def empty() -> tuple[bytes, int, dict[str, str]]:
        return EMPTY_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}

    return app


# --------------------------------------------------------------------------------------------
# The server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(instance: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        INCIDENT_ENV="development",
        INSTANCE_PATH=str(instance),
        KEYS_DIR=str(instance / "keys"),
        DATABASE_URL=f"sqlite:///{instance / 'bench.db'}",
        REDIS_URL=REDIS_URL,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        CELERY_EAGER="0",
        REPORT_RATE_LIMIT="100000 per hour",
        SECRET_KEY=secrets.token_hex(32),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def prepare(env: dict[str, str]) -> None:
    """Tables, keys and the team key, made once before gunicorn starts."""
    os.environ.update(env)
    from incident_service import create_app
    from incident_service.auth.teams import ensure_organisation
    from incident_service.models import db
    from incident_service.settings import Config

    app = create_app(Config.from_env())
    with app.app_context():
        db.create_all()
        ensure_organisation()
        db.session.commit()
        db.engine.dispose()


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "python:incident_service.serving",
            "--log-level",
            "warning",
            "bench.page_weight:service_app()",
        ],
        env=env,
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def cleanup(instance: Path) -> None:
    import redis

    shutil.rmtree(instance, ignore_errors=True)
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in ("celery*", "_kombu*", "LIMITS*", "incident:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


# --------------------------------------------------------------------------------------------
# The browser


def start_browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=360,740",
    ):
        options.add_argument(flag)
    # Pages run no script (none is allowed); WebDriver's own calls still work.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def fresh_visit(driver: Any, *, gzip: bool = True) -> None:
    """A first-time visitor on the slow link: no cookies, nothing cached, events drained."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LINK["latency_ms"],
            "downloadThroughput": LINK["down_kbit"] * 1000 / 8,
            "uploadThroughput": LINK["up_kbit"] * 1000 / 8,
        },
    )
    headers = {} if gzip else {"Accept-Encoding": "identity"}
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})
    driver.get_log("performance")


@dataclass
class Load:
    received: int  # bytes on the wire, headers included, redirects included
    sent: int  # request bodies (the form posted)
    requests: int
    first_paint_ms: float  # first contentful paint: the first text on the screen
    load_ms: float
    encoding: str


def _network_events(driver: Any) -> Iterable[dict[str, Any]]:
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"].startswith("Network."):
            yield message


def _wait_loaded(driver: Any, marker: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 120).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, marker)
            and d.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return document.readyState === 'complete' && n && n.loadEventEnd > 0"
                " && performance.getEntriesByName('first-contentful-paint').length > 0;"
            )
        )
    )


def measure(driver: Any, action: Callable[[], None], marker: str) -> Load:
    """Run `action` (a navigation) and measure the page it ends on."""
    action()
    _wait_loaded(driver, marker)
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
        "return [p.startTime, n.loadEventEnd];"
    )
    received = sent = requests = 0
    encoding = "identity"
    for event in _network_events(driver):
        params = event["params"]
        if event["method"] == "Network.requestWillBeSent":
            requests += 1
            sent += len(params["request"].get("postData", "").encode())
            if "redirectResponse" in params:
                received += int(params["redirectResponse"].get("encodedDataLength", 0))
        elif event["method"] == "Network.loadingFinished":
            received += int(params["encodedDataLength"])
        elif event["method"] == "Network.responseReceived" and params.get("type") == "Document":
            headers = {k.lower(): v for k, v in params["response"]["headers"].items()}
            encoding = headers.get("content-encoding", "identity")
    return Load(received, sent, requests, float(timing[0]), float(timing[1]), encoding)


def _fill_form(driver: Any) -> None:
    """The questions marked *, nothing else."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.CSS_SELECTOR, 'input[name="acts"][value="BRD.01"]').click()
    Select(driver.find_element(By.NAME, "year")).select_by_visible_text("2024")
    Select(driver.find_element(By.NAME, "country")).select_by_value("RU")
    driver.find_element(By.CSS_SELECTOR, 'input[name="consent_statistics"][value="yes"]').click()
    driver.find_element(By.NAME, "narrative").send_keys("SYNTHETIC benchmark report.")


def reporter_flow(driver: Any, base: str, language: str) -> dict[str, Load]:
    """A first-time reporter: the form, the receipt, the lookup, the status page."""
    from selenium.webdriver.common.by import By

    loads: dict[str, Load] = {}
    fresh_visit(driver)
    loads["/report"] = measure(driver, lambda: driver.get(f"{base}/report?lang={language}"), "form")
    _fill_form(driver)
    driver.get_log("performance")
    submit = driver.find_element(By.CSS_SELECTOR, 'button[type="submit"]:not([name])')
    loads["receipt"] = measure(driver, submit.click, "p.receipt")
    receipt = driver.find_element(By.ID, "receipt").text.replace(" ", "")
    driver.get_log("performance")
    loads["/status"] = measure(driver, lambda: driver.get(f"{base}/status"), "input#receipt")
    driver.find_element(By.ID, "receipt").send_keys(receipt)
    driver.get_log("performance")
    button = driver.find_element(By.CSS_SELECTOR, 'button[type="submit"]')
    loads["status page"] = measure(driver, button.click, "#status")
    return loads


def baselines(driver: Any, base: str, language: str) -> dict[str, Load]:
    loads: dict[str, Load] = {}
    fresh_visit(driver)
    loads["empty page"] = measure(driver, lambda: driver.get(f"{base}{EMPTY_PATH}"), "title")
    fresh_visit(driver, gzip=False)
    loads["/report, no gzip"] = measure(
        driver, lambda: driver.get(f"{base}/report?lang={language}"), "form"
    )
    return loads


# --------------------------------------------------------------------------------------------
# Report

ROWS = ("empty page", "/report, no gzip", "/report", "receipt", "/status", "status page")


def print_results(results: dict[tuple[str, str], list[Load]], runs: int) -> bool:
    print(
        f"page weight: headless Chromium {_chromium_version()}, "
        f"{LINK['down_kbit']} kbit/s down, {LINK['up_kbit']} kbit/s up, "
        f"{LINK['latency_ms']} ms latency per request (DevTools emulation); "
        f"median of {runs} alternating runs, first visit each time"
    )
    print(
        f"{'page':<18}{'lang':<6}{'bytes':>8}{'sent':>7}{'reqs':>6}{'gzip':>6}"
        f"{'first text ms':>15}{'load ms':>9}"
    )
    met = True
    for row in ROWS:
        for language in LANGUAGES:
            loads = results[(row, language)]
            received = statistics.median(load.received for load in loads)
            first_paint = statistics.median(load.first_paint_ms for load in loads)
            print(
                f"{row:<18}{language:<6}{received:>8.0f}"
                f"{statistics.median(load.sent for load in loads):>7.0f}"
                f"{statistics.median(load.requests for load in loads):>6.0f}"
                f"{'yes' if all(load.encoding == 'gzip' for load in loads) else 'no':>6}"
                f"{first_paint:>15.0f}"
                f"{statistics.median(load.load_ms for load in loads):>9.0f}"
            )
            if row == "/report":
                met = met and received <= TARGET_BYTES and first_paint < TARGET_FIRST_PAINT_MS
    print(
        f"target: /report <= {TARGET_BYTES} bytes on the wire and first text < "
        f"{TARGET_FIRST_PAINT_MS} ms in every language: {'met' if met else 'NOT met'}"
    )
    return met


def _chromium_version() -> str:
    output = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    return output.split()[1] if len(output.split()) > 1 else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="incident-bench-"))
    port = _free_port()
    env = _environment(instance, port)
    results: dict[tuple[str, str], list[Load]] = {}
    server = driver = None
    try:
        prepare(env)
        server = start_server(env, port)
        driver = start_browser()
        base = f"http://127.0.0.1:{port}"
        for run in range(args.runs):
            for language in LANGUAGES:
                if run % 2 == 0:
                    loads = {**baselines(driver, base, language)}
                    loads.update(reporter_flow(driver, base, language))
                else:
                    loads = reporter_flow(driver, base, language)
                    loads.update(baselines(driver, base, language))
                for row, load in loads.items():
                    results.setdefault((row, language), []).append(load)
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            stop_server(server)
        cleanup(instance)
    return 0 if print_results(results, args.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
