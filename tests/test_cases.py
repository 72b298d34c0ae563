"""The caseworker's workspace: queue order and filters, opening reports, the workflow and what it
sends to the pipeline, notes, interventions, replies, events, and the boundaries between
organisations and between unlocked and locked sessions."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select, text

from incident_service.auth import teams
from incident_service.cases import messaging, queue
from incident_service.constants import MessageAuthor, ReportStatus, Role
from incident_service.models import (
    AuditEntry,
    CaseNote,
    Event,
    Intervention,
    Message,
    Report,
    db,
)
from incident_service.pipeline import dispatch
from tests.factories import submit
from tests.staff import case_priority, login, make_staff

CASE_LINK = re.compile(r'href="/cases/([0-9a-f]{32})(?:\?[^"]*)?"')


@pytest.fixture
def desk(app):
    """A logged-in, unlocked caseworker's client and their account."""
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    return client, worker


def _queue_ids(client, query=""):
    page = client.get(f"/cases/{query}")
    assert page.status_code == 200
    return CASE_LINK.findall(page.get_data(as_text=True))


def _audit(app, action):
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


# --------------------------------------------------------------------------------------------
# Queue


def test_does_the_queue_put_detained_people_first_then_children_then_violence_then_newest(
    app, desk
):
    """The issue's order: still detained, children involved, violence, then newest first.
    Each report is newer than the one that must come before it, so only urgency can order them."""
    client, _ = desk
    with app.app_context():
        old_plain = submit(received_on=dt.date(2024, 5, 1)).report_id
        new_plain = submit(received_on=dt.date(2024, 5, 20)).report_id
        violence = submit(
            received_on=dt.date(2024, 5, 10), acts=["VIO.01"], perpetrators=["POL"]
        ).report_id
        children = submit(
            received_on=dt.date(2024, 5, 2), people={"children_involved": True}
        ).report_id
        children_and_violence = submit(
            received_on=dt.date(2024, 4, 1),
            acts=["VIO.01"],
            perpetrators=["POL"],
            people={"children_involved": True},
        ).report_id
        detained = submit(received_on=dt.date(2024, 1, 1), outcome="DET").report_id
    assert _queue_ids(client) == [
        detained,
        children,
        children_and_violence,
        violence,
        new_plain,
        old_plain,
    ]
    page = client.get("/cases/").get_data(as_text=True)
    for label in ("Urgent (someone still detained)", "Very high (children involved)"):
        assert label in page


def test_does_the_queue_show_fifty_rows_a_page(app, desk):
    client, _ = desk
    with app.app_context():
        made = {submit(narrative=f"SYNTHETIC report {n}").report_id for n in range(53)}
    first = _queue_ids(client)
    second = _queue_ids(client, "?page=2")
    assert len(first) == queue.PAGE_SIZE
    assert len(second) == 3
    assert set(first) | set(second) == made
    page = client.get("/cases/").get_data(as_text=True)
    assert "page=2" in page


def test_does_the_queue_say_how_many_cases_wait_and_offer_mine_and_unassigned(app, desk):
    """Counts per status and the two views a caseworker starts the day with, above the table;
    each row names its act groups as short tags."""
    client, worker = desk
    with app.app_context():
        mine = submit(acts=["DET.01"], perpetrators=["POL"], location_type="WRK", airport=None)
        nobody = submit()
        closed = submit()
        db.session.get_one(Report, mine.report_id).assignee_id = worker.user_id
        db.session.get_one(Report, closed.report_id).status = ReportStatus.CLOSED.value
        db.session.commit()
    html = client.get("/cases/").get_data(as_text=True)
    views = re.search(r'<nav class="views".*?</nav>', html, re.S).group(0)
    counts = re.findall(r'<span class="count">(\d+)</span>', views)
    assert counts == ["2", "1", "1"]  # open, mine, unassigned
    assert 'href="/cases/?assignee=me"' in views and 'href="/cases/?assignee=none"' in views
    assert re.search(r'href="/cases/\?status=closed">[^<]* 1</a>', html)
    assert _queue_ids(client, "?assignee=me") == [mine.report_id]
    assert _queue_ids(client, "?assignee=none") == [nobody.report_id]
    assert 'class="tag"' in html and 'href="#cases"' in html


