"""The JSON API for partner apps: filing, problem details, idempotency, and what a receipt opens."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_service.cases.messaging import post_message
from incident_service.constants import MessageAuthor
from incident_service.intake import validation
from incident_service.intake.submission import MAX_NARRATIVE
from incident_service.models import Report, db
from incident_service.pipeline import dispatch
from tests.factories import report_payload
from tests.reporter_helpers import open_private_section, report_count

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["type"] and body["title"]
    return body


def test_does_a_valid_report_get_201_and_a_receipt(app, client):
    response = client.post("/api/v1/reports", json=report_payload())
    assert response.status_code == 201
    receipt = response.get_json()["receipt"]
    assert len(receipt) == 20 and receipt.isdigit()
    assert report_count(app) == 1


def test_is_a_narrative_with_any_script_stored_exactly(app, client):
    narrative = "<img src=x onerror=alert(1)> ☪ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u202e reversed \n\t end"
    response = client.post("/api/v1/reports", json=report_payload(narrative=narrative))
    assert response.status_code == 201
    with app.app_context():
        report_id = db.session.query(Report).one().id
    assert open_private_section(app, report_id)["narrative"] == narrative


def test_does_a_bad_report_name_every_bad_field(app, client):
    body = report_payload(
        acts=["DET.01", "NOPE"],
        incident_date="2023-02-30",
        people={"group_size": -3, "citizenship": "TJK"},
        coercion={"payment_offered_rub": 1.5},
        consent={"statistics": "yes"},
        surprise=1,
    )
    problem = _problem(client.post("/api/v1/reports", json=body), 422)
    fields = {error["field"]: error for error in problem["errors"]}
    assert set(fields) == {
        "acts",
        "incident_date",
        "people.group_size",
        "people.citizenship",
        "coercion.payment_offered_rub",
        "consent.statistics",
        "surprise",
    }
    assert fields["people.group_size"]["pointer"] == "#/people/group_size"
    assert all(error["detail"] for error in problem["errors"])
    assert report_count(app) == 0


def test_are_problem_details_in_the_language_asked_for(client):
    english = _problem(client.post("/api/v1/reports?lang=en", json={}), 422)
    russian = _problem(client.post("/api/v1/reports?lang=ru", json={}), 422)
    assert english["title"] != russian["title"]
    assert english["errors"][0]["detail"] != russian["errors"][0]["detail"]
    by_header = _problem(
        client.post("/api/v1/reports", json={}, headers={"Accept-Language": "ru"}), 422
    )
    assert by_header["title"] == russian["title"]


def test_does_the_reports_own_language_choose_the_language_of_its_errors(client):
    """A bot names the reporter's language in the report; its users must read errors in it."""
    tajik = _problem(client.post("/api/v1/reports?lang=tg", json={}), 422)
    english = _problem(client.post("/api/v1/reports?lang=en", json={}), 422)
    by_body = _problem(
        client.post("/api/v1/reports", json={"language": "tg"}, headers={"Accept-Language": "en"}),
        422,
    )
    assert by_body["title"] == tajik["title"] != english["title"]
    # `?lang=` still wins, and an unknown language in the body changes nothing.
    overridden = _problem(client.post("/api/v1/reports?lang=en", json={"language": "tg"}), 422)
    assert overridden["title"] == english["title"]
    unknown = _problem(
        client.post("/api/v1/reports", json={"language": "xx"}, headers={"Accept-Language": "en"}),
        422,
    )
    assert unknown["title"] == english["title"]
    replied = client.post("/api/v1/reports", json={"language": "tg"})
    assert "Set-Cookie" not in replied.headers


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "acts=DET.01"),
        ("multipart/form-data; boundary=x", "--x--"),
        (None, ""),
    ],
)
def test_is_anything_but_json_refused_with_415(app, client, content_type, data):
    headers = {"Content-Type": content_type} if content_type else {}
    _problem(client.post("/api/v1/reports", data=data, headers=headers), 415)
    assert report_count(app) == 0


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"{'acts': []}", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b"1" * 5000],
)
def test_is_malformed_json_refused_with_400(app, client, raw):
    response = client.post("/api/v1/reports", data=raw, content_type="application/json")
    _problem(response, 400)
    assert report_count(app) == 0


