"""Attack: the web host is seized, with every key file it holds, and a dump of the database.

Promise (design §10): the web host reveals public keys, the pepper and the index keys it needs;
never any report's content, and never a link from a statistical record to a report.

Reporters file through the form and the API (narrative, contact, phone numbers, place, coded
answers, a photo), write to the case team from the status page and through the API; a
caseworker answers, takes notes, records an intervention, raises a priority, opens an event and
looks at the queue (which writes its sealed index chunks); the pipeline anonymises the reports
in shuffled batches and the evidence worker makes the photo's clean copy. One more upload is
left half done.

The attacker takes exactly the files docs/operations.md puts on the web (`keystore.WEB_FILES`,
without the team key's bootstrap file, which production refuses beside a serving process), the
web's `SECRET_KEY` from its environment, every row of every table, the stored evidence objects
and the reporters' short-lived page records (in Redis in production, in this process's memory
here). The algorithms are public, so they use the project's own opening functions with the right
context for every blob, and every secret they hold in every role it could play:

- as a recipient's private key (X25519, and the hybrid key a seed-expansion would give), on
  every recipient entry of every envelope, relabelled so the key id check does not stop them;
- as an AES key: a secretbox key (TOTP secrets, unlocked session keys, queue index chunks,
  page records), a content key (envelopes, evidence streams), an upload URL's secret;
- as a passphrase or a recovery key on every caseworker's wrapped private key;
- as an HMAC key, to recompute a withdrawal tag from each report id, and the facet tags the
  index key once put on reports, for every code of every vocabulary.

Only the TOTP secrets open (the web needs them to check codes; they are staff's second factor,
not report content). No known plaintext of any report is anywhere in the haul, and no keyed
value the web's keys compute from a report id or a code is on either side of the join, so the
web's keys add nothing to what a dump alone gives for linking (test_linked_records.py: no better
than a guess within the mixing batch).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import itertools
import json
import shutil
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from incident_service import keystore, taxonomy
from incident_service.cases import queue_store
from incident_service.constants import Role
from incident_service.crypto import (
    CryptoError,
    RecipientPrivateKey,
    SuiteId,
    SymmetricKey,
    bindings,
    recipients_of,
    secretbox,
)
from incident_service.crypto import envelopes as envelope_format
from incident_service.crypto.envelopes import open_envelope, read_header
from incident_service.crypto.keys import MLKEM768_SEED_LENGTH, X25519_LENGTH
from incident_service.crypto.passphrases import WRAP_MAGIC, unwrap
from incident_service.crypto.receipts import receipt_lookup_hash
from incident_service.crypto.streams import ContentKey, open_stream
from incident_service.crypto.tags import keyed_tag
from incident_service.crypto.uploads import UploadSecret, open_upload_state
from incident_service.evidence.cleaning import make_clean_copies
from incident_service.evidence.store import current_store
from incident_service.intake.handoff import MEMORY_EXTENSION, NAME_PREFIX
from incident_service.keystore import current_keyring, load_keyring
from incident_service.models import EvidenceFile, Message, Report, StatisticalRecord, db
from incident_service.pipeline.anonymise import withdrawal_key
from tests import evidence_samples as samples
from tests.attacks.dumps import database_dump
from tests.conftest import build_app
from tests.factories import report_payload
from tests.reporter_helpers import file_report, post_and_follow
from tests.staff import login, make_staff
from tests.test_evidence_uploads import _create, _patch, _upload

BATCH = 4
Row = dict[str, Any]
# Where the filing below leaves sealed data: the attack must reach each (a positive control
# that the haul and the attempts cover what the service seals).
EVERY_SEALED_PLACE = {
    ("reports", "statistical_section"),
    ("reports", "private_section"),
    ("reports", "reporter_language"),
    ("reports", "priority_override"),
    ("messages", "sealed"),
    ("case_notes", "sealed"),
    ("interventions", "sealed_note"),
    ("events", "sealed"),
    ("evidence_files", "content_key_envelope"),
    ("evidence_files", "sealed_metadata"),
    ("evidence_files", "reporter_summary"),
    ("evidence_files", "removed_metadata"),
    ("evidence_uploads", "sealed_state"),
    ("team_key_grants", "sealed_private_key"),
    ("users", "totp_secret_sealed"),
    ("users", "key_private_wrapped"),
    ("users", "key_private_recovery"),
    ("staff_sessions", "unlocked_keys"),
    ("queue_index_chunks", "sealed"),
    ("page records", "status"),
    ("evidence objects", "original"),
    ("evidence objects", "working"),
}


@pytest.fixture
def web_app(tmp_path, backend):
    yield from build_app(tmp_path, backend, ANONYMISE_MIN_BATCH=BATCH)


# --------------------------------------------------------------------------------------------
# What the reporters and the case team write (synthetic, never a real case)


@dataclass
class Filed:
    """One report as its reporter and the case team know it: what the attacker looks for."""

    receipt: str
    secrets: list[str]
    report_id: str = ""
    door: str = "form"
    client: Any = None
    extra: list[str] = field(default_factory=list)


REPORTS = [
    # (door, narrative, phone, place, outcome, acts)
    (
        "form",
        "SYNTHETIC Zarafshon-Kvartal raid, brigadier Tolqinov took our passports",
        "+7 916 555 01 23",
        "SYNTHETIC Lyublino vegetable depot, gate Vostochnaya-9",
        "DET",
        ["DET.01"],
    ),
    (
        "api",
        "SYNTHETIC Задержали у Сахарово-Ворот, бригадир Нуриддинов кричал",
        "+992 93 555 77 41",
        "SYNTHETIC Sakharovo centre, block Yantarnaya-4",
        "DEP",
        ["DEP.01"],
    ),
    (
        "form",
        "SYNTHETIC Pulkovo back room, officer Gribovskiy searched Telegram chats",
        "+996 555 40 40 17",
        "SYNTHETIC Pulkovo terminal, room Kashtanovaya-2",
        "REL",
        ["BRD.01", "BRD.02"],
    ),
    (
        "api",
        "SYNTHETIC Kotelniki hostel, recruiter Shamsiddinov offered a contract",
        "+998 90 555 13 37",
        "SYNTHETIC Kotelniki hostel, corridor Birchwood-7",
        "SIG",
        ["MIL.01"],
    ),
    (
        "form",
        "SYNTHETIC Vnukovo queue, guard Pyrkhalov kept the group eleven hours",
        "+7 925 555 66 02",
        "SYNTHETIC Vnukovo hall, desk Oreshnikova-5",
        "REL",
        ["BRD.01"],
    ),
    (
        "api",
        "SYNTHETIC Kazan market sweep, inspector Zalyaletdinov beat my cousin",
        "+7 843 555 21 90",
        "SYNTHETIC Kazan market, row Tatarinova-3",
        "DET",
        ["VIO.01"],
    ),
    (
        "form",
        "SYNTHETIC Yekaterinburg site, foreman Khudoyberdiev kept the wages",
        "+7 343 555 88 15",
        "SYNTHETIC Yekaterinburg building site Severnaya-12",
        "UNK",
        ["EXT.01"],
    ),
    (
        "api",
        "SYNTHETIC Domodedovo transit, official Verkhoturtsev tore the patent",
        "+992 91 555 30 62",
        "SYNTHETIC Domodedovo transit zone Lipovaya-8",
        "DEN",
        ["BRD.03"],
    ),
]


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _file_everything(app) -> list[Filed]:
    """Reporters file through both doors; the pipeline anonymises them in batches of `BATCH`."""
    filed: list[Filed] = []
    for number, (door, narrative, phone, place, outcome, acts) in enumerate(REPORTS):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{10 + number}"
        contact = {"channel": "PHONE", "value": phone}
        if door == "form":
            _page, receipt = file_report(
                client,
                narrative=narrative,
                contact_channel=contact["channel"],
                contact_value=phone,
                place_text=place,
                outcome=outcome,
                acts=acts,
            )
        else:
            answer = client.post(
                "/api/v1/reports",
                json=report_payload(
                    narrative=narrative,
                    contact=contact,
                    place_text=place,
                    outcome=outcome,
                    acts=acts,
                ),
            )
            assert answer.status_code == 201, answer.get_data(as_text=True)
            receipt = str(answer.get_json()["receipt"])
        assert receipt is not None
        words = [word.strip(",") for word in narrative.split() if len(word) >= 9]
        filed.append(
            Filed(
                receipt=receipt,
                secrets=[narrative, *words, phone, _digits(phone), _digits(phone)[-10:], place],
                door=door,
                client=client,
            )
        )
    with app.app_context():
        pepper = current_keyring().require_pepper()
        for one in filed:
            one.report_id = db.session.scalars(
                select(Report.id).where(
                    Report.receipt_hash == receipt_lookup_hash(one.receipt, pepper)
                )
            ).one()
    return filed


def _case_team_and_reporters_write(app, filed: list[Filed]) -> None:
    """The thread, notes, an intervention, a priority, an event, the queue and a photo."""
    with app.app_context():
        caseworker = make_staff(role=Role.CASEWORKER)
    desk = app.test_client()
    login(desk, caseworker)
    for number, one in enumerate(filed):
        reply = f"SYNTHETIC call lawyer Mirzoyev-{number} at +7 495 555 70 {number:02d}"
        note = f"SYNTHETIC note: brother Davlatov-{number} holds the passport copy"
        assert (
            desk.post(f"/cases/{one.report_id}/messages", data={"text": reply}).status_code == 303
        )
        assert desk.post(f"/cases/{one.report_id}/notes", data={"text": note}).status_code == 303
        one.secrets += [reply, f"Mirzoyev-{number}", note, f"Davlatov-{number}"]
    first, second = filed[0], filed[1]
    intervention = "SYNTHETIC hearing at Lyublinskiy court, judge Ostrovityanova"
    done = desk.post(
        f"/cases/{first.report_id}/interventions",
        data={"kind": "LEG", "on_date": "2024-05-20", "note": intervention},
    )
    assert done.status_code == 303
    first.secrets += [intervention, "Ostrovityanova"]
    done = desk.post(
        f"/cases/{second.report_id}/details",
        data={"priority": "4", "assignee": "", "labels": "", "verification": "0"},
    )
    assert done.status_code == 303
    event_title = "SYNTHETIC Sakharovo-Vorota group hold"
    done = desk.post(
        f"/cases/{second.report_id}/event/new",
        data={"title": event_title, "persons_affected": "12", "description": "Nuriddinov"},
    )
    assert done.status_code == 303
    second.secrets += [event_title, "Sakharovo-Vorota"]
    assert desk.get("/cases/").status_code == 200  # the queue seals its index chunks
    assert desk.get(f"/cases/{first.report_id}").status_code == 200

    for number, one in enumerate(filed):
        answer = f"SYNTHETIC reporter answers: my new number is +7 977 555 44 {number:02d}"
        if one.door == "form":  # the status page, as a phone's browser does it
            post_and_follow(one.client, "/status", {"receipt": one.receipt})
            post_and_follow(one.client, "/status", {"action": "message", "text": answer})
        else:
            sent = one.client.post(
                "/api/v1/messages", json={"receipt": one.receipt, "text": answer}
            )
            assert sent.status_code == 201
        one.secrets += [answer, f"+7 977 555 44 {number:02d}", f"797755544{number:02d}"]

    photo = samples.jpeg_with_gps()
    api_reporter = filed[1]
    location, done = _upload(
        api_reporter.client, api_reporter.receipt, photo, name="SYNTHETIC-passport-Rahimov.jpg"
    )
    assert done is not None and done.status_code == 204, location
    api_reporter.secrets += ["SYNTHETIC-passport-Rahimov.jpg", "Rahimov"]
    api_reporter.extra = [photo[i : i + 64].hex() for i in range(200, len(photo) - 64, 997)]
    unfinished = samples.wav(frames=60_000)
    created = _create(filed[3].client, filed[3].receipt, len(unfinished) + 10)
    assert _patch(filed[3].client, created.headers["Location"], 0, unfinished).status_code == 204
    filed[3].extra = [unfinished[i : i + 64].hex() for i in range(1000, 60_000, 4999)]
    with app.app_context():
        make_clean_copies()  # the evidence worker's job (its own key, not the web's)


# --------------------------------------------------------------------------------------------
# The haul


@dataclass
class Haul:
    key_files: dict[str, bytes]
    environment_secret: str
    dump: dict[str, list[Row]]
    page_records: dict[str, bytes]
    objects: dict[str, bytes]


def _seize(app, tmp_path) -> Haul:
    """What sits on the web host's disk (and what it reaches), as production splits keys."""
    keys_dir = current_keyring().keys_dir
    seized = tmp_path / "seized-web-keys"
    seized.mkdir()
    for name in keystore.WEB_FILES:
        shutil.copy2(keys_dir / name, seized / name)
    ring = load_keyring(seized, role="web")
    assert ring.statistics_private is None and ring.evidence_private is None
    assert ring.withdrawal_key is None and ring.signing_key is None
    store_root = current_store().root  # type: ignore[attr-defined]
    return Haul(
        key_files={path.name: path.read_bytes() for path in sorted(seized.iterdir())},
        environment_secret=str(app.config["SECRET_KEY"]),
        dump=database_dump(db.engine),
        page_records={
            name: blob for name, (_expires, blob) in app.extensions[MEMORY_EXTENSION].items()
        },
        objects={
            path.name: path.read_bytes()
            for path in store_root.iterdir()
            if not path.name.startswith(".")
        },
    )


