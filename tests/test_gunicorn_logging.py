"""The web server's own logs: no access log, and no client address in the error log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_does_gunicorn_log_a_malformed_request_without_the_clients_address(tmp_path):
    """gunicorn reports bad request lines "from ip=..."; the logger class must redact it."""
    port = _free_port()
    env = {
        **os.environ,
        "INSTANCE_PATH": str(tmp_path),
        "INCIDENT_ENV": "development",
        "CELERY_EAGER": "1",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "debug",
            "--logger-class",
            "incident_service.log_redaction.GunicornLogger",
            "incident_service.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
                    client.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if client.recv(100).startswith(b"HTTP/1."):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GARBAGE\r\n\r\n")
            client.recv(1000)
        time.sleep(0.5)
    finally:
        server.terminate()
        output, errors = server.communicate(timeout=30)
    log = (output + errors).decode("utf-8", "replace")
    assert "Invalid request" in log  # the line is there ...
    assert "127.0.0.1" not in log.replace(f"127.0.0.1:{port}", "")  # ... without the address
    assert '/healthz HTTP/1.0" 200' not in log  # and no access log line at all