@pytest.mark.parametrize("body", [[], "text", 3, None, [report_payload()]])
def test_is_a_body_that_is_not_an_object_refused_with_422(app, client, body):
    response = client.post(
        "/api/v1/reports", data=json.dumps(body), content_type="application/json"
    )
    _problem(response, 422)
    assert report_count(app) == 0


def test_is_an_oversize_body_refused_with_413_and_nothing_stored(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = report_payload(narrative="x" * limit)
    _problem(client.post("/api/v1/reports", json=body), 413)
    assert report_count(app) == 0


def test_is_text_with_a_lone_surrogate_refused_not_crashed(app, client):
    raw = json.dumps(report_payload(narrative="ok")).replace('"ok"', '"\\ud800"')
    response = client.post("/api/v1/reports", data=raw, content_type="application/json")
    problem = _problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["narrative"]


def test_does_the_same_idempotency_key_and_report_give_the_same_receipt(app, client):
    headers = {"Idempotency-Key": "bot-chat-17-message-4"}
    first = client.post("/api/v1/reports", json=report_payload(), headers=headers)
    second = client.post("/api/v1/reports", json=report_payload(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["receipt"] == second.get_json()["receipt"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert report_count(app) == 1


def test_does_a_guessable_idempotency_key_never_hand_out_another_reporters_receipt(app, client):
    headers = {"Idempotency-Key": "1"}
    mine = client.post("/api/v1/reports", json=report_payload(), headers=headers)
    theirs = client.post(
        "/api/v1/reports", json=report_payload(narrative="SYNTHETIC someone else"), headers=headers
    )
    assert mine.get_json()["receipt"] != theirs.get_json()["receipt"]
    assert report_count(app) == 2


def test_do_two_reports_without_a_key_file_two_reports(app, client):
    client.post("/api/v1/reports", json=report_payload())
    client.post("/api/v1/reports", json=report_payload())
    assert report_count(app) == 2


@pytest.mark.parametrize("key", ["x" * 256, "tab\there"])
def test_is_a_malformed_idempotency_key_refused(app, client, key):
    response = client.post(
        "/api/v1/reports", json=report_payload(), headers={"Idempotency-Key": key}
    )
    _problem(response, 400)
    assert report_count(app) == 0


def test_is_the_pipeline_nudged_after_an_api_report_is_committed(app, client, monkeypatch):
    seen = []

    def spy(task_name, *args):
        with app.app_context():
            db.session.remove()
            seen.append((task_name, report_count(app)))
        return True

    monkeypatch.setattr(dispatch, "enqueue", spy)
    monkeypatch.setattr(dispatch, "_last_nudge", 0.0)
    assert client.post("/api/v1/reports", json=report_payload()).status_code == 201
    assert seen == [(dispatch.TASK_PIPELINE_NUDGE, 1)]


def test_does_an_unknown_api_address_get_problem_details(client):
    _problem(client.get("/api/v1/no-such-thing"), 404)


def test_does_a_wrong_method_get_405_with_the_allowed_ones(client):
    response = client.get("/api/v1/reports")
    _problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_does_the_taxonomy_list_every_code_with_labels_in_the_language_asked(client):
    tajik = client.get("/api/v1/taxonomy?lang=tg").get_json()
    english = client.get("/api/v1/taxonomy?lang=en").get_json()
    assert tajik["language"] == "tg" and english["language"] == "en"
    acts = {term["code"]: term for term in english["vocabularies"]["acts"]}
    assert acts["BRD.03"]["label"] == "Fingerprints taken by force"
    assert acts["BRD.03"]["parent"] == "BRD"
    from incident_service import taxonomy

    for name in ("acts", "regions", "airports", "outcomes", "citizenships"):
        assert [t["code"] for t in english["vocabularies"][name]] == (
            taxonomy.VOCABULARIES[name].codes()
        )
    assert english["limits"]["max_narrative"] == MAX_NARRATIVE


# --------------------------------------------------------------------------------------------
# What a receipt opens through the API


def _file(client) -> str:
    return client.post("/api/v1/reports", json=report_payload()).get_json()["receipt"]


def test_can_a_partner_app_read_the_status_and_thread_with_the_receipt(app, client):
    receipt = _file(client)
    with app.app_context():
        report = db.session.query(Report).one()
        post_message(report, author=MessageAuthor.CASEWORKER, text="SYNTHETIC question")
        db.session.commit()
    response = client.post("/api/v1/status", json={"receipt": receipt})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "new" and body["status_text"]
    assert body["messages"] == [
        {"author": "caseworker", "sent_on": body["received_on"], "text": "SYNTHETIC question"}
    ]


def test_does_every_wrong_receipt_get_one_answer_from_the_api(app, client):
    receipt = _file(client)
    wrong = receipt[:-1] + str((int(receipt[-1]) + 1) % 10)
    answers = []
    for body in ({"receipt": wrong}, {"receipt": "12"}, {"receipt": 5}, {}, []):
        response = client.post("/api/v1/status", json=body)
        answers.append(json.dumps(_problem(response, 404), sort_keys=True))
    assert len(set(answers)) == 1


def test_can_a_partner_app_send_a_message_withdraw_and_ask_for_deletion(app, client, monkeypatch):
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args: sent.append((name, args)) or True)
    receipt = _file(client)
    sent.clear()
    message = client.post("/api/v1/messages", json={"receipt": receipt, "text": "SYNTHETIC more"})
    assert message.status_code == 201
    assert message.get_json()["messages"][-1]["text"] == "SYNTHETIC more"
    _problem(client.post("/api/v1/messages", json={"receipt": receipt, "text": " "}), 422)
    withdrawn = client.post("/api/v1/consent/withdraw", json={"receipt": receipt})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["consent_statistics"] is False
    deletion = client.post("/api/v1/deletion-request", json={"receipt": receipt})
    assert deletion.status_code == 202 and deletion.get_json()["deletion_requested"] is True
    with app.app_context():
        report = db.session.query(Report).one()
        assert (report.consent_statistics, report.deletion_requested) == (False, True)
        # One reconciliation for the consent, one for the deletion request; neither names the
        # report, so no message in Redis ties it to the moment the reporter acted.
        assert sent == [(dispatch.TASK_PIPELINE_RECONCILE, ())] * 2


# --------------------------------------------------------------------------------------------
# Fuzzing the report body: never a 500, never anything stored on rejection

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [*sorted(validation._TOP_LEVEL_FIELDS), "people.group_size", "people.citizenship"]


@st.composite
def mutated_reports(draw):
    body = report_payload()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        field = draw(st.sampled_from(FIELDS))
        value = draw(JSON_VALUES)
        if "." in field:
            outer, inner = field.split(".")
            if isinstance(body.get(outer), dict):
                body[outer][inner] = value
        elif draw(st.booleans()):
            body[field] = value
        else:
            body.pop(field, None)
    return body


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.one_of(JSON_VALUES, mutated_reports()))
def test_does_any_json_body_get_an_answer_and_never_a_half_stored_report(app, client, body):
    before = report_count(app)
    response = client.post(
        "/api/v1/reports", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (201, 422), response.get_data(as_text=True)
    after = report_count(app)
    if response.status_code == 201:
        assert after == before + 1
    else:
        assert after == before
        assert response.mimetype == PROBLEM
        assert response.get_json(force=True)["errors"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.binary(max_size=200))
def test_does_any_byte_string_get_a_clean_answer(app, client, raw):
    response = client.post("/api/v1/reports", data=raw, content_type="application/json")
    assert response.status_code in (201, 400, 422)
    if response.status_code != 201:
        assert response.mimetype == PROBLEM
