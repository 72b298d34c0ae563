"""Can an operator generate production keys on a machine where the service cannot start yet?"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from incident_service import keystore


@pytest.mark.parametrize("environment", ["production", "development"])
def test_does_keys_generate_run_anywhere_and_write_only_into_out(tmp_path, environment):
    instance = tmp_path / "instance"
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INCIDENT_", "KEYS_"))}
    env.update(INCIDENT_ENV=environment, INSTANCE_PATH=str(instance))
    result = subprocess.run(
        [sys.executable, "-m", "incident_service.cli", "keys", "generate", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = set(keystore.FILES_BY_ROLE["all"]) | {"secret.key"}
    assert {path.name for path in out.iterdir()} >= expected
    assert not instance.exists(), "keys generate wrote outside --out"
    assert not any(keystore.is_development_file(path) for path in out.iterdir())
