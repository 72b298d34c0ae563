"""A message is bound to its author and its day: someone who can edit the database cannot turn a
caseworker's reply into the reporter's own words, hand it to another caseworker or move it to
another day without it failing loudly; messages sealed before that binding still open."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from incident_service.auth import teams
from incident_service.cases import messaging
from incident_service.constants import MessageAuthor
from incident_service.crypto import bindings, seal
from incident_service.crypto.errors import CryptoError
from incident_service.models import Message, Organisation, Report, db
from tests.factories import submit


def _team_key(app):
    organisation = db.session.scalar(select(Organisation))
    return teams.load_bootstrap_key(organisation, Path(app.config["KEYS_DIR"]))


def _reply(app, *, author_user_id=None):
    filed = submit(narrative="SYNTHETIC binding test")
    report = db.session.get_one(Report, filed.report_id)
    message = messaging.post_message(
        report,
        author=MessageAuthor.CASEWORKER,
        text="Where are you now?",
        author_user_id=author_user_id,
    )
    db.session.commit()
    return filed, report, message.id


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE messages SET author = 'reporter' WHERE id = :id",
        "UPDATE messages SET sent_on = :earlier WHERE id = :id",
        "UPDATE messages SET binding_version = 0 WHERE id = :id",
    ],
    ids=["author", "day", "version"],
)
def test_does_an_edited_message_fail_to_open(app_ctx, edit):
    _filed, report, message_id = _reply(app_ctx)
    team_key = _team_key(app_ctx)
    assert [m.text for m in messaging.read_thread(report, private_key=team_key)] == [
        "Where are you now?"
    ]
    earlier = dt.date.today() - dt.timedelta(days=3)
    db.session.execute(text(edit), {"id": message_id, "earlier": earlier})
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(CryptoError):
        messaging.read_thread(report, private_key=team_key)


def test_is_the_writing_caseworker_bound_too(app_ctx):
    from incident_service.constants import Role
    from tests.staff import make_staff

    writer = make_staff(role=Role.CASEWORKER)
    other = make_staff(role=Role.CASEWORKER)
    filed, report, message_id = _reply(app_ctx, author_user_id=writer.user_id)
    db.session.execute(
        text("UPDATE messages SET author_user_id = :other WHERE id = :id"),
        {"other": other.user_id, "id": message_id},
    )
    db.session.commit()
    db.session.expire_all()
    reporter_key = messaging.reporter_private_key(report, filed.receipt)
    with pytest.raises(CryptoError):
        messaging.read_thread(report, private_key=reporter_key)


def test_does_a_message_sealed_before_the_binding_still_open(app_ctx):
    filed = submit(narrative="SYNTHETIC old thread")
    report = db.session.get_one(Report, filed.report_id)
    organisation = db.session.get_one(Organisation, report.organisation_id)
    old = Message(
        report_id=report.id,
        author=MessageAuthor.REPORTER.value,
        sent_on=dt.date(2024, 5, 14),
        read=False,
        binding_version=bindings.MESSAGE_BINDING_REPORT_ONLY,
        sealed=seal(
            json.dumps({"text": "written long ago"}).encode(),
            context=f"report/{report.id}/message".encode(),  # the context before revision 0005
            recipients=[teams.team_public_key(organisation), messaging.reporter_public_key(report)],
        ),
    )
    db.session.add(old)
    db.session.commit()
    messaging.post_message(report, author=MessageAuthor.CASEWORKER, text="and a new reply")
    db.session.commit()
    thread = messaging.read_thread(report, private_key=_team_key(app_ctx))
    assert [m.text for m in thread] == ["written long ago", "and a new reply"]
    versions = db.session.scalars(select(Message.binding_version).order_by(Message.id))
    assert list(versions) == [0, 1]