def _values_in(document: Any) -> Iterable[str]:
    if isinstance(document, dict):
        for value in document.values():
            yield from _values_in(value)
    elif isinstance(document, str):
        yield document


def _secrets_held(haul: Haul) -> list[bytes]:
    """Every byte string the key files and the environment hold, decoded every way they could
    be encoded: each is a key the attacker will try in every role."""
    found: dict[bytes, None] = {}
    for content in haul.key_files.values():
        for text in _values_in(json.loads(content)):
            for decode in (lambda t: base64.b64decode(t, validate=True), bytes.fromhex):
                try:
                    raw = decode(text)
                except (ValueError, binascii.Error):
                    continue
                if len(raw) >= 16:
                    found[raw] = None
    environment = haul.environment_secret
    found[environment.encode()] = None
    with contextlib.suppress(ValueError):
        found[bytes.fromhex(environment)] = None
    return list(found)


def _as_aes_keys(held: list[bytes]) -> list[bytes]:
    """32-byte keys: each 32-byte secret as it is, any other through SHA-256."""
    keys = {raw if len(raw) == 32 else hashlib.sha256(raw).digest(): None for raw in held}
    return list(keys)


def _as_recipient_keys(held: list[bytes]) -> list[RecipientPrivateKey]:
    """Each secret as a recipient's private key: as it is where its length fits a suite, and
    as the X25519 and hybrid keys a seed expansion of its 32-byte form would give."""
    hybrid_length = MLKEM768_SEED_LENGTH + X25519_LENGTH
    found = [
        RecipientPrivateKey.from_private_bytes(SuiteId.MLKEM768_X25519, raw)
        for raw in held
        if len(raw) == hybrid_length
    ]
    for raw in _as_aes_keys(held):
        found.append(RecipientPrivateKey.from_private_bytes(SuiteId.X25519, raw))
        hybrid = hashlib.sha512(raw).digest() + raw
        found.append(RecipientPrivateKey.from_private_bytes(SuiteId.MLKEM768_X25519, hybrid))
    return found


