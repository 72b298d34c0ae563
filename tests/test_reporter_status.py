"""The status page at /status: a receipt typed in, the thread, answers, withdrawal, deletion."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import select

from incident_service import audit
from incident_service.cases.messaging import post_message, read_thread, reporter_private_key
from incident_service.constants import MessageAuthor, ReportStatus
from incident_service.crypto.receipts import format_receipt
from incident_service.models import AuditEntry, Message, Report, db, today
from incident_service.pipeline import dispatch
from tests.factories import submit
from tests.reporter_helpers import text_of

GENERIC_FAILURE = "No report was found for this number."


def english(client):
    """Pages in English, so that assertions can quote the English text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client(app):
    return english(app.test_client())


def _filed(app, **overrides):
    with app.app_context():
        result = submit(**overrides)
    return result.report_id, result.receipt


def _caseworker_says(app, report_id: str, text: str) -> None:
    with app.app_context():
        report = db.session.get(Report, report_id)
        post_message(report, author=MessageAuthor.CASEWORKER, text=text)
        db.session.commit()


def _errors(page: str) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]*)<', page)


def test_can_a_reporter_read_a_reply_with_only_the_receipt(app, client):
    report_id, receipt = _filed(app)
    _caseworker_says(app, report_id, "SYNTHETIC Are you still held? <i>reply</i>")
    response = client.post("/status", data={"receipt": format_receipt(receipt)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SYNTHETIC Are you still held? &lt;i&gt;reply&lt;/i&gt;" in page
    assert "Nobody has read it yet" in page


@pytest.mark.parametrize(
    "typed",
    [
        lambda r: r.replace("0", "٠").replace("1", "١"),  # Arabic-Indic digits
        lambda r: "-".join(r[i : i + 4] for i in range(0, 20, 4)),
        lambda r: f"  {r[:10]} {r[10:]}  ",
    ],
)
def test_is_the_receipt_accepted_as_people_type_it(app, client, typed):
    _report_id, receipt = _filed(app)
    response = client.post("/status", data={"receipt": typed(receipt)})
    assert 'id="status"' in response.get_data(as_text=True)


def test_does_every_wrong_receipt_get_the_same_answer(app, client):
    _report_id, receipt = _filed(app)
    wrong_digit = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    answers = set()
    for typed in [wrong_digit, "1234", "not a number at all", "", "9" * 200]:
        response = client.post("/status", data={"receipt": typed})
        page = response.get_data(as_text=True)
        assert 'id="status"' not in page
        answers.add((response.status_code, tuple(_errors(page))))
    assert len(answers) == 1
    (status, errors) = answers.pop()
    assert status == 200 and GENERIC_FAILURE in errors[0]


def test_is_a_receipt_in_the_url_ignored(app, client):
    _report_id, receipt = _filed(app)
    page = client.get(f"/status?receipt={receipt}").get_data(as_text=True)
    assert 'id="status"' not in page
    assert receipt not in page


def test_does_the_status_page_keep_the_receipt_only_in_hidden_fields_of_post_forms(app, client):
    _report_id, receipt = _filed(app)
    response = client.post("/status", data={"receipt": receipt})
    page = response.get_data(as_text=True)
    forms = re.findall(r"<form[^>]*>", page)
    assert forms and all('method="post"' in form for form in forms)
    assert all('autocomplete="off"' in form for form in forms)
    for href in re.findall(r'href="([^"]*)"', page):
        assert receipt not in href
    shown = [m.start() for m in re.finditer(receipt, page)]
    hidden = [m.start() for m in re.finditer(f'name="receipt" value="{receipt}"', page)]
    assert len(shown) == len(hidden) > 0
    # Not in the session cookie either (it is signed, not encrypted, so it could be read).
    for cookie in response.headers.getlist("Set-Cookie"):
        payload = cookie.split("=", 1)[1].split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert receipt.encode() not in decoded


def test_can_a_reporter_answer_and_the_case_team_read_it(app, client):
    report_id, receipt = _filed(app)
    response = client.post(
        "/status",
        data={"receipt": receipt, "action": "message", "text": "SYNTHETIC more: it was Tuesday"},
    )
    page = response.get_data(as_text=True)
    assert "Your message has been sent." in page
    assert "SYNTHETIC more: it was Tuesday" in page
    with app.app_context():
        report = db.session.get(Report, report_id)
        thread = read_thread(report, private_key=reporter_private_key(report, receipt))
        assert [(m.author, m.text) for m in thread] == [
            (MessageAuthor.REPORTER, "SYNTHETIC more: it was Tuesday")
        ]
        assert report.unread_for_caseworkers == 1
        # The entry joins the audit chain once the day is over, timed at its midnight.
        assert audit.fold_reporter_actions() == 0
        assert audit.fold_reporter_actions(before=today() + dt.timedelta(days=1)) == 1
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reporter.message")
        ).all()
        assert entry.object_id == report_id and entry.actor_id is None
        assert entry.at == dt.datetime.combine(today(), dt.time())
        assert "Tuesday" not in str(entry.detail)


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 5001])
def test_is_an_empty_or_overlong_answer_refused_with_nothing_stored(app, client, text):
    _report_id, receipt = _filed(app)
    response = client.post("/status", data={"receipt": receipt, "action": "message", "text": text})
    page = response.get_data(as_text=True)
    assert _errors(page)
    assert "Your message has been sent." not in page
    with app.app_context():
        assert db.session.query(Message).count() == 0