def test_do_the_queue_filters_narrow_by_status_priority_group_region_assignee_day_and_replies(
    app, desk
):
    client, worker = desk
    with app.app_context():
        airport = submit(received_on=dt.date(2024, 5, 14)).report_id  # BRD, RU-SPE
        raid = submit(
            acts=["DET.01"],
            perpetrators=["POL", "VIG"],
            location_type="WRK",
            region="RU-MOW",
            airport=None,
            received_on=dt.date(2024, 5, 15),
        ).report_id
        detained = submit(outcome="DET", received_on=dt.date(2024, 5, 16)).report_id
        closed = submit().report_id
        report = db.session.get_one(Report, closed)
        report.status = ReportStatus.CLOSED.value
        db.session.get_one(Report, raid).assignee_id = worker.user_id
        messaging.post_message(
            db.session.get_one(Report, airport), author=MessageAuthor.REPORTER, text="hello"
        )
        db.session.commit()
    assert set(_queue_ids(client)) == {airport, raid, detained}
    assert _queue_ids(client, "?status=closed") == [closed]
    assert set(_queue_ids(client, "?status=all")) == {airport, raid, detained, closed}
    assert _queue_ids(client, "?priority=4") == [detained]
    assert _queue_ids(client, "?act_group=DET") == [raid]
    assert set(_queue_ids(client, "?act_group=BRD")) == {airport, detained}
    assert _queue_ids(client, "?region=RU-MOW") == [raid]
    assert _queue_ids(client, "?assignee=me") == [raid]
    assert _queue_ids(client, f"?assignee={worker.user_id}") == [raid]
    assert set(_queue_ids(client, "?assignee=none")) == {airport, detained}
    assert _queue_ids(client, "?received=2024-05-15") == [raid]
    assert _queue_ids(client, "?unread=1") == [airport]
    # Unknown filter values are ignored rather than failing.
    assert set(_queue_ids(client, "?status=bogus&region=XX&priority=9&received=x")) == {
        airport,
        raid,
        detained,
    }


def test_does_the_queue_show_coded_summaries_and_unread_replies_until_the_case_is_opened(app, desk):
    client, _ = desk
    with app.app_context():
        result = submit(outcome="DET")
        report = db.session.get_one(Report, result.report_id)
        messaging.post_message(report, author=MessageAuthor.REPORTER, text="any news?")
        messaging.post_message(report, author=MessageAuthor.REPORTER, text="please")
        db.session.commit()
    page = client.get("/cases/").get_data(as_text=True)
    assert "still detained" in page
    assert "Pulkovo" in page or "Пулково" in page
    assert "2 unread replies" in page
    client.get(f"/cases/{result.report_id}")
    page = client.get("/cases/").get_data(as_text=True)
    assert "unread repl" not in page
    with app.app_context():
        assert all(m.read for m in db.session.scalars(select(Message)))


def test_is_each_queue_page_view_audited_with_the_reports_it_showed(app, desk):
    client, _ = desk
    with app.app_context():
        shown = submit().report_id
    client.get("/cases/")
    (entry,) = _audit(app, "queue.view")
    assert json.loads(entry.detail)["reports"] == [shown]


# --------------------------------------------------------------------------------------------
# Opening a report


def test_does_the_case_page_show_the_decrypted_report_and_record_the_opening(app, desk):
    client, worker = desk
    with app.app_context():
        result = submit(
            narrative="SYNTHETIC we were held for three hours",
            contact={"channel": "PHONE", "value": "+7 900 000-00-00"},
        )
    page = client.get(f"/cases/{result.report_id}").get_data(as_text=True)
    assert "we were held for three hours" in page
    assert "+7 900 000-00-00" in page
    assert "BRD.02" in page
    (entry,) = _audit(app, "report.open")
    assert entry.actor_id == worker.user_id and entry.object_id == result.report_id