# --------------------------------------------------------------------------------------------
# Where each blob is bound: the public storage format (crypto/bindings.py), per table and column


def _envelope_context(
    table: str, column: str, row: Row, team_key_ids: dict[int, str]
) -> bytes | None:
    report = row.get("report_id")
    contexts: dict[tuple[str, str], Callable[[], bytes]] = {
        ("reports", "statistical_section"): lambda: bindings.report_section(
            row["id"], "statistical"
        ),
        ("reports", "private_section"): lambda: bindings.report_section(row["id"], "private"),
        ("reports", "reporter_language"): lambda: bindings.reporter_language(row["id"]),
        ("reports", "priority_override"): lambda: bindings.report_priority(row["id"]),
        ("messages", "sealed"): lambda: bindings.report_message(
            report,
            version=row["binding_version"],
            author=row["author"],
            author_user_id=row["author_user_id"],
            sent_on=row["sent_on"],
        ),
        ("case_notes", "sealed"): lambda: bindings.case_note(report),
        ("interventions", "sealed_note"): lambda: bindings.case_intervention(report),
        ("events", "sealed"): lambda: bindings.event(row["id"]),
        ("acts", "sealed"): lambda: bindings.event_act(row["event_id"], row["id"]),
        ("evidence_files", "content_key_envelope"): lambda: bindings.evidence_content_key(
            report, row["id"]
        ),
        ("evidence_files", "sealed_metadata"): lambda: bindings.evidence_metadata(
            report, row["id"]
        ),
        ("evidence_files", "reporter_summary"): lambda: bindings.evidence_reporter_summary(
            report, row["id"]
        ),
        ("evidence_files", "removed_metadata"): lambda: bindings.evidence_removed_metadata(
            report, row["id"]
        ),
        ("team_key_grants", "sealed_private_key"): lambda: bindings.team_key_grant(
            team_key_ids[row["team_key_id"]], row["user_id"]
        ),
    }
    build = contexts.get((table, column))
    return build() if build else None


