"""Evidence through the reporter's HTML pages: files on the report form (multipart, no
JavaScript), the receipt page listing them, and "add evidence" on the status page — with every
refusal named in the reporter's language and nothing typed lost."""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import pytest

from incident_service.models import EvidenceFile, Report, db
from incident_service.pipeline import dispatch
from tests import evidence_samples as samples
from tests.conftest import build_app
from tests.factories import submit
from tests.reporter_helpers import (
    form_data,
    open_form,
    post_and_follow,
    report_count,
    text_of,
)


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def sent_tasks(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args: seen.append(name) or True)
    return seen


def _cleaning(sent_tasks: list[str]) -> int:
    """How often the evidence worker was asked for clean copies."""
    return sent_tasks.count(dispatch.TASK_EVIDENCE_CLEAN)


def _file(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def _fingerprint(data: bytes) -> str:
    head = hashlib.sha256(data).hexdigest()[:16].upper()
    return " ".join(head[i : i + 4] for i in range(0, 16, 4))


def _file_with(client, files, **overrides):
    """Open the form and send it with `files`, as a browser does (multipart)."""
    hidden = open_form(client)
    data = {**hidden, **form_data(**overrides), "evidence": files}
    return post_and_follow(client, "/report", data)


def _file_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(EvidenceFile)) or 0


def test_does_the_form_carry_a_plain_file_input_with_the_types_taken(client):
    # The full form carries files; the quick report leaves them to a step after sending.
    page = client.get("/report/full").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert '<input type="file" id="evidence" name="evidence" multiple accept="' in page
    assert "image/jpeg" in page and "audio/ogg" in page and ".heic" in page
    assert "up to 10 files, each at most 25 MB, at most 100 MB together" in text_of(page)


def test_do_two_photos_and_a_voice_note_reach_the_receipt_page_with_fingerprints(
    app, client, sent_tasks
):
    photo, second, voice = samples.jpeg(), samples.png(), samples.ogg()
    files = [_file(photo, "arrest.jpg"), _file(second, "order.png"), _file(voice, "voice.ogg")]
    page = _file_with(client, files).get_data(as_text=True)
    text = text_of(page)
    assert "Your report has been sent" in text
    for name, data in (("arrest.jpg", photo), ("order.png", second), ("voice.ogg", voice)):
        assert name in text and _fingerprint(data) in text
    assert "Photo ·" in text and "Recording ·" in text
    assert _file_count(app) == 3
    # The worker is asked once for the clean copies, after the files are committed.
    assert _cleaning(sent_tasks) == 1
    # Shown once, like the receipt: reloading shows a blank form, no names.
    again = client.get("/report").get_data(as_text=True)
    assert "arrest.jpg" not in again and "Tell us what happened" in again


def test_is_a_refused_file_named_while_the_report_and_the_other_files_are_kept(
    app, client, sent_tasks
):
    files = [
        _file(samples.jpeg() + samples.zip_archive(), "hidden.jpg"),
        _file(b"just some text, not evidence", "notes.txt"),
        _file(samples.pdf(), "contract.pdf"),
    ]
    text = text_of(_file_with(client, files).get_data(as_text=True))
    assert "Your report has been sent" in text
    assert "These files were not added: hidden.jpg: This file hides another kind of file" in text
    assert "notes.txt: This kind of file is not taken." in text
    assert "contract.pdf" in text and _fingerprint(samples.pdf()) in text
    assert report_count(app) == 1 and _file_count(app) == 1
    assert "You can add files later, when you check your report with your number." in text


def test_is_a_file_over_the_count_limit_refused_by_name(app, client, sent_tasks):
    app.config.update(EVIDENCE_MAX_FILES=2)
    files = [_file(samples.png(), f"photo-{i}.png") for i in range(3)]
    text = text_of(_file_with(client, files).get_data(as_text=True))
    assert "photo-2.png: A report can have at most 2 files." in text
    assert _file_count(app) == 2