PREV_NEXT = re.compile(r'<a rel="(prev|next)" href="/cases/([0-9a-f]{32})\?assignee=none"')


def test_can_a_caseworker_go_from_case_to_case_in_the_queue_view_they_opened(app, desk):
    """From the "Unassigned" view: each case links to the one before and after it in that view
    (an assigned case in between is skipped), the last has no next, and the links keep the view.
    A case that left the view says so instead of guessing its neighbours."""
    client, worker = desk
    with app.app_context():
        detained = submit(received_on=dt.date(2024, 1, 1), outcome="DET").report_id
        taken = submit(received_on=dt.date(2024, 5, 3), outcome="DET").report_id
        newer = submit(received_on=dt.date(2024, 5, 2)).report_id
        older = submit(received_on=dt.date(2024, 5, 1)).report_id
        db.session.get_one(Report, taken).assignee_id = worker.user_id
        db.session.commit()
    queue_page = client.get("/cases/?assignee=none").get_data(as_text=True)
    assert f'href="/cases/{detained}?assignee=none"' in queue_page

    def around(report_id):
        html = client.get(f"/cases/{report_id}?assignee=none").get_data(as_text=True)
        assert 'href="/cases/?assignee=none"' in html  # back to the same view
        return dict((rel, target) for rel, target in PREV_NEXT.findall(html))

    assert around(detained) == {"next": newer}
    assert around(newer) == {"prev": detained, "next": older}
    assert around(older) == {"prev": newer}
    left = client.get(f"/cases/{taken}?assignee=none").get_data(as_text=True)
    assert "This case is no longer in that view of the queue." in left
    assert not PREV_NEXT.findall(left)
    # A change on the case page keeps the view: its form posts carry it and the page after
    # the redirect still walks "Unassigned".
    html = client.get(f"/cases/{newer}?assignee=none").get_data(as_text=True)
    assert f'action="/cases/{newer}/notes?assignee=none"' in html
    posted = client.post(
        f"/cases/{newer}/notes?assignee=none", data={"text": "SYNTHETIC note on the way"}
    )
    assert posted.status_code == 303
    assert posted.headers["Location"] == f"/cases/{newer}?assignee=none#notes"
    assert around(newer) == {"prev": detained, "next": older}
    # Without a view, the case walks the open queue, where the assigned one comes first (still
    # detained, and newer than the other).
    plain = client.get(f"/cases/{taken}").get_data(as_text=True)
    assert 'rel="prev"' not in plain
    assert f'rel="next" href="/cases/{detained}"' in plain


def test_is_html_and_script_in_a_report_shown_as_text(app, desk):
    client, _ = desk
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with app.app_context():
        result = submit(narrative=payload, place_text=payload)
        report = db.session.get_one(Report, result.report_id)
        messaging.post_message(report, author=MessageAuthor.REPORTER, text=payload)
        db.session.commit()
    client.post(f"/cases/{result.report_id}/notes", data={"text": payload})
    page = client.get(f"/cases/{result.report_id}").get_data(as_text=True)
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 4


@pytest.mark.parametrize(
    "guess", ["0" * 32, "f" * 32, "not-an-id", "1' OR '1'='1", "%2e%2e%2fadmin", "A" * 32]
)
def test_does_a_guessed_report_id_give_404(app, desk, guess):
    client, _ = desk
    with app.app_context():
        submit()
    assert client.get(f"/cases/{guess}").status_code == 404
    assert client.post(f"/cases/{guess}/status", data={"status": "triaged"}).status_code == 404


