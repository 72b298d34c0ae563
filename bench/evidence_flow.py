"""The evidence flow end to end, for `bench/evidence.py --upload --photos N`: a 25 MB upload
through the tus endpoints of a real gunicorn web process, and the evidence worker's clean copies
of 12-megapixel photos. Everything runs on this machine, against 127.0.0.1 only."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
FILE_BYTES = 25 * MB - 4096
PATCH_BYTES = 5 * MB


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wav(size: int) -> bytes:
    import struct

    body = os.urandom(size - 44)
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + b"data" + struct.pack("<I", len(body)) + body


def _request(port: int, method: str, path: str, body: bytes = b"", **headers: str):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer, data


def _serve(instance: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "INCIDENT_ENV": "development",
        "INSTANCE_PATH": str(instance),
        "CELERY_EAGER": "0",  # the clean copy is the worker's; a message is all the web sends
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "REPORT_RATE_LIMIT": "1000 per minute",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    cli = str(Path(sys.executable).parent / "incident-service")
    subprocess.run([cli, "init"], env=env, cwd=str(ROOT), check=True, capture_output=True)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [gunicorn, "-c", "python:incident_service.serving", "incident_service.wsgi:app"],
        env=env,
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            _request(port, "GET", "/healthz")
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _one_upload(port: int, receipt: str, data: bytes) -> tuple[float, float]:
    metadata = "receipt " + base64.b64encode(receipt.encode()).decode()
    tus = {"Tus-Resumable": "1.0.0"}
    start = time.perf_counter()
    answer, _ = _request(
        port,
        "POST",
        "/api/v1/uploads",
        **tus,
        **{"Upload-Length": str(len(data)), "Upload-Metadata": metadata},
    )
    assert answer.status == 201, answer.status
    location = answer.getheader("Location") or ""
    last = 0.0
    for offset in range(0, len(data), PATCH_BYTES):
        piece = data[offset : offset + PATCH_BYTES]
        began = time.perf_counter()
        answer, body = _request(
            port,
            "PATCH",
            location,
            piece,
            **tus,
            **{
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(piece)),
            },
        )
        assert answer.status == 204, (answer.status, body[:200])
        last = time.perf_counter() - began
    return time.perf_counter() - start, last


def upload_bench(*, runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.factories import report_payload

    with tempfile.TemporaryDirectory() as folder:
        process, port = _serve(Path(folder))
        try:
            answer, body = _request(
                port,
                "POST",
                "/api/v1/reports",
                json.dumps(report_payload()).encode(),
                **{"Content-Type": "application/json"},
            )
            assert answer.status == 201, body
            receipt = json.loads(body)["receipt"]
            totals, lasts = [], []
            for _ in range(runs):
                total, last = _one_upload(port, receipt, _wav(FILE_BYTES))
                totals.append(total)
                lasts.append(last)
        finally:
            process.terminate()
            process.wait(timeout=30)
    median = statistics.median(totals)
    print(
        f"tus upload of {FILE_BYTES / MB:.1f} MiB in PATCHes of 5 MiB over HTTP (gunicorn "
        f"gthread, SQLite), {runs} runs"
    )
    print(
        f"  total   median {median:5.2f} s  ({FILE_BYTES / MB / median:5.1f} MiB/s)   runs: "
        + "  ".join(f"{t:5.2f}" for t in totals)
    )
    print(
        f"  last PATCH (read back, hash, judge, join, record) median "
        f"{statistics.median(lasts):5.2f} s"
    )


def _photo(seed: int) -> bytes:
    """A 4000 x 3000 JPEG (12 MP) shaped like a phone photo: gradients, grain, EXIF with GPS."""
    from PIL import ExifTags, Image

    width, height = 4000, 3000
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.effect_noise((width, height), 12 + seed)
    blue = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    exif[ExifTags.Base.Model] = "SM-A515F"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({1: "N", 2: (55.0, 45.0, 20.0), 3: "E", 4: (37.0, 37.0, 3.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def photo_bench(count: int) -> None:
    sys.path.insert(0, str(ROOT))
    from incident_service import create_app
    from incident_service.evidence.cleaning import make_clean_copies
    from incident_service.models import db
    from incident_service.settings import Config
    from tests.evidence_helpers import receive

    photos = [_photo(seed) for seed in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        config = Config.from_env({"INSTANCE_PATH": folder, "CELERY_EAGER": "1"})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            from incident_service.auth.teams import ensure_organisation

            ensure_organisation()
            db.session.commit()
            for data in photos:
                receive(data)
            start = time.perf_counter()
            result = make_clean_copies()
            elapsed = time.perf_counter() - start
    size = statistics.mean(len(p) for p in photos) / MB
    print(f"clean copies of {count} photos of 12 MP (JPEG, {size:.1f} MiB each, with GPS)")
    print(
        f"  {result.made} made in {elapsed:.1f} s: {count / elapsed:.2f} photos/s, "
        f"{elapsed / count:.2f} s each (one process)"
    )
