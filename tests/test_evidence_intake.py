"""Evidence intake: does every accepted type come back whole for the team, and nothing else in?"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from incident_service.crypto import RecipientPublicKey
from incident_service.crypto.streams import CHUNK_SIZE, TamperedChunk, sealed_length
from incident_service.evidence.intake import (
    EvidenceIntegrityError,
    StatisticsKeyRefused,
    file_reader,
    open_metadata,
    read_file,
    receive_file,
    store_working_copy,
    verify_original,
)
from incident_service.evidence.sniff import ContentRefused, RefusalReason
from incident_service.evidence.store import current_store
from incident_service.keystore import current_keyring
from incident_service.models import EvidenceFile, EvidenceLogLeaf, db
from tests import evidence_samples as samples
from tests.evidence_helpers import new_report, organisation, receive, team_private_key


@pytest.mark.parametrize("kind", list(samples.SAMPLES))
def test_does_each_accepted_type_round_trip_for_the_team(app_ctx, kind):
    data = samples.SAMPLES[kind]()
    received = receive(data, name=f"upload.{kind.value}", block=333)
    assert received.kind is kind
    row = db.session.get_one(EvidenceFile, received.file_id)
    team = team_private_key()
    assert b"".join(read_file(row, team_private_key=team)) == data
    metadata = open_metadata(row, team_private_key=team)
    assert metadata.digest.value == hashlib.sha256(data).digest()
    assert metadata.size == len(data) and metadata.kind is kind
    assert received.fingerprint == metadata.digest.fingerprint
    assert row.sealed_size == sealed_length(len(data))


def test_is_a_file_judged_by_its_bytes_not_its_name(app_ctx):
    received = receive(samples.jpeg(), name="contract.pdf")
    assert received.kind.value == "jpeg"


def test_does_a_refused_file_leave_nothing_behind(app_ctx):
    store_dir = current_store().root  # type: ignore[attr-defined]
    before = set(store_dir.iterdir())
    with pytest.raises(ContentRefused) as excinfo:
        receive(samples.jpeg() + samples.zip_archive())
    assert excinfo.value.reason is RefusalReason.POLYGLOT_ZIP
    db.session.rollback()
    assert set(store_dir.iterdir()) == before
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_is_the_statistics_key_refused_as_a_recipient(app_ctx):
    statistics: RecipientPublicKey = current_keyring().require_statistics_public()
    with pytest.raises(StatisticsKeyRefused):
        receive_file(
            [samples.png()],
            report_id=new_report(),
            organisation_id=organisation().id,
            team_key=statistics,
        )


def test_does_the_database_hold_the_commitment_and_a_waiting_leaf_but_no_hash(app_ctx):
    data = samples.png()
    received = receive(data)
    row = db.session.get_one(EvidenceFile, received.file_id)
    leaf = db.session.get_one(EvidenceLogLeaf, row.commitment)
    assert leaf.leaf_index is None, "a leaf waits for its day's batch"
    assert row.commitment != hashlib.sha256(data).digest()


def test_does_a_changed_stored_original_fail_the_custody_check(app_ctx):
    received = receive(samples.wav(frames=80_000))
    row = db.session.get_one(EvidenceFile, received.file_id)
    team = team_private_key()
    assert verify_original(row, team_private_key=team).kind.value == "wav"
    path = current_store().root / row.original_object  # type: ignore[attr-defined]
    sealed = bytearray(path.read_bytes())
    sealed[CHUNK_SIZE + 100] ^= 1
    path.write_bytes(bytes(sealed))
    with pytest.raises(TamperedChunk):
        verify_original(row, team_private_key=team)


def test_does_an_original_swapped_for_another_file_fail(app_ctx):
    first = db.session.get_one(EvidenceFile, receive(samples.png()).file_id)
    second = db.session.get_one(EvidenceFile, receive(samples.png()).file_id)
    root = current_store().root  # type: ignore[attr-defined]
    (root / first.original_object).write_bytes((root / second.original_object).read_bytes())
    with pytest.raises((TamperedChunk, EvidenceIntegrityError)):
        verify_original(first, team_private_key=team_private_key())


def test_is_a_working_copy_kept_beside_the_untouched_original(app_ctx):
    data = samples.jpeg()
    row = db.session.get_one(EvidenceFile, receive(data).file_id)
    team = team_private_key()
    store_working_copy(row, [b"stripped copy"], team_private_key=team)
    db.session.commit()
    assert b"".join(read_file(row, team_private_key=team, copy="working")) == b"stripped copy"
    assert file_reader(row, team_private_key=team).read() == data
    assert row.state == "working_copy"