def test_does_a_refused_form_keep_the_narrative_and_name_the_files_to_choose_again(
    app, client, sent_tasks
):
    narrative = "SYNTHETIC: held at the airport for hours"
    files = [_file(samples.jpeg(), "arrest.jpg"), _file(samples.ogg(), "voice.ogg")]
    response = _file_with(client, files, acts=None, narrative=narrative)
    assert response.history[0].headers["Location"].endswith("/report#field-acts")
    page = response.get_data(as_text=True)
    assert narrative in page
    text = text_of(page)
    assert "These files were not sent. Please choose them again: arrest.jpg voice.ogg" in text
    assert report_count(app) == 0 and _file_count(app) == 0
    assert _cleaning(sent_tasks) == 0


def test_does_a_language_switch_keep_the_answers_and_name_the_files(app, client):
    hidden = open_form(client)
    data = {
        **hidden,
        "narrative": "SYNTHETIC kept across languages",
        "lang": "tg",
        "evidence": [_file(samples.jpeg(), "arrest.jpg")],
    }
    page = post_and_follow(client, "/report", data).get_data(as_text=True)
    assert 'lang="tg"' in page and "SYNTHETIC kept across languages" in page
    assert "arrest.jpg" in page
    assert _file_count(app) == 0


def _open_status(client, receipt: str):
    return post_and_follow(client, "/status", {"receipt": receipt})


def test_can_the_receipt_holder_see_the_files_and_add_one_more(app, client, sent_tasks):
    with app.app_context():
        receipt = submit(language="en").receipt  # the status page follows it
    page = _open_status(client, receipt).get_data(as_text=True)
    assert "No files yet." in text_of(page)
    assert 'enctype="multipart/form-data"' in page
    assert receipt not in page
    voice = samples.wav()
    response = post_and_follow(
        client, "/status", {"action": "evidence", "evidence": [_file(voice, "voice.wav")]}
    )
    assert response.history[0].headers["Location"] == "/status"
    assert response.request.path == "/status"
    text = text_of(response.get_data(as_text=True))
    assert "Your files have been added." in text
    assert "voice.wav" in text and _fingerprint(voice) in text
    assert receipt not in response.get_data(as_text=True)
    assert _cleaning(sent_tasks) == 1
    # Said once; the listing stays.
    again = text_of(client.get("/status").get_data(as_text=True))
    assert "Your files have been added." not in again and "voice.wav" in again


def test_does_add_evidence_name_refusals_and_ask_for_a_file_when_none_was_chosen(
    app, client, sent_tasks
):
    with app.app_context():
        receipt = submit(language="en").receipt  # the status page follows it
    _open_status(client, receipt)
    nothing = post_and_follow(
        client, "/status", {"action": "evidence", "evidence": [_file(b"", "")]}
    )
    assert nothing.history[0].headers["Location"] == "/status#field-evidence"
    assert "Choose at least one file." in text_of(nothing.get_data(as_text=True))
    refused = post_and_follow(
        client, "/status", {"action": "evidence", "evidence": [_file(b"MZ\x90\x00", "a.exe")]}
    )
    text = text_of(refused.get_data(as_text=True))
    assert "These files were not added: a.exe: This kind of file is not taken." in text
    assert _cleaning(sent_tasks) == 0 and _file_count(app) == 0


def test_are_chosen_files_named_again_when_the_status_page_had_closed(app, client):
    with app.app_context():
        receipt = submit(language="en").receipt  # the status page follows it
    # No open page (it closed while the reporter chose files): the number is asked again.
    response = post_and_follow(
        client, "/status", {"action": "evidence", "evidence": [_file(samples.png(), "order.png")]}
    )
    text = text_of(response.get_data(as_text=True))
    assert "Please type your number again." in text and "order.png" in text
    reopened = _open_status(client, receipt)
    assert reopened.history[0].headers["Location"] == "/status#field-evidence"
    text = text_of(reopened.get_data(as_text=True))
    assert "These files were not sent. Please choose them again: order.png" in text
    assert _file_count(app) == 0


