"""Release files as an official receives them: readable PDFs, valid HXL, signed and checkable."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import hxl
import hxl.input
import pypdf
import pytest
from fontTools.ttLib import TTFont

from incident_service.releases.documents import charts
from incident_service.releases.documents.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    BadManifestSignature,
    TamperedFile,
    verify_directory,
    write_directory,
)
from incident_service.releases.documents.pdf import FONTS_DIR, NetworkRefused, _offline_fetcher
from incident_service.releases.lifecycle import generate_release
from tests.release_helpers import Q4, TODAY, content
from tests.statistics_factory import insert_records


def _page_fonts(resources) -> list:
    """The fonts a page uses, in its own resources and in the forms (inline SVG) it draws."""
    found = list(resources.get("/Font", {}).values())
    for xobject in resources.get("/XObject", {}).values():
        xobject = xobject.get_object()
        if "/Resources" in xobject:
            found += _page_fonts(xobject["/Resources"])
    return found


def _file(release, suffix: str) -> bytes:
    return next(f for f in release.files if f.name.endswith(suffix)).content


def test_does_the_russian_pdf_carry_russian_headings_and_the_right_totals(app_ctx):
    """Can an official's PDF reader extract the Russian headings and the totals as text?"""
    insert_records(120, months=Q4, seed=21)
    release = generate_release(
        period="2024-Q4", today=TODAY, parameters={"languages": ["ru", "en"]}
    )
    document = content(release)
    reader = pypdf.PdfReader(io.BytesIO(_file(release, ".ru.pdf")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in (
        "Основные выводы",
        "Виды нарушений",
        "Проверки в аэропортах",
        "Метод и ограничения",
    ):
        assert heading in text
    assert "IV квартал 2024 года" in text
    assert "зарегистрировал 120 сообщений" in text
    persons = f"{document['persons_affected']:,}".replace(",", "\u202f")
    assert persons in text
    fonts = {
        str(font["/BaseFont"]): font
        for page in reader.pages
        for font in _page_fonts(page["/Resources"])
    }
    # Only the shipped fonts, declared as "Release Sans", chart labels included: nothing set
    # in whatever the system happens to have; and the embedded program is DejaVu Sans.
    assert fonts and all("Release-Sans" in name for name in fonts), sorted(fonts)
    for font in fonts.values():
        program = font["/DescendantFonts"][0]["/FontDescriptor"]["/FontFile2"].get_data()
        family = TTFont(io.BytesIO(program))["name"].getDebugName(1)
        assert family is not None and family.startswith("DejaVu Sans"), family
    english = pypdf.PdfReader(io.BytesIO(_file(release, ".en.pdf")))
    assert "the service recorded 120 reports" in english.pages[0].extract_text().replace("\n", " ")


def test_does_the_method_warn_that_one_group_reported_twice_counts_twice(app_ctx):
    """Reports cannot be linked to each other in statistics: the reader must be told that
    "people affected" adds up groups, and that one group reported by several people counts
    more than once unless caseworkers marked the reports as duplicates."""
    insert_records(40, months=Q4, seed=22)
    release = generate_release(
        period="2024-Q4", today=TODAY, parameters={"languages": ["ru", "en"]}
    )
    english = _file(release, ".en.html").decode()
    russian = _file(release, ".ru.html").decode()
    assert "the group is counted more than once" in english
    assert "a group larger than 50 counts as 50" in english
    assert "группа учитывается несколько раз" in russian


def test_does_pdf_rendering_refuse_every_network_address():
    """Could a template (or a crafted label) make the renderer fetch something from a server
    or read a file outside the shipped fonts?"""
    fetcher = _offline_fetcher()
    for url in (
        "http://example.org/x.png",
        "https://example.org/font.ttf",
        "ftp://example.org/x",
        "file:///etc/passwd",
        f"file://{FONTS_DIR}/../../config.py",
    ):
        with pytest.raises(NetworkRefused):
            fetcher.fetch(url)
    served = fetcher.fetch((FONTS_DIR / "DejaVuSans.ttf").as_uri())
    assert served.read(4) == b"\x00\x01\x00\x00"


def test_does_the_pdf_take_its_fonts_from_the_project_not_the_system(monkeypatch):
    """Are the shipped fonts (with Cyrillic) what the PDF is set in, fetched from
    static/fonts/ through the offline fetcher?"""
    from incident_service.releases.documents import pdf, render

    fetched: list[str] = []
    make = pdf._offline_fetcher

    def spying_fetcher():
        fetcher = make()
        original = fetcher.fetch

        def fetch(url, headers=None):
            fetched.append(url)
            return original(url, headers)

        fetcher.fetch = fetch
        return fetcher

    monkeypatch.setattr(pdf, "_offline_fetcher", spying_fetcher)
    html = (
        "<html><head><style>"
        + render._css(for_pdf=True)
        + "</style></head><body><p>Проверка шрифта</p><b>жирный</b></body></html>"
    )
    document = pypdf.PdfReader(io.BytesIO(pdf.render_pdf(html)))
    assert (FONTS_DIR / "DejaVuSans.ttf").as_uri() in fetched
    assert (FONTS_DIR / "DejaVuSans-Bold.ttf").as_uri() in fetched
    assert "Проверка шрифта" in document.pages[0].extract_text()


def test_does_a_remote_reference_stop_rendering_instead_of_reaching_the_network(monkeypatch):
    """If HTML with a remote image reached the renderer, would it stop without connecting?"""
    import urllib.request

    from weasyprint.urls import FatalURLFetchingError

    from incident_service.releases.documents.pdf import render_pdf

    def no_network(*args, **kwargs):
        raise AssertionError("the renderer tried to open a connection")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    html = '<html><body><p>Тест</p><img src="http://203.0.113.9/track.png"></body></html>'
    with pytest.raises(FatalURLFetchingError):
        render_pdf(html)


@pytest.mark.usefixtures("no_pdf_layout")
def test_is_the_csv_valid_hxl_that_humanitarian_tools_can_read(app_ctx):
    """Does libhxl read the CSV, find the expected hashtags, and accept the counts as numbers?"""
    insert_records(90, months=Q4, seed=22)
    release = generate_release(period="2024-Q4", today=TODAY)
    data = _file(release, ".csv")

    def dataset():
        return hxl.data(
            hxl.input.make_input(io.BytesIO(data), hxl.input.InputOptions(allow_local=True))
        )

    tags = {column.display_tag for column in dataset().columns}
    for tag in (
        "#date+start",
        "#adm1+code",
        "#country+origin+code",
        "#event+type+code",
        "#group+type+code",
        "#affected",
        "#meta+count",
    ):
        assert tag in tags
    problems: list = []
    schema = hxl.schema(
        [
            ["#valid_tag", "#valid_datatype", "#valid_required"],
            ["#meta+count", "number", ""],
            ["#affected", "number", ""],
            ["#date+start", "date", "true"],
            ["#meta+x_table", "", "true"],
        ],
        callback=problems.append,
    )
    assert schema.validate(dataset()), [(p.message, p.value) for p in problems]
    assert hxl.schema().validate(dataset())  # libhxl's own default checks
    rows = list(dataset())
    summary = next(r for r in rows if r.get("#group+type+code") == "reports")
    assert int(summary.get("#meta+count")) == 90
    statuses = {r.get("#meta+x_status") for r in rows}
    assert statuses <= {"published", "suppressed", "range", "withheld"}


@pytest.mark.usefixtures("no_pdf_layout")
def test_does_the_json_file_hold_the_same_figures_as_the_release(app_ctx):
    """Is the JSON download the release's own content, with labels for people without the
    taxonomy at hand?"""
    insert_records(50, months=["2024-11"], seed=23)
    release = generate_release(period="2024-11", today=TODAY)
    document = json.loads(_file(release, "-suppression.json"))
    assert document["release"]["parameters_digest"] == release.parameters_digest
    assert document["content"]["reports"] == 50
    row = document["content"]["tables"]["by_act"]["rows"][0]
    assert set(row["label"]) == {"ru", "en", "tg"}


# --------------------------------------------------------------------------------------------
# Signatures


@pytest.fixture
def downloaded(app_ctx, tmp_path, no_pdf_layout) -> Path:
    insert_records(40, months=["2024-11"], seed=24)
    release = generate_release(period="2024-11", today=TODAY)
    directory = tmp_path / "release"
    write_directory(
        directory, files=release.files, manifest=release.manifest, signature=release.signature
    )
    return directory


def _verify_key(app):
    return app.extensions["incident_keys"].require_verify_key()


def test_does_an_untouched_downloaded_release_verify(app_ctx, downloaded):
    """Does a release directory exactly as downloaded pass, file by file?"""
    result = verify_directory(downloaded, verify_key=_verify_key(app_ctx))
    assert result.ok and len(result.checked) == len(list(downloaded.iterdir())) - 2
    assert result.period == "2024-11"


@pytest.mark.parametrize(
    "suffix", [".csv", ".ru.html", "-suppression.json", ".en.pdf", "audit.json"]
)
def test_does_changing_one_byte_of_a_file_fail_and_name_that_file(app_ctx, downloaded, suffix):
    """If one byte of one file changes, does verification fail and say which file?"""
    target = next(p for p in downloaded.iterdir() if p.name.endswith(suffix))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_directory(downloaded, verify_key=_verify_key(app_ctx))
    assert not result.ok
    assert [p.name for p in result.problems if isinstance(p, TamperedFile)] == [target.name]


def test_does_an_edited_manifest_fail_its_signature(app_ctx, downloaded):
    """Could someone alter a file and update its hash in the manifest to match?"""
    manifest = downloaded / MANIFEST_NAME
    document = json.loads(manifest.read_bytes())
    document["files"][0]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    with pytest.raises(BadManifestSignature):
        verify_directory(downloaded, verify_key=_verify_key(app_ctx))


def test_does_a_release_signed_by_another_key_fail(app_ctx, downloaded):
    """Would a forged release signed with someone else's key pass as ours?"""
    from incident_service.crypto import SigningKey
    from incident_service.crypto.signing import sign

    other = SigningKey.generate()
    signature = sign((downloaded / MANIFEST_NAME).read_bytes(), other)
    (downloaded / SIGNATURE_NAME).write_bytes(base64.b64encode(signature) + b"\n")
    with pytest.raises(BadManifestSignature):
        verify_directory(downloaded, verify_key=_verify_key(app_ctx))


def test_does_the_verify_command_name_the_tampered_file(app, downloaded):
    """Does `incident-service summaries verify DIR` fail with the name of the altered file,
    and pass on an intact directory using the public key from the website?"""
    runner = app.test_cli_runner()
    client = app.test_client()
    pem = client.get("/summaries/signing-key.pub")
    assert pem.status_code == 200 and b"BEGIN PUBLIC KEY" in pem.data
    key_file = downloaded.parent / "signing-key.pub"
    key_file.write_bytes(pem.data)
    ok = runner.invoke(args=["summaries", "verify", str(downloaded), "--key", str(key_file)])
    assert ok.exit_code == 0, ok.output
    assert "OK: 2024-11" in ok.output
    target = next(p for p in downloaded.iterdir() if p.name.endswith(".csv"))
    target.write_bytes(target.read_bytes() + b"1")
    failed = runner.invoke(args=["summaries", "verify", str(downloaded), "--key", str(key_file)])
    assert failed.exit_code != 0
    assert target.name in failed.output


def test_is_the_public_key_the_same_at_every_address(app):
    """Do the PEM file, the JSON document and the API give the same key and fingerprint?"""
    client = app.test_client()
    from incident_service.crypto.signing import verify_key_from_pem

    pem = verify_key_from_pem(client.get("/summaries/signing-key.pub").data)
    document = client.get("/summaries/signing-key.json").get_json()
    api = client.get("/api/v1/summaries/signing-key").get_json()
    with app.app_context():
        key = _verify_key(app)
    assert pem == key
    assert document["fingerprint"] == api["fingerprint"] == key.fingerprint


def test_is_a_chart_the_same_file_every_time_with_its_text_kept_as_text():
    """Do the same figures give byte-identical SVG (so a release can be regenerated and
    compared), with Cyrillic labels left as selectable text?"""
    first = charts.bar_chart(["Москва", "Санкт-Петербург"], [40, None])
    second = charts.bar_chart(["Москва", "Санкт-Петербург"], [40, None])
    assert first == second
    assert "Москва" in first and "<text" in first


# --------------------------------------------------------------------------------------------
# The evidence log's signed tree head in every release


def test_does_a_release_pin_the_evidence_logs_signed_tree_head(app_ctx, tmp_path, no_pdf_layout):
    from tests import evidence_samples
    from tests.evidence_helpers import receive

    for _ in range(3):
        receive(evidence_samples.png(), day=TODAY - dt.timedelta(days=2))
    insert_records(40, months=["2024-11"], seed=24)
    release = generate_release(period="2024-11", today=TODAY)
    document = json.loads(release.manifest)
    head = document["evidence_log"]
    assert head["tree_size"] == 3 and len(head["signature"]) == 128
    directory = tmp_path / "release"
    write_directory(
        directory, files=release.files, manifest=release.manifest, signature=release.signature
    )
    result = verify_directory(directory, verify_key=_verify_key(app_ctx))
    assert result.ok and result.evidence_tree_size == 3


def test_does_a_release_with_an_empty_evidence_log_say_so(app_ctx, downloaded):
    document = json.loads((downloaded / MANIFEST_NAME).read_bytes())
    assert document["evidence_log"] is None


def test_does_a_manifest_from_before_the_evidence_log_still_verify(app_ctx, tmp_path):
    """Releases published before the field existed must keep verifying."""
    from incident_service.crypto.signing import sign
    from incident_service.releases.documents.manifest import signature_file

    key = app_ctx.extensions["incident_keys"].require_signing_key()
    content = b"period,count\n2024-10,12\n"
    manifest = (
        json.dumps(
            {
                "format": "incident-service-release/1",
                "period": "2024-10",
                "method": "suppression",
                "files": [
                    {
                        "name": "summary.csv",
                        "media_type": "text/csv",
                        "size": len(content),
                        "sha256": hashlib.sha256(content).hexdigest(),
                    }
                ],
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    ).encode()
    directory = tmp_path / "old"
    directory.mkdir()
    (directory / "summary.csv").write_bytes(content)
    (directory / MANIFEST_NAME).write_bytes(manifest)
    (directory / SIGNATURE_NAME).write_bytes(signature_file(sign(manifest, key)))
    result = verify_directory(directory, verify_key=_verify_key(app_ctx))
    assert result.ok and result.evidence_tree_size is None
