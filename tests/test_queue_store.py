"""The queue index at rest: a restarted web process ranks the queue from a few sealed chunks
instead of opening every report, and no chunk outlives a deleted report or a rotated key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from incident_service.auth import rotation, teams
from incident_service.cases import queue_index, queue_store
from incident_service.constants import Role
from incident_service.crypto import DecryptionFailed, RecipientPrivateKey, SuiteId
from incident_service.crypto.secretbox import open_with_key
from incident_service.models import QueueIndexChunk, Report, db
from tests.factories import submit
from tests.staff import login, make_staff, post_form

CASE_LINK = re.compile(r'href="/cases/([0-9a-f]{32})(?:\?[^"]*)?"')


def _team_key(app) -> RecipientPrivateKey:
    key = teams.load_bootstrap_key(teams.ensure_organisation(), Path(app.config["KEYS_DIR"]))
    assert key is not None
    return key


def _queue(client) -> list[str]:
    page = client.get("/cases/")
    assert page.status_code == 200
    return CASE_LINK.findall(page.get_data(as_text=True))


def _chunks(app) -> list[QueueIndexChunk]:
    with app.app_context():
        chunks = list(db.session.scalars(sa.select(QueueIndexChunk)))
        db.session.expunge_all()
        return chunks


def _ids_in_chunks(app, key: RecipientPrivateKey) -> set[str]:
    ids: set[str] = set()
    for chunk in _chunks(app):
        plain = open_with_key(
            chunk.sealed,
            key=queue_store.chunk_key(key),
            context=f"queue-index/{chunk.organisation_id}".encode(),
        )
        ids |= {item[0] for item in queue_store._decode(plain)}
    return ids


@pytest.fixture
def opens(monkeypatch):
    """How many reports' coded answers the web process opens (the call goes through)."""
    counted = {"reports": 0}
    real = queue_index._open_coded

    def counting(report_id, blob, team_key):
        counted["reports"] += 1
        return real(report_id, blob, team_key)

    monkeypatch.setattr(queue_index, "_open_coded", counting)
    return counted


def _filed(count: int) -> list[str]:
    made = []
    for n in range(count):
        outcome = "DET" if n % 4 == 0 else "REL"
        made.append(
            submit(
                received_on=dt.date(2025, 1, 1) + dt.timedelta(days=n),
                outcome=outcome,
                narrative=f"SYNTHETIC queue store {n}",
            ).report_id
        )
    return made


def test_does_a_restarted_process_rank_the_queue_from_chunks_without_opening_reports(app, opens):
    with app.app_context():
        _filed(12)
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    first = _queue(client)
    assert len(first) == 12 and opens["reports"] == 12
    assert len(_chunks(app)) == 1

    queue_index.CACHE.clear()  # what a restart leaves: nothing in memory
    opens["reports"] = 0
    assert _queue(client) == first  # same order, detained first
    assert opens["reports"] == 0

    with app.app_context():  # a new report is opened once and written to a chunk of its own
        newest = submit(outcome="DET", received_on=dt.date(2026, 1, 1)).report_id
    assert _queue(client)[0] == newest and opens["reports"] == 1
    assert len(_chunks(app)) == 2


def test_does_a_case_page_opened_first_keep_the_entries_its_links_opened(app, opens):
    """The case page walks the queue for its Previous/Next links, opening the entries it has
    not seen. Those are written back in a chunk that is committed with the page, so the queue
    after a restart opens nothing again."""
    with app.app_context():
        made = _filed(5)
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    assert client.get(f"/cases/{made[2]}").status_code == 200  # before any queue view
    assert opens["reports"] == 5 and len(_chunks(app)) == 1

    queue_index.CACHE.clear()
    opens["reports"] = 0
    assert len(_queue(client)) == 5 and opens["reports"] == 0