def _secretbox_context(table: str, column: str, row: Row) -> bytes | None:
    contexts: dict[tuple[str, str], Callable[[], bytes]] = {
        ("users", "totp_secret_sealed"): lambda: bindings.user_totp(row["id"]),
        ("staff_sessions", "unlocked_keys"): lambda: bindings.staff_session(row["id"]),
        ("queue_index_chunks", "sealed"): lambda: queue_store._context(row["organisation_id"]),
    }
    build = contexts.get((table, column))
    return build() if build else None


def _blobs(dump: dict[str, list[Row]]) -> Iterable[tuple[str, str, Row, bytes]]:
    for table, rows in dump.items():
        for row in rows:
            for column, value in row.items():
                if isinstance(value, bytes | bytearray | memoryview):
                    yield table, column, row, bytes(value)


def _readdressed(envelope: bytes, index: int, key: RecipientPrivateKey) -> bytes:
    """The envelope with recipient entry `index` labelled as sealed to `key`, so that the
    opening function tries `key` on that entry's sealed content key instead of refusing at the
    key id."""
    nonce, entries, offset = read_header(envelope)
    parts = [envelope_format.MAGIC, nonce, bytes([len(entries)])]
    for number, entry in enumerate(entries):
        suite, key_id = (key.suite, key.key_id) if number == index else (entry.suite, entry.key_id)
        parts += [bytes([suite]), key_id, struct.pack(">H", len(entry.sealed_key))]
        parts.append(entry.sealed_key)
    parts.append(envelope[offset:])
    return b"".join(parts)


