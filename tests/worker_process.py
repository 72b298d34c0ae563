"""A real Celery worker (or redis-server) as a child process of the test, for integration tests.

The worker runs `celery -A workers.celery_app worker` exactly as deployed, with its environment
pointing at the test's database (SQLite file or PostgreSQL schema), key directory and Redis
database. Only processes started here are ever signalled, each by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    """Poll until `predicate()` holds; False if it never did within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def worker_environment(app: Flask, *, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a worker needs to share the test app's database and keys."""
    settings = app.extensions["incident_config"]
    database_url = settings.DATABASE_URL
    schema = app.config.get("DATABASE_SCHEMA")
    if schema:
        separator = "&" if "?" in database_url else "?"
        database_url = f"{database_url}{separator}options=-csearch_path%3D{schema}"
    env = {
        name: value
        for name, value in os.environ.items()
        if name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    }
    env.update(
        INCIDENT_ENV="testing",
        PROCESS_ROLE="worker",
        INSTANCE_PATH=settings.INSTANCE_PATH,
        DATABASE_URL=database_url,
        KEYS_DIR=settings.KEYS_DIR,
        REDIS_URL=redis_url,
        CELERY_EAGER="0",
        HPKE_SUITE=settings.HPKE_SUITE,
        ANONYMISE_MIN_BATCH=str(app.config["ANONYMISE_MIN_BATCH"]),
        ANONYMISE_MAX_WAIT=str(app.config["ANONYMISE_MAX_WAIT"]),
        ANONYMISE_MIN_OVERDUE_BATCH=str(app.config["ANONYMISE_MIN_OVERDUE_BATCH"]),
        ARGON2_MEMORY_KIB="1024",
        ARGON2_TIME_COST="1",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """`celery -A workers.celery_app worker` with its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *, concurrency: int = 1) -> None:
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready_timeout: float = 120) -> WorkerProcess:
        name = f"pipeline-test-{secrets.token_hex(4)}@%h"
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.concurrency),
            "--pool",
            "prefork",
            "-n",
            name,
            "--without-mingle",
            "--without-gossip",
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if not wait_for(lambda: " ready." in self.log() or not self.alive(), timeout=ready_timeout):
            self.kill()
            raise AssertionError("worker did not start:\n" + self.log()[-3000:])
        if not self.alive():
            raise AssertionError("worker exited at start:\n" + self.log()[-3000:])
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """Pool processes forked by the worker's main process."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def signal_children(self, signum: int) -> list[int]:
        pids = self.children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        return pids

    def kill(self) -> None:
        """SIGKILL the main process and its pool children: no shutdown, no acknowledgements."""
        if self.process is None:
            return
        children = self.children()
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), falling back to SIGKILL."""
        if not self.alive():
            return
        assert self.process is not None
        children = self.children()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of the test's own, on its own port, that the test may stop and restart
    (the shared Redis on 6379 is never touched)."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        import redis

        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir
        )

        def answers() -> bool:
            try:
                return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
            except Exception:
                return False

        if not wait_for(answers, timeout=20):
            self.stop()
            raise AssertionError("private redis-server did not start")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
