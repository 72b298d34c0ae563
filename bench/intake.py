"""Intake throughput through the real HTTP path, next to a bare-insert baseline in the same run.

Three servers, one after the other, each gunicorn with 2 workers on PostgreSQL, in the worker
model production runs (`gthread`, 16 threads each, incident_service/serving.py) unless
`--worker-class sync` asks for the single-request sync workers this benchmark used before:

- baseline: a bare Flask endpoint that inserts the posted JSON, unencrypted, into a table;
- api:      POST /api/v1/reports (validation, HPKE sealing to the team and statistics keys,
            facets, mixing pool, commit, throttled pipeline nudge to Redis);
- form:     a whole submission: POST /report with a CSRF token and a fresh submission token,
            answered 303, then the GET of the receipt page it redirects to. Counted as one
            (the p50/p99 columns are per request).

The load comes from wrk (Debian's `wrk`) with 16 connections; without wrk a Python thread pool
stands in (its own CPU use then weighs on the 2 cores, so figures are not comparable). Each run
uses a fresh PostgreSQL schema and a temporary key directory, both removed at the end.

    .venv/bin/python bench/intake.py [--duration 15] [--connections 16] [--worker-class sync]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path, where bench/queue.py would shadow the
# standard library's queue module that Celery imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
TARGET_SHARE = 0.5

REPORT: dict[str, Any] = {
    "language": "tg",
    "incident_date": "2024-05-14",
    "date_precision": "day",
    "acts": ["BRD.01", "BRD.02", "BRD.03"],
    "perpetrators": ["BRD"],
    "location_type": "AIR",
    "country": "RU",
    "region": "RU-SPE",
    "airport": "LED",
    "place_text": "SYNTHETIC benchmark: terminal 1",
    "duration_hours": 3,
    "people": {"citizenship": ["TJK"], "sex": "M", "age_band": "25-34", "group_size": 30},
    "outcome": "REL",
    "narrative": "SYNTHETIC benchmark report. " + "Held as a group at passport control. " * 12,
    "reporter_role": "SELF",
    "consent": {"statistics": True, "follow_up": False, "share_with_ombudsman": False},
}

FORM: list[tuple[str, str]] = [
    ("acts", "BRD.01"),
    ("acts", "BRD.02"),
    ("acts", "BRD.03"),
    ("year", "2024"),
    ("month", "5"),
    ("day", "14"),
    ("country", "RU"),
    ("region", "RU-SPE"),
    ("airport", "LED"),
    ("location_type", "AIR"),
    ("place_text", REPORT["place_text"]),
    ("duration_hours", "3"),
    ("perpetrators", "BRD"),
    ("citizenship", "TJK"),
    ("group_size", "30"),
    ("outcome", "REL"),
    ("narrative", REPORT["narrative"]),
    ("reporter_role", "SELF"),
    ("consent_statistics", "yes"),
]


# --------------------------------------------------------------------------------------------
# The WSGI apps gunicorn loads (`bench.intake:service_app()`, `bench.intake:baseline_app()`)


def service_app() -> Any:
    from incident_service import create_app
    from incident_service.settings import Config

    return create_app(Config.from_env(), DATABASE_SCHEMA=os.environ["BENCH_SCHEMA"])


def baseline_app() -> Any:
    """What the same request costs with no validation, no sealing and no framework extras."""
    import sqlalchemy as sa
    from flask import Flask, request

    engine = sa.create_engine(
        POSTGRES_URL,
        connect_args={"options": f"-csearch_path={os.environ['BENCH_SCHEMA']}"},
        pool_pre_ping=True,
    )
    insert = sa.text("INSERT INTO baseline_reports (id, body) VALUES (:id, :body)")
    app = Flask("baseline")

    @app.post("/baseline")
    def baseline() -> tuple[dict[str, str], int]:
        body = request.get_json()
        with engine.begin() as connection:
            connection.execute(insert, {"id": secrets.token_hex(16), "body": json.dumps(body)})
        return {"receipt": "0" * 20}, 201

    return app


# --------------------------------------------------------------------------------------------
# Setting up and tearing down


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    stored: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(instance: Path, schema: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        INCIDENT_ENV="development",
        INSTANCE_PATH=str(instance),
        KEYS_DIR=str(instance / "keys"),
        DATABASE_URL=POSTGRES_URL,
        BENCH_SCHEMA=schema,
        REDIS_URL=REDIS_URL,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        CELERY_EAGER="0",
        # One load generator on one address: the per-address filing limits would stop it.
        REPORT_RATE_LIMIT="100000000 per hour",
        API_REPORT_RATE_LIMIT="100000000 per hour",
        SECRET_KEY=secrets.token_hex(32),
        PYTHONPATH=str(ROOT),
    )
    return env


def prepare(schema: str, env: dict[str, str]) -> None:
    """Schema, tables, keys and the team key, made once before the workers start."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(
            sa.text(f'CREATE TABLE "{schema}".baseline_reports (id text primary key, body text)')
        )
    engine.dispose()
    os.environ.update(env)
    from incident_service import create_app
    from incident_service.auth.teams import ensure_organisation
    from incident_service.models import db
    from incident_service.settings import Config

    app = create_app(Config.from_env(), DATABASE_SCHEMA=schema)
    with app.app_context():
        db.create_all()
        ensure_organisation()
        db.session.commit()
        db.engine.dispose()


