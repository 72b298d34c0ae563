"""Attack: the police took a reporter's phone, and then the service's file store and database.

Promise (design §10, §11): someone holding a copy of a file cannot confirm from the seized file
store or a database dump that it was reported. The attacker has the original photo and voice
note from the phone; they search every stored object and every row for the file's bytes (any
64-byte window of it), its SHA-256 (raw or hex, upper or lower case), its HMAC under every
value in the dump, and for an object whose size is the file's own size.
"""

from __future__ import annotations

import hashlib
import hmac

from incident_service.evidence.store import current_store
from incident_service.models import db
from tests import evidence_samples as samples
from tests.attacks.dumps import database_dump
from tests.evidence_helpers import receive


def _needles(original: bytes) -> list[bytes]:
    digest = hashlib.sha256(original).digest()
    windows = [original[i : i + 64] for i in range(0, len(original) - 64, 997)]
    return [digest, digest.hex().encode(), digest.hex().upper().encode(), *windows]


def _values(dump: dict) -> list[bytes]:
    found = []
    for rows in dump.values():
        for row in rows:
            for value in row.values():
                if isinstance(value, bytes | bytearray | memoryview):
                    found.append(bytes(value))
                elif value is not None:
                    found.append(str(value).encode())
    return found


def test_can_a_seized_store_and_dump_confirm_that_a_phones_file_was_reported(app_ctx):
    photo, voice = samples.jpeg(), samples.ogg()
    for original in (photo, voice, samples.png()):
        receive(original)
    db.session.remove()

    root = current_store().root  # type: ignore[attr-defined]
    objects = {path.name: path.read_bytes() for path in root.iterdir()}
    dump_values = _values(database_dump(db.engine))
    assert len(objects) == 3 and dump_values, "the attack needs something to search"

    for original in (photo, voice):
        needles = _needles(original)
        digest = hashlib.sha256(original).digest()
        for name, content in objects.items():
            assert not any(needle in content for needle in needles), f"file bytes in {name}"
            assert len(content) != len(original), "an object's size gives the file away"
        for value in dump_values:
            assert not any(needle in value for needle in needles), "file or hash in the dump"
        # The commitment is an HMAC: try every dumped value as its key, both framings.
        candidates = {value for value in dump_values if 16 <= len(value) <= 64}
        guesses = {
            hmac.new(key, message, hashlib.sha256).digest()
            for key in candidates
            for message in (digest, b"incident-service/v1/evidence-commitment|" + digest)
        }
        assert not guesses & set(dump_values), "the commitment opened without the sealed salt"
