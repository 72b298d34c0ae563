"""The status page at /status: a receipt typed in, the thread, answers, withdrawal, deletion.

Every POST answers 303 to GET /status. While the page is open its receipt is kept server-side,
sealed under a key in the session cookie (`intake.handoff`), so no page or form carries it."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import select

from incident_service import audit, ratelimit
from incident_service.cases.messaging import post_message, read_thread, reporter_private_key
from incident_service.constants import MessageAuthor, ReportStatus
from incident_service.crypto.receipts import format_receipt
from incident_service.models import AuditEntry, Message, Report, db, today
from incident_service.pipeline import dispatch
from tests.factories import submit
from tests.reporter_helpers import post_and_follow, text_of

GENERIC_FAILURE = "No report was found for this number."


def english(client):
    """Pages in English, so that assertions can quote the English text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client(app):
    return english(app.test_client())


def _filed(app, **overrides):
    """A report written in English: after a lookup the page follows the report's language
    (tests/test_reporter_status_truth.py), and these tests quote the English text."""
    overrides.setdefault("language", "en")
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


def _post(client, data):
    """POST to /status as a browser does, following the 303; returns the page's response."""
    return post_and_follow(client, "/status", data)


def test_can_a_reporter_read_a_reply_with_only_the_receipt(app, client):
    report_id, receipt = _filed(app)
    _caseworker_says(app, report_id, "SYNTHETIC Are you still held? <i>reply</i>")
    response = _post(client, {"receipt": format_receipt(receipt)})
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
    response = _post(client, {"receipt": typed(receipt)})
    assert 'id="status"' in response.get_data(as_text=True)


def test_does_every_wrong_receipt_get_the_same_answer(app, client):
    _report_id, receipt = _filed(app)
    wrong_digit = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    answers = set()
    for typed in [wrong_digit, "1234", "not a number at all", "", "9" * 200]:
        response = _post(client, {"receipt": typed})
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


def test_does_the_status_page_carry_the_receipt_nowhere(app, client):
    """Not in the page, its forms, its links, the redirect or the cookie: the open page's
    receipt waits server-side, sealed under the cookie's key."""
    _report_id, receipt = _filed(app)
    response = _post(client, {"receipt": format_receipt(receipt)})
    page = response.get_data(as_text=True)
    assert 'id="status"' in page
    forms = re.findall(r"<form[^>]*>", page)
    assert forms and all('method="post"' in form for form in forms)
    assert all('autocomplete="off"' in form for form in forms)
    assert receipt not in page and format_receipt(receipt) not in page
    assert 'name="receipt"' not in page
    assert response.history[0].headers["Location"] == "/status"
    # Not in the session cookie either (it is signed, not encrypted, so it could be read).
    for answer in (response.history[0], response):
        for cookie in answer.headers.getlist("Set-Cookie"):
            payload = cookie.split("=", 1)[1].split(".")[0]
            decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            assert receipt.encode() not in decoded


def test_does_the_open_page_act_without_the_receipt_and_survive_a_reload(app, client):
    report_id, receipt = _filed(app)
    _post(client, {"receipt": receipt})
    page = _post(client, {"action": "message", "text": "SYNTHETIC sent without the number"})
    assert "Your message has been sent." in page.get_data(as_text=True)
    reloaded = client.get("/status").get_data(as_text=True)
    assert "SYNTHETIC sent without the number" in reloaded
    assert "Your message has been sent." not in reloaded  # a notice is said once
    with app.app_context():
        assert db.session.query(Message).filter_by(report_id=report_id).count() == 1


def test_does_close_end_the_open_page(app, client):
    _report_id, receipt = _filed(app)
    _post(client, {"receipt": receipt})
    page = _post(client, {"action": "close"}).get_data(as_text=True)
    assert 'id="status"' not in page and 'name="receipt"' in page
    assert 'id="status"' not in client.get("/status").get_data(as_text=True)


def test_does_leaving_quickly_end_the_open_page(app, client):
    _report_id, receipt = _filed(app)
    _post(client, {"receipt": receipt})
    client.get("/exit")
    assert 'id="status"' not in client.get("/status").get_data(as_text=True)