def cleanup(schema: str, instance: Path) -> None:
    import redis
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)
    # The nudges sent to the broker (no worker runs here) and the limiter's counters.
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("celery*"):
        client.delete(key)
    for key in client.scan_iter("LIMITS*"):
        client.delete(key)
    for key in client.scan_iter("_kombu*"):
        client.delete(key)


def count_rows(schema: str, table: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    with engine.connect() as connection:
        value = connection.execute(sa.text(f'SELECT count(*) FROM "{schema}".{table}')).scalar()
    engine.dispose()
    return int(value or 0)


class Gunicorn:
    def __init__(
        self, app_spec: str, env: dict[str, str], worker_class: str, workers: int = 2
    ) -> None:
        self.port = _free_port()
        # gthread with 16 threads is what production runs (incident_service/serving.py);
        # sync, one request at a time per process, is what this benchmark used before.
        threads = ["--threads", "16"] if worker_class == "gthread" else []
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(workers),
                *threads,
                "--worker-class",
                worker_class,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                app_spec,
            ],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    self.process.stderr.read().decode() if self.process.stderr else ""
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --------------------------------------------------------------------------------------------
# Load


WRK_SCRIPT = r"""
local mode = os.getenv("BENCH_MODE")
local body = os.getenv("BENCH_BODY")
local cookie = os.getenv("BENCH_COOKIE") or ""
local hex = "0123456789abcdef"

function setup(thread) thread:set("seed", math.random(1, 2^31)) end
function init(args) math.randomseed(seed + os.time()) end

local function token()
  local t = {}
  for i = 1, 64 do local n = math.random(1, 16); t[i] = hex:sub(n, n) end
  return table.concat(t)
end

local sent = 0

function request()
  if mode == "form" then
    -- A submission is the POST and the GET of the page it redirects to (the receipt page):
    -- each thread alternates them.
    sent = sent + 1
    if sent % 2 == 0 then
      return wrk.format("GET", nil, {["Cookie"] = cookie}, nil)
    end
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = cookie,
    }, body .. "&token=" .. token())
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %d, "micros": %d, "p50": %d, "p99": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors))
end
"""