def test_do_many_chunks_merge_into_one_and_unreadable_ones_go(app):
    with app.app_context():
        made = _filed(3)
        worker = make_staff(role=Role.CASEWORKER)
        key = _team_key(app)
        for report_id in made:  # one chunk per report, as views of single new reports write
            report = db.session.get_one(Report, report_id)
            entry = queue_index.entry_for(report.organisation_id, report.id, key)
            assert entry is not None
            queue_store._write(
                report.organisation_id,
                [(report.id, report.received_on, entry)],
                queue_store.chunk_key(key),
            )
        other = RecipientPrivateKey.generate(SuiteId.X25519)
        queue_store._write(
            report.organisation_id,
            [(report.id, report.received_on, entry)],
            queue_store.chunk_key(other),  # as if sealed under a key since rotated away
        )
        db.session.commit()
    assert len(_chunks(app)) == 4
    queue_index.CACHE.clear()
    client = app.test_client()
    login(client, worker)
    assert sorted(_queue(client)) == sorted(made)
    assert len(_chunks(app)) == 1
    assert _ids_in_chunks(app, key) == set(made)


def test_does_deleting_a_report_take_its_entry_out_of_every_chunk(app):
    with app.app_context():
        doomed = submit(narrative="SYNTHETIC to be deleted")
        kept = submit().report_id
        supervisor = make_staff(role=Role.SUPERVISOR)
        key = _team_key(app)
    client = app.test_client()
    login(client, supervisor)
    assert set(_queue(client)) == {doomed.report_id, kept}
    assert _ids_in_chunks(app, key) == {doomed.report_id, kept}

    reporter = app.test_client()
    reporter.post(
        "/status",
        data={"receipt": doomed.receipt, "action": "delete", "confirm": "y"},
        follow_redirects=True,
    )
    response = post_form(
        client,
        f"/cases/{doomed.report_id}/delete",
        {"confirm": "y"},
        form_page=f"/cases/{doomed.report_id}",
    )
    assert response.status_code == 303
    assert _chunks(app) == []  # discarded in the deletion's own transaction
    assert _queue(client) == [kept]
    queue_index.CACHE.clear()
    assert _queue(client) == [kept]
    assert _ids_in_chunks(app, key) == {kept}


def test_does_a_rotation_discard_chunks_sealed_under_the_old_key(app):
    with app.app_context():
        submit()
        worker = make_staff(role=Role.CASEWORKER)
    client = app.test_client()
    login(client, worker)
    _queue(client)
    assert len(_chunks(app)) == 1
    with app.app_context():
        organisation = teams.ensure_organisation()
        rotation.rotate_team_key(
            organisation=organisation,
            held_keys=[_team_key(app)],
            suite=SuiteId.X25519,
            wait=lambda seconds: None,
        )
    assert _chunks(app) == []


def test_does_a_chunk_open_only_with_a_key_derived_from_its_own_team_and_organisation(app):
    """Attacker's view: the dump holds the chunk and the team's public key; neither a key
    derived from another team key nor another organisation's binding opens it, and the chunk
    carries no readable code."""
    with app.app_context():
        submit(region="RU-MOS", outcome="DET")
        worker = make_staff(role=Role.CASEWORKER)
        key = _team_key(app)
    client = app.test_client()
    login(client, worker)
    _queue(client)
    (chunk,) = _chunks(app)
    for readable in (b"RU-MOS", b"DET", b"BRD.0"):
        assert readable not in chunk.sealed[16:]
    context = f"queue-index/{chunk.organisation_id}".encode()
    assert open_with_key(chunk.sealed, key=queue_store.chunk_key(key), context=context)
    stranger = RecipientPrivateKey.generate(SuiteId.X25519)
    with pytest.raises(DecryptionFailed):
        open_with_key(chunk.sealed, key=queue_store.chunk_key(stranger), context=context)
    with pytest.raises(DecryptionFailed):
        open_with_key(
            chunk.sealed,
            key=queue_store.chunk_key(key),
            context=f"queue-index/{chunk.organisation_id + 1}".encode(),
        )