def test_is_a_message_written_while_the_page_closed_kept(app, client):
    """Writing a long answer can outlast the open page: the text waits for the number."""
    _report_id, receipt = _filed(app)
    page = _post(client, {"action": "message", "text": "SYNTHETIC written slowly"})
    text = page.get_data(as_text=True)
    assert "Please type your number again." in text and 'name="receipt"' in text
    assert "SYNTHETIC written slowly" not in text  # not shown to whoever holds the phone
    mistyped = _post(client, {"receipt": "1" * 20}).get_data(as_text=True)
    assert GENERIC_FAILURE in mistyped
    opened = _post(client, {"receipt": receipt}).get_data(as_text=True)
    assert 'id="status"' in opened
    assert re.search(r"<textarea[^>]*>\nSYNTHETIC written slowly</textarea>", opened)
    with app.app_context():
        assert db.session.query(Message).count() == 0  # kept, not sent


def test_can_a_reporter_answer_and_the_case_team_read_it(app, client):
    report_id, receipt = _filed(app)
    response = _post(
        client, {"receipt": receipt, "action": "message", "text": "SYNTHETIC more: it was Tuesday"}
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
    response = _post(client, {"receipt": receipt, "action": "message", "text": text})
    page = response.get_data(as_text=True)
    assert _errors(page)
    assert response.history[0].headers["Location"] == "/status#field-text"
    assert 'id="field-text"' in page
    assert "Your message has been sent." not in page
    if text.strip():  # what was typed comes back, to be shortened
        assert f">\n{text}</textarea>" in page
    with app.app_context():
        assert db.session.query(Message).count() == 0


def test_is_a_long_message_kept_whole_with_the_limit_said_in_the_reporters_language(app, client):
    """The answer box had `maxlength="5000"`: a browser cut a longer pasted text without a word.
    It now says its limit beside the box, and a longer text comes back whole with its length."""
    _report_id, receipt = _filed(app, language="ru")
    long_text = ("SYNTHETIC ёжик " * 500)[:6_200]
    response = _post(client, {"receipt": receipt, "action": "message", "text": long_text})
    page = response.get_data(as_text=True)
    box = re.search(r'<textarea id="text"[^>]*>', page)
    assert box is not None and "maxlength" not in box.group(0)
    assert 'aria-describedby="text-limit"' in box.group(0)
    hint = re.search(r'<p class="hint" id="text-limit">([^<]*)<', page)
    assert hint is not None and "5\xa0000 знаков" in hint.group(1)
    assert _errors(page) == ["Здесь 6\xa0200 знаков, а помещается не более 5\xa0000."]
    assert f">\n{long_text}</textarea>" in page
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
    unconfirmed = _post(client, {"receipt": receipt, "action": "withdraw"})
    assert _errors(unconfirmed.get_data(as_text=True))
    assert sent == []
    page = _post(client, {"receipt": receipt, "action": "withdraw", "confirm": "y"}).get_data(
        as_text=True
    )
    assert "no longer be counted" in page
    assert "Stop counting my report" not in page
    # Committed first; the message names no report (dispatch.statistics_changed).
    assert sent == [(dispatch.TASK_PIPELINE_RECONCILE, (), False)]
    with app.app_context():
        assert db.session.get(Report, report_id).consent_statistics is False


def test_is_withdrawing_twice_one_withdrawal(app, client, monkeypatch):
    _report_id, receipt = _filed(app)
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args: sent.append(name) or True)
    for _ in range(2):
        _post(client, {"receipt": receipt, "action": "withdraw", "confirm": "y"})
    assert sent == [dispatch.TASK_PIPELINE_RECONCILE]