def run_wrk(url: str, mode: str, body: str, cookie: str, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        env = dict(os.environ, BENCH_MODE=mode, BENCH_BODY=body, BENCH_COOKIE=cookie)
        output = subprocess.run(
            [
                "wrk",
                "--threads",
                str(min(2, connections)),
                "--connections",
                str(connections),
                "--duration",
                f"{seconds}s",
                "--timeout",
                "10s",
                "--script",
                script.name,
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    match = re.search(r"RESULT (\{.*\})", output)
    if match is None:
        raise RuntimeError(output)
    raw = json.loads(match.group(1))
    return {
        "requests": raw["requests"],
        "seconds": raw["micros"] / 1e6,
        "p50_ms": raw["p50"] / 1000,
        "p99_ms": raw["p99"] / 1000,
        "errors": raw["errors"],
    }


def run_python(
    port: int, path: str, mode: str, body: str, cookie: str, seconds: int, connections: int
) -> dict:
    """Fallback load generator: one thread per connection (gunicorn sync closes each one)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        while time.monotonic() < stop_at:
            if mode == "form":
                payload = f"{body}&token={secrets.token_hex(32)}".encode()
                headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            else:
                payload = body.encode()
                headers = {"Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", path, payload, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status < 400
                if mode == "form":  # and the receipt page it redirects to
                    connection.request("GET", path, headers={"Cookie": cookie})
                    response = connection.getresponse()
                    response.read()
                    ok = ok and response.status < 400
                connection.close()
            except OSError:
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "errors": errors[0],
    }


def form_session(port: int) -> tuple[str, str]:
    """A session cookie and its CSRF token, as a browser gets them from GET /report."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/report?lang=tg")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if match is None or not cookie:
        raise RuntimeError("no CSRF token on the form page")
    body = urllib.parse.urlencode([("csrf_token", match.group(1)), *FORM])
    # One submission first, as a browser's first report: its answer sets the cookie that names
    # the browser's hand-off record, which every later POST and GET then uses (wrk sends one
    # fixed cookie; without this each POST would start a new record the GET never reads).
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/report",
        f"{body}&token={secrets.token_hex(32)}",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 303 or not response.getheader("Set-Cookie"):
        raise RuntimeError(f"the first form submission answered {response.status}")
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    connection.request("GET", "/report", headers={"Cookie": cookie})
    page = connection.getresponse().read().decode()
    if match.group(1) not in page and "receipt" not in page:
        raise RuntimeError("the receipt page did not follow the first submission")
    return cookie, body


def measure(
    name: str,
    server: Gunicorn,
    path: str,
    mode: str,
    body: str,
    cookie: str,
    args: argparse.Namespace,
    stored: Any,
) -> Result:
    url = f"http://127.0.0.1:{server.port}{path}"
    before = stored()
    warm = min(3, args.duration)
    if shutil.which("wrk") and not args.python_client:
        run_wrk(url, mode, body, cookie, warm, args.connections)
        figures = run_wrk(url, mode, body, cookie, args.duration, args.connections)
    else:
        run_python(server.port, path, mode, body, cookie, warm, args.connections)
        figures = run_python(server.port, path, mode, body, cookie, args.duration, args.connections)
        if mode == "form":
            figures["requests"] *= 2  # each was a POST and a GET
    if mode == "form":
        # One submission is two requests (POST, then the GET of the receipt page).
        figures["requests"] //= 2
    return Result(name=name, stored=stored() - before, **figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument(
        "--worker-class",
        choices=["gthread", "sync"],
        default="gthread",
        help="gunicorn worker model for all three servers (production: gthread, 16 threads)",
    )
    args = parser.parse_args()

    schema = "bench_" + secrets.token_hex(6)
    instance = Path(tempfile.mkdtemp(prefix="incident-bench-"))
    env = _environment(instance, schema)
    results: list[Result] = []
    try:
        prepare(schema, env)
        reports = lambda: count_rows(schema, "reports")  # noqa: E731
        baseline_rows = lambda: count_rows(schema, "baseline_reports")  # noqa: E731
        body = json.dumps(REPORT, ensure_ascii=False)

        server = Gunicorn("bench.intake:baseline_app()", env, args.worker_class)
        try:
            results.append(
                measure("baseline", server, "/baseline", "json", body, "", args, baseline_rows)
            )
        finally:
            server.stop()

        server = Gunicorn("bench.intake:service_app()", env, args.worker_class)
        try:
            results.append(
                measure("api", server, "/api/v1/reports", "json", body, "", args, reports)
            )
            cookie, form_body = form_session(server.port)
            results.append(
                measure("form", server, "/report", "form", form_body, cookie, args, reports)
            )
        finally:
            server.stop()
    finally:
        cleanup(schema, instance)

    client = "wrk" if shutil.which("wrk") and not args.python_client else "python threads"
    print(
        f"intake benchmark: gunicorn 2 {args.worker_class} workers, PostgreSQL, "
        f"{args.connections} connections "
        f"({client}), {args.duration} s per run, {os.cpu_count()} CPUs"
    )
    print(
        f"{'path':<10}{'subm/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'stored':>8}{'share':>8}"
    )
    baseline = results[0].rate
    for result in results:
        print(
            f"{result.name:<10}{result.rate:>9.0f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}"
            f"{result.errors:>9}{result.stored:>9}{result.rate / baseline:>9.0%}"
        )
    missed = [r.name for r in results[1:] if r.rate < TARGET_SHARE * baseline]
    print(
        f"target: each path at least {TARGET_SHARE:.0%} of the baseline's throughput: "
        + ("met" if not missed else f"MISSED by {', '.join(missed)}")
    )
    return 1 if missed or any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