@dataclass
class Attempts:
    """What the attacker tried and what opened, by (table, column) or kind of record."""

    tried: set[tuple[str, str]] = field(default_factory=set)
    opened: set[tuple[str, str]] = field(default_factory=set)
    # Envelopes with a recipient entry for a key the attacker holds.
    addressed: set[tuple[str, str]] = field(default_factory=set)
    plaintexts: list[bytes] = field(default_factory=list)

    def attempt(self, where: tuple[str, str], opener: Callable[..., Any], *args: Any, **kw: Any):
        self.tried.add(where)
        try:
            plaintext = opener(*args, **kw)
        except (CryptoError, ValueError):
            return
        self.opened.add(where)
        self.plaintexts.append(plaintext if isinstance(plaintext, bytes) else repr(plaintext))


def _try_every_key(haul: Haul) -> Attempts:
    """Every secret held, in every role, on every sealed blob of the haul."""
    held = _secrets_held(haul)
    aes_keys = _as_aes_keys(held)
    recipient_keys = _as_recipient_keys(held)
    box_keys = [SymmetricKey("guess", raw) for raw in aes_keys]
    held_ids = {key.key_id for key in recipient_keys}
    team_key_ids = {row["id"]: row["key_id"] for row in haul.dump["team_keys"]}
    run = Attempts()

    for table, column, row, blob in _blobs(haul.dump):
        where = (table, column)
        if blob.startswith(envelope_format.MAGIC):
            context = _envelope_context(table, column, row, team_key_ids)
            assert context is not None, f"an envelope the attack cannot place: {where}"
            if held_ids & set(recipients_of(blob)):
                run.addressed.add(where)
            nonce, entries, offset = read_header(blob)
            for key, index in itertools.product(recipient_keys, range(len(entries))):
                forged = _readdressed(blob, index, key)
                run.attempt(where, open_envelope, forged, context=context, private_key=key)
            for raw in aes_keys:  # the secret as the envelope's content key itself
                run.attempt(where, _aes_open, raw, nonce, blob[offset:], context)
        elif blob.startswith(secretbox.MAGIC):
            context = _secretbox_context(table, column, row)
            assert context is not None, f"a sealed secret the attack cannot place: {where}"
            for key in box_keys:
                run.attempt(where, secretbox.open_with_key, blob, key=key, context=context)
        elif blob.startswith(WRAP_MAGIC):
            context = bindings.user_private_key(row["id"])
            for raw in held:
                as_text = (raw.hex(), base64.b64encode(raw).decode(), base64.b32encode(raw[:20]))
                for text in as_text:
                    text = text if isinstance(text, str) else text.decode()
                    run.attempt(where, unwrap, blob, text, context=context)
        elif where == ("evidence_uploads", "sealed_state"):
            context = bindings.evidence_upload_state(row["id"])
            for raw in aes_keys:
                run.attempt(
                    where, open_upload_state, blob, secret=UploadSecret(raw), context=context
                )

    for name, blob in haul.page_records.items():
        record_id, kind = name.removeprefix(NAME_PREFIX).split(":")
        context = bindings.handoff_record(record_id, kind)
        for key in box_keys:
            where = ("page records", kind)
            run.attempt(where, secretbox.open_with_key, blob, key=key, context=context)

    for row in haul.dump["evidence_files"]:
        for copy in ("original", "working"):
            name = row[f"{copy}_object"]
            if name is None:
                continue
            context = bindings.evidence_stream(row["report_id"], row["id"], copy)
            for raw in aes_keys:
                run.attempt(
                    ("evidence objects", copy), _open_object, haul.objects[name], raw, context
                )
    return run


