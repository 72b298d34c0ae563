"""Can an official check a downloaded release without this service's software: OpenSSL for the
manifest's signature and sha256sum for the files, exactly as the VERIFY.txt in the download says?
And does `summaries verify` take the download however it is handed over?"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from incident_service.constants import Role
from incident_service.models import User, db
from incident_service.releases.documents.manifest import (
    INSTRUCTIONS_NAME,
    KEY_NAME,
    MANIFEST_NAME,
    SUMS_NAME,
)
from incident_service.releases.lifecycle import generate_release, publish_release
from tests.release_helpers import TODAY
from tests.staff import login, make_staff
from tests.statistics_factory import insert_records

pytestmark = pytest.mark.usefixtures("no_pdf_layout")

OPENSSL = shutil.which("openssl")
SHA256SUM = shutil.which("sha256sum")
needs_tools = pytest.mark.skipif(
    OPENSSL is None or SHA256SUM is None, reason="openssl and sha256sum are needed"
)


def _download(app, tmp_path: Path) -> tuple[Path, Path]:
    """An official's download of a published release: the archive and the folder it unzips
    into (which holds the release folder)."""
    with app.app_context():
        insert_records(40, months=["2024-11"], seed=61)
        release = generate_release(period="2024-11", today=TODAY)
        supervisor = make_staff(role=Role.SUPERVISOR)
        publish_release(release.id, actor=db.session.get(User, supervisor.user_id))
        db.session.commit()
        release_id = release.id
        official = make_staff(role=Role.OFFICIAL)
    client = app.test_client()
    login(client, official)
    response = client.get(f"/summaries/{release_id}/release.zip")
    assert response.status_code == 200
    archive = tmp_path / "release.zip"
    archive.write_bytes(response.data)
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(io.BytesIO(response.data)) as opened:
        opened.extractall(unzipped)
    return archive, unzipped


def _commands(instructions: str) -> list[str]:
    """The shell commands of the English part of VERIFY.txt, continuation lines joined."""
    english = instructions.split("Как проверить")[0]
    lines = english.replace("\\\r\n", " ").replace("\\\n", " ").splitlines()
    return [
        re.sub(r"\s+", " ", line.strip())
        for line in lines
        if line.startswith("       ") and line.strip().startswith(("openssl ", "sha256sum "))
    ]


def _run(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, shell=True, cwd=folder, capture_output=True, text=True, check=False
    )


@needs_tools
def test_does_a_download_verify_with_openssl_and_sha256sum_as_its_verify_txt_says(app, tmp_path):
    """Unzip, then type the commands VERIFY.txt gives: does OpenSSL say "Signature Verified
    Successfully" and sha256sum "OK" for every file — and do both fail once a byte of the
    manifest, or of a file, is changed?"""
    _archive, unzipped = _download(app, tmp_path)
    (folder,) = list(unzipped.iterdir())
    instructions = (folder / INSTRUCTIONS_NAME).read_text(encoding="utf-8")
    assert "BEGIN PUBLIC KEY" in (folder / KEY_NAME).read_text(encoding="ascii")
    commands = _commands(instructions)
    assert [c.split()[0:2] for c in commands] == [
        ["openssl", "base64"],
        ["openssl", "pkeyutl"],
        ["sha256sum", "-c"],
    ]
    decode, check_signature, check_files = commands
    assert "-rawin" in check_signature and "-pubin" in check_signature

    assert _run(decode, folder).returncode == 0
    verified = _run(check_signature, folder)
    assert verified.returncode == 0, verified.stderr
    assert "Signature Verified Successfully" in verified.stdout
    summed = _run(check_files, folder)
    assert summed.returncode == 0, summed.stdout + summed.stderr
    listed = [line for line in summed.stdout.splitlines() if line.endswith(": OK")]
    names = (folder / SUMS_NAME).read_text(encoding="utf-8").splitlines()
    assert len(listed) == len(names) > 5

    # One byte of one file changed: sha256sum names it.
    target = next(folder.glob("*.csv"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    summed = _run(check_files, folder)
    assert summed.returncode != 0
    assert f"{target.name}: FAILED" in summed.stdout

    # The manifest edited (a hash changed to match the altered file): OpenSSL refuses it.
    manifest = folder / MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes().replace(b'"sha256": "', b'"sha256": "0', 1))
    refused = _run(check_signature, folder)
    assert refused.returncode != 0
    assert "Signature Verified Successfully" not in refused.stdout
    assert "Verification Failure" in refused.stdout + refused.stderr


def test_does_verify_take_the_archive_the_unzipped_folder_or_the_folder_inside(app, tmp_path):
    """`summaries verify` on the .zip, on the folder it unzips into (which used to say
    "manifest.json: listed in the manifest but missing") and on the release folder inside:
    does each pass, with the key from the download's own signing-key.pub?"""
    archive, unzipped = _download(app, tmp_path)
    (folder,) = list(unzipped.iterdir())
    key = folder / KEY_NAME
    runner = app.test_cli_runner()
    for target in (archive, unzipped, folder):
        result = runner.invoke(args=["summaries", "verify", str(target), "--key", str(key)])
        assert result.exit_code == 0, (target, result.output)
        assert result.output.startswith("OK: 2024-11 (suppression)")
        assert "not part of the release" not in result.output  # the helpers are known

    # SHA256SUMS replaced to match an altered file: sha256sum would agree, verify does not.
    target = next(folder.glob("*.csv"))
    target.write_bytes(target.read_bytes() + b"1,2,3\r\n")
    sums = (folder / SUMS_NAME).read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    rewritten = [
        f"{digest}  {target.name}" if line.endswith(f"  {target.name}") else line for line in sums
    ]
    (folder / SUMS_NAME).write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    for where in (unzipped, folder):
        failed = runner.invoke(args=["summaries", "verify", str(where), "--key", str(key)])
        assert failed.exit_code != 0
        assert target.name in failed.output and SUMS_NAME in failed.output


def test_does_verify_say_what_to_give_it_when_there_is_no_release(app, tmp_path):
    """A folder with no release in it (or the wrong folder) gets a sentence naming what to
    pass, not a missing-file error."""
    empty = tmp_path / "nothing"
    empty.mkdir()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["summaries", "verify", str(empty)])
    assert result.exit_code != 0
    assert ".zip" in result.output and "listed in the manifest" not in result.output