def test_is_a_report_of_another_organisation_404_everywhere(app, desk):
    client, _ = desk
    with app.app_context():
        elsewhere = teams.ensure_organisation(slug="other-ngo", name="Other NGO")
        db.session.commit()
        from incident_service.intake.storage import submit_report
        from incident_service.intake.validation import parse_report
        from tests.factories import report_payload

        foreign = submit_report(
            parse_report(report_payload(narrative="SYNTHETIC other org")), organisation=elsewhere
        ).report_id
    assert foreign not in _queue_ids(client, "?status=all")
    for method, path in [
        ("get", f"/cases/{foreign}"),
        ("get", f"/cases/{foreign}/export"),
        ("post", f"/cases/{foreign}/status"),
        ("post", f"/cases/{foreign}/details"),
        ("post", f"/cases/{foreign}/notes"),
        ("post", f"/cases/{foreign}/interventions"),
        ("post", f"/cases/{foreign}/messages"),
        ("post", f"/cases/{foreign}/event/new"),
    ]:
        assert getattr(client, method)(path, data={"status": "spam"}).status_code == 404, path
    with app.app_context():
        assert db.session.get_one(Report, foreign).status == ReportStatus.NEW.value


def test_does_a_locked_session_see_a_page_asking_to_unlock_and_never_ciphertext(app):
    with app.app_context():
        worker = make_staff(role=Role.CASEWORKER)
        result = submit(narrative="SYNTHETIC locked narrative")
    client = app.test_client()
    login(client, worker, unlock=False)
    for path in ["/cases/", f"/cases/{result.report_id}", "/cases/events"]:
        page = client.get(path)
        body = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert "Your key is locked" in body
        assert 'href="/unlock?next=' in body
        assert "locked narrative" not in body and "ISE1" not in body
    assert not _audit(app, "report.open")
    blind = client.post(f"/cases/{result.report_id}/status", data={"status": "spam"})
    assert blind.status_code == 200 and "Your key is locked" in blind.get_data(as_text=True)
    with app.app_context():
        assert db.session.get_one(Report, result.report_id).status == "new"


def test_can_a_caseworker_without_the_team_key_open_no_report_until_a_supervisor_grants_it(app):
    with app.app_context():
        newcomer = make_staff(role=Role.CASEWORKER, grant=False)
        supervisor = make_staff(role=Role.SUPERVISOR)
        result = submit(narrative="SYNTHETIC needs the team key")
    client = app.test_client()
    login(client, newcomer)
    refused = client.get(f"/cases/{result.report_id}")
    assert refused.status_code == 403
    assert "not been granted" in refused.get_data(as_text=True)
    assert "needs the team key" not in refused.get_data(as_text=True)
    assert client.post(f"/cases/team/{newcomer.user_id}/grant").status_code == 403
    # Nor can they handle it blind: every case action needs the team key too.
    assert (
        client.post(f"/cases/{result.report_id}/status", data={"status": "spam"}).status_code == 403
    )
    assert (
        client.post(f"/cases/{result.report_id}/messages", data={"text": "hi"}).status_code == 403
    )
    with app.app_context():
        assert db.session.get_one(Report, result.report_id).status == "new"
        assert not list(db.session.scalars(select(Message)))
    boss = app.test_client()
    login(boss, supervisor)
    team_page = boss.get("/cases/team").get_data(as_text=True)
    assert newcomer.email in team_page and "not granted" in team_page
    # The newcomer reads out the fingerprint their setup showed; the supervisor types it.
    grant_url = f"/cases/team/{newcomer.user_id}/grant"
    assert boss.post(grant_url, data={"fingerprint": newcomer.fingerprint}).status_code == 303
    (grant,) = _audit(app, "key.grant")
    assert grant.actor_id == supervisor.user_id and grant.object_id == str(newcomer.user_id)
    # Picked up without unlocking again.
    opened = client.get(f"/cases/{result.report_id}")
    assert opened.status_code == 200
    assert "needs the team key" in opened.get_data(as_text=True)