def _open_object(content: bytes, raw: bytes, context: bytes) -> bytes:
    return b"".join(open_stream([content], key=ContentKey(raw), context=context))


def _aes_open(key: bytes, nonce: bytes, body: bytes, context: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(nonce, body, envelope_format.DOMAIN + context)
    except InvalidTag as exc:
        raise ValueError("no") from exc


# --------------------------------------------------------------------------------------------
# Searching the haul for what the reporters wrote


def _haystacks(haul: Haul, opened: list[bytes]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for table, rows in haul.dump.items():
        for row in rows:
            for column, value in row.items():
                if isinstance(value, bytes | bytearray | memoryview):
                    content = bytes(value)
                elif value is None:
                    continue
                else:
                    content = str(value).encode()
                found.append((f"{table}.{column}", content))
    found += [(f"key file {name}", content) for name, content in haul.key_files.items()]
    found.append(("SECRET_KEY", haul.environment_secret.encode()))
    found += [("page record", blob) for blob in haul.page_records.values()]
    found += [(f"object {name}", content) for name, content in haul.objects.items()]
    found += [("what opened", plaintext) for plaintext in opened]
    return found


def _plaintext_found(filed: list[Filed], haystacks: list[tuple[str, bytes]]) -> list[str]:
    hits = []
    lowered = [(where, content, content.lower()) for where, content in haystacks]
    for one in filed:
        needles = [text.encode() for text in [*one.secrets, one.receipt]]
        needles += [bytes.fromhex(window) for window in one.extra]
        for needle in needles:
            for where, content, lower in lowered:
                if needle in content or needle.lower() in lower:
                    hits.append(f"{needle[:40]!r} in {where}")
    return hits


# --------------------------------------------------------------------------------------------
# Linking records to reports with the web's keys


def _keyed_values(
    keys: list[bytes], messages: Iterable[bytes], purposes: list[str], *, hexed: bool
) -> set[bytes]:
    """Every HMAC the attacker can compute from `messages` under each key: plain, and in the
    project's tag framing for each purpose; whole and cut to 16 bytes (and in hex)."""
    found: set[bytes] = set()
    for raw in keys:
        key = SymmetricKey("guess", raw)
        for message in messages:
            digests = [hmac.new(raw, message, hashlib.sha256).digest()]
            digests += [keyed_tag(key, purpose=purpose, message=message) for purpose in purposes]
            for digest in digests:
                found.update((digest, digest[:16]))
                if hexed:
                    found.update((digest.hex().encode(), digest.hex()[:32].encode()))
    return found


def _facet_messages(organisation_ids: Iterable[int]) -> list[bytes]:
    """What the index key once tagged on reports (`{organisation}|{facet}:{code}`, before
    migration 0006), for every code of every vocabulary and every level, under each facet name
    the queue used or could use."""
    facets = ["act_group", "act", "region", "country", "airport", "urgency", "priority"]
    codes = {code for vocabulary in taxonomy.VOCABULARIES.values() for code in vocabulary.codes()}
    codes |= {str(level) for level in range(10)}
    prefixes = [f"{organisation}|" for organisation in organisation_ids] + [""]
    return [
        f"{prefix}{facet}:{code}".encode()
        for prefix, facet, code in itertools.product(prefixes, facets, sorted(codes))
    ]


def _windows(values: Iterable[bytes], widths: Iterable[int]) -> set[bytes]:
    """Every substring of each width: a tag is found wherever it sits inside a value."""
    return {
        value[i : i + width]
        for value in values
        for width in widths
        for i in range(len(value) - width + 1)
    }


def _unsealed(dump: dict[str, list[Row]], tables: Callable[[str], bool]) -> list[bytes]:
    """Every value of the chosen tables that is not a sealed blob: hashes, tags, salts, public
    keys, ids, codes and text, as bytes."""
    sealed = (envelope_format.MAGIC, secretbox.MAGIC, WRAP_MAGIC)
    found = []
    for table, rows in dump.items():
        if not tables(table):
            continue
        for row in rows:
            for column, value in row.items():
                if value is None or (table, column) == ("evidence_uploads", "sealed_state"):
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    if not bytes(value).startswith(sealed):
                        found.append(bytes(value))
                else:
                    found.append(str(value).encode())
    return found


# --------------------------------------------------------------------------------------------


def test_can_a_seized_web_host_open_a_report_or_link_a_record_to_it(web_app, tmp_path):
    filed = _file_everything(web_app)
    _case_team_and_reporters_write(web_app, filed)
    with web_app.app_context():
        authors = db.session.scalars(select(Message.author)).all()
        assert sorted(set(authors)) == ["caseworker", "reporter"] and len(authors) == 16
        records = db.session.scalars(select(StatisticalRecord)).all()
        assert len(records) == len(REPORTS), "the pipeline must have anonymised every report"
        assert all(db.session.scalars(select(EvidenceFile.working_object)).all())
        haul = _seize(web_app, tmp_path)
        worker_withdrawal_key = withdrawal_key()  # the test's truth, never in the haul
    assert not any(name.startswith("team-") for name in haul.key_files)
    assert not set(keystore.WORKER_ONLY_FILES) & set(haul.key_files)
    assert haul.page_records, "the reporters' page records must be part of the attempt"

    # 1. Every key in every role on every sealed blob: only the TOTP secrets open.
    run = _try_every_key(haul)
    missed = EVERY_SEALED_PLACE - run.tried
    assert not missed, f"the attack never reached {sorted(missed)}"
    assert run.opened == {("users", "totp_secret_sealed")}, (
        f"the web host's keys opened {sorted(run.opened)}"
    )
    assert run.addressed == set(), f"sealed to a key the web holds: {sorted(run.addressed)}"

    # 2. No known plaintext anywhere in the haul, nor in what opened.
    hits = _plaintext_found(filed, _haystacks(haul, run.plaintexts))
    assert hits == [], f"known plaintext in the web host's haul: {hits[:5]}"

    # 3. No keyed value the web's keys compute from a report id is on the records' side, and
    # no tag of any coded answer anywhere in the dump: the keys add nothing to a dump's links.
    held = _secrets_held(haul)
    aes_keys = _as_aes_keys(held)
    record_side = _windows(_unsealed(haul.dump, lambda t: t.startswith("statistical_")), (16, 32))
    from_ids = _keyed_values(
        aes_keys,
        [one.report_id.encode("ascii") for one in filed],
        ["withdrawal", "index", "facet", "report", "record"],
        hexed=True,
    )
    assert not from_ids & record_side, "a web key recomputes the tag of a record's report"
    truth = {bindings.withdrawal_tag(worker_withdrawal_key, one.report_id) for one in filed}
    assert truth <= record_side, "the check must find the tags the worker's key computes"
    symmetric = [raw for raw in held if len(raw) == 32]
    facet_tags = _keyed_values(
        symmetric,
        _facet_messages(row["id"] for row in haul.dump["organisations"]),
        ["index", "facet"],
        hexed=False,
    )
    everywhere = _windows(_unsealed(haul.dump, lambda t: True), (16, 32))
    assert not facet_tags & everywhere, "a tag of a coded answer, made with a web key, is stored"