def test_can_a_reporter_ask_for_deletion(app, client):
    report_id, receipt = _filed(app)
    page = _post(client, {"receipt": receipt, "action": "delete", "confirm": "y"}).get_data(
        as_text=True
    )
    assert "The case team will delete your report." in page
    with app.app_context():
        assert db.session.get(Report, report_id).deletion_requested is True
    again = _post(client, {"receipt": receipt}).get_data(as_text=True)
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
    page = _post(client, {"receipt": receipt}).get_data(as_text=True)
    assert words in text_of(page)
    assert status.value not in text_of(page)


def test_does_changing_language_on_the_status_page_keep_it_open(app, client):
    _report_id, receipt = _filed(app)
    page = _post(client, {"receipt": receipt}).get_data(as_text=True)
    languages = re.search(r'<nav class="langs">(.*?)</nav>', page, re.S)
    assert languages and 'href="?lang=ru"' in languages.group(1)
    page = client.get("/status?lang=ru").get_data(as_text=True)
    assert 'id="status"' in page
    assert '<html lang="ru">' in page


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


def _refusal(page) -> str:
    return " ".join(_errors(page.get_data(as_text=True)))


def test_are_wrong_receipts_throttled(throttled):
    client = english(throttled.test_client())
    refusals = [_refusal(_post(client, {"receipt": "1" * 20})) for _ in range(4)]
    assert [GENERIC_FAILURE in r for r in refusals] == [True, True, True, False]
    assert "Too many tries" in refusals[3]
    page = _post(client, {"receipt": "1" * 20}).get_data(as_text=True)
    assert "Too many tries" in page


def test_are_right_receipts_never_throttled(throttled):
    _report_id, receipt = _filed(throttled)
    client = english(throttled.test_client())
    pages = [_post(client, {"receipt": receipt}).get_data(as_text=True) for _ in range(8)]
    assert all('id="status"' in page for page in pages)


def test_do_the_page_and_the_api_share_one_count_of_wrong_receipts(throttled):
    client = english(throttled.test_client())
    for _ in range(3):
        client.post("/api/v1/status", json={"receipt": "2" * 20})
    assert "Too many tries" in _refusal(_post(client, {"receipt": "2" * 20}))


def test_is_the_throttle_keyed_per_address(throttled):
    first = throttled.test_client()
    second = throttled.test_client()
    first.environ_base.update(REMOTE_ADDR="192.0.2.1", HTTP_ACCEPT_LANGUAGE="en")
    second.environ_base.update(REMOTE_ADDR="192.0.2.2", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(3):
        _post(first, {"receipt": "1" * 20})
    blocked = _refusal(_post(first, {"receipt": "1" * 20}))
    other = _refusal(_post(second, {"receipt": "1" * 20}))
    assert "Too many tries" in blocked and GENERIC_FAILURE in other


def test_is_a_status_action_refused_without_the_csrf_token(csrf_app):
    _report_id, receipt = _filed(csrf_app)
    client = english(csrf_app.test_client())
    client.get("/status")
    response = _post(client, {"receipt": receipt, "action": "delete", "confirm": "y"})
    page = response.get_data(as_text=True)
    assert "This page has expired and nothing was sent." in page
    assert receipt not in page and 'id="status"' not in page
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
    page = _post(client, {"receipt": receipt}).get_data(as_text=True)
    assert "SYNTHETIC hello" in page
    assert "Case team" in text_of(page)
    assert "synthetic.caseworker" not in page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_does_the_status_page_work_when_redis_is_down(app, client, monkeypatch):
    """The handoff store unreachable: each POST shows its page itself, whose forms carry the
    receipt in a hidden field, so the reporter can still read and answer."""
    report_id, receipt = _filed(app)
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(ratelimit, "_clients", {})
    opened = client.post("/status", data={"receipt": receipt})
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200 and 'id="status"' in page
    assert f'name="receipt" value="{receipt}"' in page
    assert "also close the browser" in page
    answered = client.post(
        "/status", data={"receipt": receipt, "action": "message", "text": "SYNTHETIC still here"}
    )
    assert "Your message has been sent." in answered.get_data(as_text=True)
    wrong = client.post("/status", data={"receipt": "1" * 20})
    assert GENERIC_FAILURE in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Message).filter_by(report_id=report_id).count() == 1