def test_can_a_supervisor_not_grant_the_key_to_someone_of_another_organisation(app):
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
        outsider = make_staff(role=Role.CASEWORKER, organisation="other-ngo", grant=False)
    boss = app.test_client()
    login(boss, supervisor)
    assert boss.post(f"/cases/team/{outsider.user_id}/grant").status_code == 404
    assert boss.post("/cases/team/999999/grant").status_code == 404


# --------------------------------------------------------------------------------------------
# Workflow


@pytest.fixture
def enqueued(monkeypatch, app):
    """Record pipeline tasks and what the database said when each was sent."""
    sent = []

    def fake_enqueue(task_name, *args):
        if task_name == dispatch.TASK_PIPELINE_NUDGE:
            return True  # intake's nudge, not the workflow's concern here
        engine = db.engine
        with engine.connect() as connection:  # a separate connection sees only committed rows
            status = connection.execute(
                text("SELECT status FROM reports WHERE id = :id"), {"id": args[0]}
            ).scalar_one()
        sent.append((task_name, args, status))
        return True

    monkeypatch.setattr(dispatch, "enqueue", fake_enqueue)
    return sent


def test_does_the_workflow_move_forward_and_refuse_impossible_steps(app, desk):
    client, _ = desk
    with app.app_context():
        report_id = submit().report_id
    assert client.post(f"/cases/{report_id}/status", data={"status": "triaged"}).status_code == 303
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        assert report.status == "triaged" and report.triaged_on is not None
    client.post(f"/cases/{report_id}/status", data={"status": "referred"})
    client.post(f"/cases/{report_id}/status", data={"status": "closed"})
    back = client.post(f"/cases/{report_id}/status", data={"status": "new"})
    assert back.status_code == 303
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        assert report.status == "closed" and report.closed_on is not None
        assert report.referred_on is not None
    client.post(f"/cases/{report_id}/status", data={"status": "in_progress"})
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        assert report.status == "in_progress" and report.closed_on is None
    changes = [json.loads(entry.detail) for entry in _audit(app, "report.status")]
    assert changes == [
        {"from": "new", "to": "triaged"},
        {"from": "triaged", "to": "referred"},
        {"from": "referred", "to": "closed"},
        {"from": "closed", "to": "in_progress"},
    ]


def test_does_marking_spam_withdraw_the_statistics_after_commit_and_marking_valid_restore_them(
    app, desk, enqueued
):
    client, _ = desk
    with app.app_context():
        report_id = submit().report_id
    client.post(f"/cases/{report_id}/status", data={"status": "triaged"})
    assert enqueued == []
    client.post(f"/cases/{report_id}/status", data={"status": "spam"})
    client.post(f"/cases/{report_id}/status", data={"status": "duplicate"})
    client.post(f"/cases/{report_id}/status", data={"status": "triaged"})
    assert enqueued == [
        (dispatch.TASK_PIPELINE_WITHDRAW, (report_id,), "spam"),
        (dispatch.TASK_PIPELINE_RESTORE, (report_id,), "triaged"),
    ]


def test_is_spam_refused_a_jump_straight_to_closed(app, desk, enqueued):
    client, _ = desk
    with app.app_context():
        report_id = submit().report_id
    client.post(f"/cases/{report_id}/status", data={"status": "duplicate"})
    client.post(f"/cases/{report_id}/status", data={"status": "closed"})
    with app.app_context():
        assert db.session.get_one(Report, report_id).status == "duplicate"
    assert [task for task, _, _ in enqueued] == [dispatch.TASK_PIPELINE_WITHDRAW]


