"""Does the service work as an installed package, without the checkout?

Builds the wheel the way an operator would (`pip wheel .`), installs it into a fresh virtual
environment, then runs `incident-service init` and serves pages from an empty directory far
from the checkout: templates, static files, translations, migrations and the Alembic
configuration must all come from inside the package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

import pytest

from tests import PROJECT_ROOT

# One xdist worker builds the module's fixture and runs all its tests (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("wheel")


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _title(page: bytes) -> bytes:
    return page.split(b"<title>", 1)[1].split(b"</title>", 1)[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project's wheel (and its pinned dependencies) installed."""
    root = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), "."],
        cwd=PROJECT_ROOT,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("*.whl")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    install = _run(
        [str(python), "-m", "pip", "install", "-q", "-c", "constraints.txt", str(wheel)],
        cwd=PROJECT_ROOT,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return root / "venv"


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FLASK_"))}
    env.update(INCIDENT_ENV="development", HOME=str(home))
    for name in ("DATABASE_URL", "INSTANCE_PATH", "KEYS_DIR", "REDIS_URL", "CELERY_EAGER"):
        env.pop(name, None)
    return env


def test_does_the_wheel_carry_everything_and_no_bare_config_module(installed):
    python = installed / "bin" / "python"
    probe = _run(
        [
            str(python),
            "-c",
            "import importlib.util, incident_service, incident_service.resources as r;"
            "print(incident_service.__file__);"
            "print(importlib.util.find_spec('config'));"
            "print(r.is_checkout());"
            "[print(r.resource_dir(n)) for n in ('templates', 'static', 'migrations')]",
        ],
        cwd=installed.parent,
    )
    assert probe.returncode == 0, probe.stderr
    package_file, config_spec, checkout, *folders = probe.stdout.split()
    assert package_file.startswith(str(installed))
    assert config_spec == "None", "a top-level module named config was installed"
    assert checkout == "False"
    assert all(folder.startswith(str(installed)) for folder in folders)


def test_does_init_then_serving_work_from_an_empty_directory(installed, tmp_path):
    """The operator's first steps with the installed package, in a directory of their own."""
    workdir = tmp_path / "operator"
    workdir.mkdir()
    env = _environment(tmp_path)
    command = str(installed / "bin" / "incident-service")
    init = _run([command, "init"], cwd=workdir, env=env)
    assert init.returncode == 0, init.stderr[-3000:]
    assert "database migrated to the latest revision" in init.stdout
    assert (workdir / "instance" / "incident.db").exists()

    port = _free_port()
    server = subprocess.Popen(
        [command, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline:
            try:
                status, _ = _get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200, "the installed service did not start serving"
        status, tajik = _get(base + "/report?lang=tg")
        assert status == 200 and b'<form method="post"' in tajik
        _, english = _get(base + "/report?lang=en")
        # The compiled Tajik catalogue came with the package: the page is not the English one.
        assert _title(tajik) != _title(english)
        status, css = _get(base + "/static/site.css")
        assert status == 200 and b"{" in css
    finally:
        server.terminate()
        server.wait(timeout=20)
