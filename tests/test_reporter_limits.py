"""Filing limits: one address cannot flood the queue, and nothing typed is lost when refused."""

from __future__ import annotations

import pytest

from incident_service import ratelimit
from incident_service.models import Report, db
from tests.conftest import require_redis
from tests.factories import report_payload
from tests.reporter_helpers import form_data, open_form, post_and_follow, receipt_on

TOO_MANY = "Too many tries. Please wait a few minutes and try again."


def _file(client, data=None) -> str:
    """Send the form as a browser does (POST, 303, GET); what the page then says:
    "receipt", "too many" or "form" (the form again, with its errors if any)."""
    client.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    page = post_and_follow(client, "/report", data if data is not None else form_data())
    if receipt_on(page) is not None:
        return "receipt"
    return "too many" if TOO_MANY in page.get_data(as_text=True) else "form"


def test_is_the_form_refused_after_the_limit_with_everything_typed_kept(app):
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for _ in range(2):
        assert _file(client) == "receipt"
    refused = post_and_follow(
        client, "/report", form_data(narrative="SYNTHETIC third, kept as typed")
    )
    page = refused.get_data(as_text=True)
    assert TOO_MANY in page
    assert "SYNTHETIC third, kept as typed" in page
    # Still there on a later visit in this session, for the try after the wait.
    assert "SYNTHETIC third, kept as typed" in client.get("/report").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Report).count() == 2


def test_do_refused_or_invalid_forms_not_use_up_the_allowance(app):
    """Only stored reports count: a reporter fixing a mistake is never locked out."""
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    for _ in range(5):
        assert _file(client, form_data(acts=None)) == "form"
    assert _file(client) == "receipt"


def test_is_the_anonymous_api_limited_per_address_with_a_problem_document(app):
    app.config["REPORT_RATE_LIMIT"] = "3 per hour"
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/reports", json=report_payload()).status_code == 201
    refused = client.post("/api/v1/reports", json=report_payload())
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    other_address = client.post(
        "/api/v1/reports", json=report_payload(), environ_base={"REMOTE_ADDR": "192.0.2.9"}
    )
    assert other_address.status_code == 201


def test_does_switching_language_on_the_form_not_use_up_the_allowance(app):
    app.config["REPORT_RATE_LIMIT"] = "2 per hour"
    client = app.test_client()
    for language in ("tg", "uz", "ky", "ru", "en"):
        assert (
            _file(client, {**form_data(), "lang": language}) == "form"
        )  # answers kept, nothing filed
    assert _file(client) == "receipt"
    assert _file(client) == "receipt"
    with app.app_context():
        assert db.session.query(Report).count() == 2


def _fresh_redis_counts(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("incident:filing:*", "incident:handoff:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_are_filings_counted_in_redis_where_every_web_process_sees_them(app, monkeypatch):
    """Production counts in Redis: a repeated press of the same form is counted once, the
    third report is refused with what was typed kept, and no counter names the address."""
    import redis

    url = require_redis()
    _fresh_redis_counts(url)
    monkeypatch.setattr(ratelimit, "_clients", {})
    app.config.update(RATELIMIT_STORAGE_URI=url, REPORT_RATE_LIMIT="2 per hour")
    client = app.test_client()
    pressed = {**open_form(client), **form_data()}
    assert _file(client, pressed) == "receipt"
    assert _file(client, pressed) == "receipt"  # the same report again
    assert _file(app.test_client()) == "receipt"
    counters = redis.Redis.from_url(url)
    keys = list(counters.scan_iter("incident:filing:*"))
    assert len(keys) == 1 and int(counters.get(keys[0]) or 0) == 2
    assert b"127.0.0.1" not in keys[0] and b"report" not in keys[0]
    # It lives until the end of its hour, not for an hour from the last report.
    assert 0 < counters.ttl(keys[0]) <= 3600
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    refused = post_and_follow(other, "/report", form_data(narrative="SYNTHETIC kept"))
    assert TOO_MANY in refused.get_data(as_text=True)
    assert "SYNTHETIC kept" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Report).count() == 2
    _fresh_redis_counts(url)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_is_a_report_still_taken_when_the_counter_cannot_be_reached(app, monkeypatch):
    app.config.update(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", REPORT_RATE_LIMIT="1 per hour")
    monkeypatch.setattr(ratelimit, "_clients", {})
    client = app.test_client()
    for _ in range(3):
        # The handoff store is down too: the receipt page is the POST's own answer.
        page = client.post("/report", data=form_data())
        assert page.status_code == 200 and receipt_on(page) is not None
    response = client.post("/api/v1/reports", json=report_payload())
    assert response.status_code == 201


def test_do_refused_filings_not_use_up_the_longer_window(app, monkeypatch):
    """A reporter refused for the hour who keeps trying must still have the day's allowance
    once the hour has passed: only stored reports count."""
    from incident_service import ratelimit as throttle  # where the windows are counted

    app.config["REPORT_RATE_LIMIT"] = "1 per hour;2 per day"
    clock = [1_800_000_000.0]  # at the start of an hour and well inside a day
    monkeypatch.setattr(throttle.time, "time", lambda: clock[0])
    client = app.test_client()
    assert _file(client) == "receipt"
    for _ in range(3):
        assert _file(client) == "too many"
    clock[0] += 3600
    assert _file(client) == "receipt"
    assert _file(client) == "too many"  # the day is full
    with app.app_context():
        assert db.session.query(Report).count() == 2