def test_are_priority_assignee_labels_and_verification_saved_and_bad_labels_refused(app, desk):
    client, worker = desk
    with app.app_context():
        report_id = submit().report_id
    response = client.post(
        f"/cases/{report_id}/details",
        data={
            "priority": "3",
            "assignee": str(worker.user_id),
            "labels": "Lawyer needed,  airport , lawyer needed",
            "verification": "2",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        report = db.session.get_one(Report, report_id)
        assert (case_priority(report_id), report.assignee_id, report.verification) == (
            3,
            worker.user_id,
            2,
        )
        assert report.labels == "lawyer needed,airport"
    refused = client.post(
        f"/cases/{report_id}/details",
        data={"priority": "1", "assignee": "", "labels": "call 89001234567", "verification": "0"},
        follow_redirects=True,
    )
    assert "long numbers" in refused.get_data(as_text=True)
    with app.app_context():
        assert case_priority(report_id) == 3
    outsider = client.post(
        f"/cases/{report_id}/details",
        data={"priority": "1", "assignee": "999999", "labels": "", "verification": "0"},
        follow_redirects=True,
    )
    assert "cannot be assigned" in outsider.get_data(as_text=True)


def test_is_a_chosen_priority_sealed_and_left_out_of_the_audit_trail(app, desk):
    """A priority level names what happened (4: still detained): it is sealed to the team key,
    the audit entry says only that it changed, and the queue still puts the case first."""
    client, _worker = desk
    with app.app_context():
        raised = submit().report_id
        other = submit().report_id
    response = client.post(
        f"/cases/{raised}/details",
        data={"priority": "4", "assignee": "", "labels": "", "verification": "0"},
    )
    assert response.status_code == 303
    with app.app_context():
        sealed = db.session.get_one(Report, raised).priority_override
        assert sealed is not None and b'"priority"' not in sealed
        assert db.session.get_one(Report, other).priority_override is None
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.update")
        ).one()
        assert json.loads(entry.detail) == {"priority": "changed"}
    ids = _queue_ids(client, "")
    assert ids.index(raised) < ids.index(other)
    assert _queue_ids(client, "?priority=4") == [raised]


def test_are_notes_and_intervention_notes_sealed_at_rest_and_shown_in_the_case(app, desk):
    client, _ = desk
    with app.app_context():
        report_id = submit().report_id
    client.post(f"/cases/{report_id}/notes", data={"text": "NOTE-MARKER called the lawyer"})
    client.post(
        f"/cases/{report_id}/interventions",
        data={"kind": "LEG", "on_date": "2024-05-20", "note": "INTERVENTION-MARKER hearing"},
    )
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "NOTE-MARKER called the lawyer" in page
    assert "INTERVENTION-MARKER hearing" in page and "2024-05-20" in page
    with app.app_context():
        (note,) = db.session.scalars(select(CaseNote))
        (intervention,) = db.session.scalars(select(Intervention))
        assert b"NOTE-MARKER" not in note.sealed
        assert intervention.kind == "LEG" and b"INTERVENTION-MARKER" not in intervention.sealed_note
    bad = client.post(
        f"/cases/{report_id}/interventions", data={"kind": "XXX"}, follow_redirects=True
    )
    assert "Choose what was done" in bad.get_data(as_text=True)


def test_can_the_reporter_read_a_reply_only_with_the_receipt(app, desk):
    client, _ = desk
    with app.app_context():
        result = submit()
    response = client.post(
        f"/cases/{result.report_id}/messages", data={"text": "Are you still held? Reply here."}
    )
    assert response.status_code == 303
    with app.app_context():
        report = db.session.get_one(Report, result.report_id)
        key = messaging.reporter_private_key(report, result.receipt)
        (message,) = messaging.read_thread(report, private_key=key)
        assert message.text == "Are you still held? Reply here."
        assert message.author is MessageAuthor.CASEWORKER
        wrong = messaging.reporter_private_key(report, "0" * 20)
        with pytest.raises(Exception):  # noqa: B017 - any crypto failure will do
            messaging.read_thread(report, private_key=wrong)
    (entry,) = _audit(app, "message.send")
    assert entry.object_id == result.report_id
    empty = client.post(
        f"/cases/{result.report_id}/messages", data={"text": "   "}, follow_redirects=True
    )
    assert "empty or too long" in empty.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Events


def test_can_several_reports_be_linked_to_one_sealed_event_with_its_acts(app, desk):
    client, _ = desk
    with app.app_context():
        first = submit().report_id
        second = submit().report_id
    client.post(
        f"/cases/{first}/event/new",
        data={
            "title": "EVENT-MARKER Pulkovo group hold",
            "persons_affected": "30",
            "description": "about 30 held",
        },
    )
    with app.app_context():
        (event,) = db.session.scalars(select(Event))
        assert b"EVENT-MARKER" not in event.sealed
        event_id = event.id
    client.post(f"/cases/{second}/event", data={"event_id": event_id})
    response = client.post(
        f"/cases/events/{event_id}/acts",
        data={"code": "BRD.03", "victims": "30", "perpetrator": "BRD"},
    )
    assert response.status_code == 303
    page = client.get(f"/cases/events/{event_id}").get_data(as_text=True)
    assert "EVENT-MARKER Pulkovo group hold" in page
    assert "30 persons affected" in page
    assert first[:8] in page and second[:8] in page
    assert "BRD.03" in page
    listing = client.get("/cases/events").get_data(as_text=True)
    assert "EVENT-MARKER" in listing
    client.post(f"/cases/{second}/event/unlink")
    with app.app_context():
        assert db.session.get_one(Report, second).event_id is None
        assert db.session.get_one(Report, first).event_id == event_id
    assert client.get(f"/cases/events/{'0' * 32}").status_code == 404
    assert client.post(f"/cases/{second}/event", data={"event_id": "0" * 32}).status_code == 404


def test_is_an_event_of_another_organisation_404(app, desk):
    client, _ = desk
    with app.app_context():
        other = make_staff(role=Role.CASEWORKER, organisation="other-ngo")
        result = submit()
    other_client = app.test_client()
    login(other_client, other)
    with app.app_context():
        from incident_service.cases import events

        foreign = events.create_event(
            organisation_id=other.organisation_id,
            title="elsewhere",
            description="",
            persons_affected=1,
            actor_id=other.user_id,
        ).id
        db.session.commit()
    assert client.get(f"/cases/events/{foreign}").status_code == 404
    assert (
        client.post(f"/cases/{result.report_id}/event", data={"event_id": foreign}).status_code
        == 404
    )
    assert client.post(f"/cases/events/{foreign}/acts", data={"code": "DET.01"}).status_code == 404


# --------------------------------------------------------------------------------------------
# Supervisor's audit log


def test_can_a_supervisor_read_the_audit_log_and_a_caseworker_not(app, desk):
    client, worker = desk
    with app.app_context():
        supervisor = make_staff(role=Role.SUPERVISOR)
        report_id = submit().report_id
    client.get(f"/cases/{report_id}")
    assert client.get("/cases/audit").status_code == 403
    boss = app.test_client()
    login(boss, supervisor)
    page = boss.get("/cases/audit").get_data(as_text=True)
    assert "report.open" in page and worker.email in page
    assert "login.success" in page


def test_is_a_priority_copied_onto_another_report_refused(app, desk):
    """Someone who can write the database copies report A's sealed priority onto report B: the
    envelope is bound to A, so B keeps the urgency of its own coded answers, even in a process
    that has already opened A's envelope."""
    client, _worker = desk
    with app.app_context():
        raised = submit().report_id
        other = submit().report_id
    client.post(
        f"/cases/{raised}/details",
        data={"priority": "4", "assignee": "", "labels": "", "verification": "0"},
    )
    assert _queue_ids(client, "?priority=4") == [raised]  # A's envelope now opened in memory
    with app.app_context():
        sealed = db.session.get_one(Report, raised).priority_override
        db.session.get_one(Report, other).priority_override = sealed
        db.session.commit()
    assert _queue_ids(client, "?priority=4") == [raised]
    with app.app_context():
        assert case_priority(other) == 1
