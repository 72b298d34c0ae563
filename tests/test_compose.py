"""docker-compose.yml: valid, and every command it runs exists in this project."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_does_compose_define_the_five_services_from_one_image():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    own = [services[name] for name in ("web", "worker", "beat")]
    images = {service.get("image") for service in own}
    assert len(images) == 1 and None not in images


def test_does_each_service_command_exist_in_the_project():
    services = _compose()["services"]
    import importlib.util

    for name in ("web", "worker", "beat", "evidence-worker"):
        command = services[name]["command"]
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        program = argv[0]
        assert program in {"gunicorn", "celery", "incident-service"}, name
        if program == "gunicorn":
            target = argv[-1]
            module, _, attribute = target.partition(":")
            spec = importlib.util.find_spec(module)
            assert spec is not None and spec.origin is not None
            assert f"{attribute} =" in Path(spec.origin).read_text()
        if program == "celery":
            app_index = argv.index("-A") + 1
            module = argv[app_index].split(":")[0]
            assert importlib.util.find_spec(module) is not None
            assert argv[app_index + 1] in {"worker", "beat"}


def test_do_web_and_worker_keep_evidence_in_the_object_store():
    """Production refuses the local store: web and worker share the object store service."""
    compose = _compose()
    assert "objectstore" in compose["services"]
    environment = compose["x-app-env"]
    assert environment["EVIDENCE_STORE"] == "s3"
    assert environment["EVIDENCE_S3_ENDPOINT"].startswith("http://objectstore:")


def test_does_the_web_service_never_get_the_worker_keys():
    services = _compose()["services"]
    web_volumes = " ".join(services["web"].get("volumes", []))
    worker_volumes = " ".join(services["worker"].get("volumes", []))
    assert "keys-worker" not in web_volumes
    assert "keys-worker" in worker_volumes


def test_do_the_documented_commands_match_compose():
    """docs/operations.md gives the same commands for running by hand."""
    operations = (ROOT / "docs" / "operations.md").read_text()
    services = _compose()["services"]
    for name in ("web", "worker", "beat", "evidence-worker"):
        command = services[name]["command"]
        text = command if isinstance(command, str) else " ".join(command)
        assert text in operations, name


def test_does_only_the_evidence_worker_get_the_evidence_key():
    """The evidence key opens every file: not the web's, not the statistics worker's."""
    services = _compose()["services"]
    evidence = services["evidence-worker"]
    assert evidence["environment"]["PROCESS_ROLE"] == "evidence"
    assert " ".join(evidence["volumes"]) == "keys-evidence:/keys:ro"
    assert "-Q evidence" in evidence["command"]
    for name in ("web", "worker", "beat"):
        assert "keys-evidence" not in " ".join(services[name].get("volumes", [])), name