def test_can_a_reporter_withdraw_statistics_consent_and_is_the_worker_told(
    app, client, monkeypatch
):
    report_id, receipt = _filed(app)
    sent = []

    def spy(task_name, *args):
        with app.app_context():
            db.session.remove()
            committed = db.session.get(Report, report_id).consent_statistics
        sent.append((task_name, args, committed))
        return True

    monkeypatch.setattr(dispatch, "enqueue", spy)
    unconfirmed = client.post("/status", data={"receipt": receipt, "action": "withdraw"})
    assert _errors(unconfirmed.get_data(as_text=True))
    assert sent == []
    page = client.post(
        "/status", data={"receipt": receipt, "action": "withdraw", "confirm": "y"}
    ).get_data(as_text=True)
    assert "no longer be counted" in page
    assert "Stop counting my report" not in page
    assert sent == [(dispatch.TASK_PIPELINE_WITHDRAW, (report_id,), False)]
    with app.app_context():
        assert db.session.get(Report, report_id).consent_statistics is False


def test_is_withdrawing_twice_one_withdrawal(app, client, monkeypatch):
    _report_id, receipt = _filed(app)
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args: sent.append(name) or True)
    for _ in range(2):
        client.post("/status", data={"receipt": receipt, "action": "withdraw", "confirm": "y"})
    assert sent == [dispatch.TASK_PIPELINE_WITHDRAW]


def test_can_a_reporter_ask_for_deletion(app, client):
    report_id, receipt = _filed(app)
    page = client.post(
        "/status", data={"receipt": receipt, "action": "delete", "confirm": "y"}
    ).get_data(as_text=True)
    assert "The case team will delete your report." in page
    with app.app_context():
        assert db.session.get(Report, report_id).deletion_requested is True
    again = client.post("/status", data={"receipt": receipt}).get_data(as_text=True)
    assert "You have asked for your report to be deleted." in again
    assert "Ask to delete my report" not in again


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (ReportStatus.TRIAGED, "A caseworker has read your report."),
        (ReportStatus.REFERRED, "passed on to a lawyer"),
        (ReportStatus.SPAM, "Work on your report has finished."),
    ],
)
def test_is_the_status_told_in_plain_words(app, client, status, words):
    report_id, receipt = _filed(app)
    with app.app_context():
        db.session.get(Report, report_id).status = status.value
        db.session.commit()
    page = client.post("/status", data={"receipt": receipt}).get_data(as_text=True)
    assert words in text_of(page)
    assert status.value not in text_of(page)


def test_does_changing_language_on_the_status_page_keep_it_open(app, client):
    _report_id, receipt = _filed(app)
    page = client.post("/status", data={"receipt": receipt, "lang": "ru"}).get_data(as_text=True)
    assert 'id="status"' in page
    assert '<html lang="ru">' in page
    languages = re.search(r'<form class="langs"[^>]*>(.*?)</form>', page, re.S)
    assert languages and 'name="lang"' in languages.group(1)


def _throttled_app(tmp_path, backend):
    from tests.conftest import build_app

    return build_app(tmp_path, backend, RATELIMIT_STORAGE_URI="memory://")


@pytest.fixture
def throttled(tmp_path, backend):
    gen = _throttled_app(tmp_path, backend)
    app = next(gen)
    app.config["RECEIPT_ATTEMPT_LIMIT"] = "3 per minute"
    yield app
    gen.close()


def test_are_wrong_receipts_throttled(throttled):
    client = english(throttled.test_client())
    statuses = [client.post("/status", data={"receipt": "1" * 20}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    page = client.post("/status", data={"receipt": "1" * 20}).get_data(as_text=True)
    assert "Too many tries" in page


def test_are_right_receipts_never_throttled(throttled):
    _report_id, receipt = _filed(throttled)
    client = english(throttled.test_client())
    statuses = {client.post("/status", data={"receipt": receipt}).status_code for _ in range(8)}
    assert statuses == {200}


def test_do_the_page_and_the_api_share_one_count_of_wrong_receipts(throttled):
    client = english(throttled.test_client())
    for _ in range(3):
        client.post("/api/v1/status", json={"receipt": "2" * 20})
    assert client.post("/status", data={"receipt": "2" * 20}).status_code == 429


def test_is_the_throttle_keyed_per_address(throttled):
    first = throttled.test_client()
    second = throttled.test_client()
    for _ in range(3):
        first.post("/status", data={"receipt": "1" * 20}, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    blocked = first.post(
        "/status", data={"receipt": "1" * 20}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    )
    other = second.post(
        "/status", data={"receipt": "1" * 20}, environ_base={"REMOTE_ADDR": "192.0.2.2"}
    )
    assert (blocked.status_code, other.status_code) == (429, 200)


def test_is_a_status_action_refused_without_the_csrf_token(csrf_app):
    _report_id, receipt = _filed(csrf_app)
    client = csrf_app.test_client()
    client.get("/status")
    response = client.post("/status", data={"receipt": receipt, "action": "delete", "confirm": "y"})
    assert response.status_code == 400
    with csrf_app.app_context():
        assert db.session.query(Report).one().deletion_requested is False


def test_does_the_status_page_never_name_the_caseworker(app, client):
    from incident_service.models import User

    report_id, receipt = _filed(app)
    with app.app_context():
        report = db.session.get(Report, report_id)
        user = User(
            organisation_id=report.organisation_id,
            email="synthetic.caseworker@example.org",
            role="caseworker",
            password_hash="synthetic",
            totp_secret_sealed=b"synthetic",
        )
        db.session.add(user)
        db.session.flush()
        post_message(
            report, author=MessageAuthor.CASEWORKER, text="SYNTHETIC hello", author_user_id=user.id
        )
        db.session.commit()
    page = client.post("/status", data={"receipt": receipt}).get_data(as_text=True)
    assert "SYNTHETIC hello" in page
    assert "Case team" in text_of(page)
    assert "synthetic.caseworker" not in page