def test_are_posted_files_never_on_disk_unsealed(app, client, monkeypatch, tmp_path, sent_tasks):
    """A file over the in-memory size spills to a temporary file: only sealed bytes may be
    in it (Werkzeug's own spool would hold the photo as sent)."""
    spilled: list[Path] = []
    original = tempfile.TemporaryFile

    def visible_temporary_file(*args, **kwargs):
        handle = tempfile.NamedTemporaryFile(dir=tmp_path, delete=False)  # noqa: SIM115
        spilled.append(Path(handle.name))
        return handle

    monkeypatch.setattr(tempfile, "TemporaryFile", visible_temporary_file)
    marker = b"SYNTHETIC-PLAINTEXT-MARKER-"
    photo = samples.jpeg()
    big = samples.wav(frames=800_000)  # 1.6 MB of audio, past the in-memory megabyte
    body = big[: -len(marker) * 1000] + marker * 1000
    _file_with(client, [_file(photo, "a.jpg"), _file(body, "b.wav")])
    monkeypatch.setattr(tempfile, "TemporaryFile", original)
    assert spilled, "nothing spilled to disk: the test does not test anything"
    for path in spilled:
        content = path.read_bytes()
        assert marker not in content and photo[:64] not in content


def test_are_text_fields_bounded_together_in_a_multipart_form(app, client):
    """The larger body limit is for files: 3 × 100 KB of text passes no field's limit but
    together passes what a form's text may be."""
    hidden = open_form(client)
    data = {**hidden, **{f"f{i}": "x" * 100_000 for i in range(3)}, "evidence": [_file(b"", "")]}
    response = post_and_follow(client, "/report", data)
    assert "What you sent is too large" in text_of(response.get_data(as_text=True))
    assert report_count(app) == 0


@pytest.fixture
def small_app(tmp_path, backend):
    """An app whose reports may hold 300 KB of files (the body limit follows it)."""
    yield from build_app(tmp_path, backend, EVIDENCE_MAX_REPORT_BYTES=300_000)


def test_is_a_form_too_large_for_any_report_refused_in_the_reporters_language(small_app):
    client = small_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "tg"
    hidden = open_form(client)
    big = samples.wav(frames=400_000)  # 800 KB: over 300 KB of files + the text + framing
    data = {**hidden, **form_data(), "evidence": [_file(big, "long.wav")]}
    response = client.post("/report", data=data)
    # POST/redirect/GET, as every reporter refusal: no form left in the phone's history.
    assert response.status_code == 303 and response.headers["Location"] == "/report"
    page = client.get("/report").get_data(as_text=True)
    assert 'lang="tg"' in page
    assert (
        "Он чи фиристодед, аз ҳад калон аст: файлҳои як муроҷиат якҷоя набояд аз 1 МБ"
        in text_of(page)
    )
    assert report_count(small_app) == 0 and _file_count(small_app) == 0


def test_is_the_larger_limit_only_for_multipart_forms_on_the_pages_that_take_files(small_app):
    client = small_app.test_client()
    limit = small_app.config["MAX_CONTENT_LENGTH"]
    payload = samples.wav(frames=(limit // 2) + 1000)  # just over the default limit
    # The report form takes it (a file within the report's limit) ...
    hidden = open_form(client)
    data = {**hidden, **form_data(), "evidence": [_file(payload, "v.wav")]}
    assert client.post("/report", data=data).status_code == 303
    assert "v.wav" in client.get("/report").get_data(as_text=True)  # the receipt page
    assert _file_count(small_app) == 1
    # ... URL-encoded text of that size does not, nor does multipart anywhere else.
    urlencoded = client.post("/report", data={**hidden, "narrative": "x" * (limit + 10)})
    assert urlencoded.status_code == 303
    assert "too large" in text_of(client.get("/report?lang=en").get_data(as_text=True))
    for url in ("/login",):
        response = client.post(url, data={"evidence": [_file(payload, "v.wav")]})
        assert response.status_code == 413, url
    with small_app.app_context():
        assert db.session.query(Report).count() == 1
