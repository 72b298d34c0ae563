"""Do reporters' pages stay fast while the staff login form is flooded?

Serves the app as deployed (`gunicorn incident_service.wsgi:app`, 2 sync workers, the redacting
logger class, PostgreSQL, Redis for rate limits and Argon2 slots, production-strength Argon2id
from the defaults) and measures `GET /report` latency (median and p95) from one client while N
other clients keep the login form busy, each sending its next attempt as soon as the last one
is answered. Scenarios, each measured for `--duration` seconds:

- quiet:      nobody logs in;
- bad logins: N clients post logins that cannot succeed: unknown addresses, a real address with
              a wrong or malformed code, a malformed address (each with a CSRF token, as a
              script that fetched the form first would);
- page loads: N clients load /report themselves, for reference: what N busy clients cost the
              2 sync workers whatever they ask for;
- phished:    N clients hold the current TOTP codes of 40 real accounts and try passwords, the
              one case that reaches Argon2 (skipped with --code, for code without accounts).

Every flooding request carries a random X-Forwarded-For behind TRUSTED_PROXIES=1, as a botnet
behind the TLS proxy would, so limits per address bucket do not hide the cost. `--code PATH`
serves another checkout (e.g. an export of an older commit) with the same setup, for a before
and after comparison on one machine.

    .venv/bin/python bench/login_flood.py [--flooders 8] [--duration 20] [--code PATH]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path, where bench/queue.py would shadow the
# standard library's queue module that Celery imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
PHISHED_ACCOUNTS = 40
WORKERS = 2


@dataclass(frozen=True)
class Account:
    email: str
    totp_secret: str


@dataclass
class Figures:
    scenario: str
    latencies_ms: list[float]
    flood_answers: Counter[int]
    seconds: float

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[18]


# --------------------------------------------------------------------------------------------
# Setting up: a schema, keys, the team key and the accounts, then gunicorn


def environment(instance: Path, schema: str, code: Path) -> dict[str, str]:
    env = dict(os.environ)
    database = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    env.update(
        INCIDENT_ENV="development",
        PROCESS_ROLE="web",
        INSTANCE_PATH=str(instance),
        KEYS_DIR=str(instance / "keys"),
        DATABASE_URL=database,
        REDIS_URL=REDIS_URL,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        CELERY_EAGER="0",
        TRUSTED_PROXIES="1",
        SECRET_KEY=secrets.token_hex(32),
        PYTHONPATH=str(code),
    )
    return env


def prepare(schema: str, env: dict[str, str], *, with_accounts: bool) -> list[Account]:
    """Tables, keys, the organisation's team key and (for the phished scenario) accounts."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    os.environ.update({**env, "PROCESS_ROLE": "all"})  # only the operator makes a team key
    from incident_service import create_app
    from incident_service.auth.teams import ensure_organisation
    from incident_service.models import db
    from incident_service.settings import Config

    app = create_app(Config.from_env())
    with app.app_context():
        db.create_all()
        ensure_organisation()
        db.session.commit()
        accounts = make_accounts(PHISHED_ACCOUNTS) if with_accounts else []
        db.engine.dispose()
    return accounts


def make_accounts(count: int) -> list[Account]:
    """Set-up officials (no key pair: quicker to make, and they log in the same way)."""
    import datetime as dt

    import pyotp

    from incident_service.auth import accounts, enrolment
    from incident_service.auth.teams import ensure_organisation
    from incident_service.constants import Role
    from incident_service.models import db

    organisation = ensure_organisation()
    made = []
    for n in range(count):
        user = enrolment.create_user(
            email=f"bench.official{n}@example.org", role=Role.OFFICIAL, organisation=organisation
        ).user
        secret = accounts.begin_totp_enrolment(user)
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        password = f"bench password {n:04d}"
        enrolment.complete_first_login(
            user=user,
            code=pyotp.TOTP(secret).at(earlier),
            new_password=password,
            confirm_password=password,
            passphrase=None,
            confirm_passphrase=None,
        )
        db.session.commit()
        made.append(Account(user.email, secret))
    return made


def cleanup(schema: str, instance: Path) -> None:
    import redis
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)
    # This run's counters, slots and limiter entries only: the database may be shared.
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in ("incident:*", "LIMITS*", "celery*", "_kombu*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    """`gunicorn incident_service.wsgi:app` as docs/operations.md runs it."""

    def __init__(self, env: dict[str, str], code: Path) -> None:
        self.port = free_port()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [
                *(gunicorn, "--workers", str(WORKERS), "--worker-class", "sync"),
                *("--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"),
                *("--logger-class", "incident_service.log_redaction.GunicornLogger"),
                "incident_service.wsgi:app",
            ],
            env=env,
            cwd=str(code),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(error)
            try:
                get(self.port, "/healthz")
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
# Requests


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Status, body and the session cookie set, on a fresh connection (sync workers close)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, body, response.getheader("Set-Cookie", "").split(";")[0]


def post(port: int, path: str, form: dict[str, str], headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode(form)
    connection.request(
        "POST",
        path,
        body,
        {**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def random_address(rng: random.Random) -> str:
    return (
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )


def bad_login(rng: random.Random, accounts: list[Account], real_email: str) -> dict[str, str]:
    """One login that cannot succeed, of the kinds a flood sends."""
    kind = rng.randrange(4)
    if kind == 0:
        return {"email": f"x{rng.getrandbits(40):x}@example.org", "password": "guess", "code": "1"}
    if kind == 1:
        code = f"{rng.randrange(10**6):06d}"
        return {"email": real_email, "password": "a guess at it", "code": code}
    if kind == 2:
        return {"email": real_email, "password": "a guess at it", "code": "abcdef"}
    return {"email": "not an address", "password": "guess", "code": "123456"}


def phished_login(rng: random.Random, accounts: list[Account], _real: str) -> dict[str, str]:
    """A real account's current code (a phished phone) with a wrong password: reaches Argon2."""
    import pyotp

    account = rng.choice(accounts)
    code = pyotp.TOTP(account.totp_secret).now()
    return {"email": account.email, "password": "a wrong password", "code": code}


def flooder(port: int, kind: str, accounts: list[Account], stop_at: float, answers: Any) -> None:
    """One client of the flood: sends its next request as soon as the last is answered."""
    rng = random.Random(os.getpid())
    _status, page, cookie = get(port, "/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    real_email = accounts[0].email if accounts else "bench.official0@example.org"
    counts: Counter[int] = Counter()
    while time.time() < stop_at:
        headers = {"Cookie": cookie, "X-Forwarded-For": random_address(rng)}
        try:
            if kind == "page loads":
                counts[get(port, "/report", headers)[0]] += 1
                continue
            make = phished_login if kind == "phished" else bad_login
            form = {
                **make(rng, accounts, real_email),
                "csrf_token": token.group(1) if token else "",
            }
            counts[post(port, "/login", form, headers)] += 1
        except OSError:
            counts[0] += 1
    answers.put(dict(counts))


# --------------------------------------------------------------------------------------------
# Measuring


def measure(
    port: int, scenario: str, flooders: int, seconds: float, accounts: list[Account]
) -> Figures:
    """GET /report, one after another, while `flooders` clients run the scenario."""
    answers: Any = multiprocessing.Queue()
    stop_at = time.time() + seconds + 2
    clients = []
    if scenario != "quiet":
        for _ in range(flooders):
            process = multiprocessing.Process(
                target=flooder, args=(port, scenario, accounts, stop_at, answers)
            )
            process.start()
            clients.append(process)
        time.sleep(2)  # let the flood build up before measuring
    latencies: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        before = time.perf_counter()
        status, _body, _cookie = get(port, "/report")
        latencies.append((time.perf_counter() - before) * 1000)
        if status != 200:
            raise RuntimeError(f"GET /report answered {status}")
    flood: Counter[int] = Counter()
    for process in clients:
        flood.update(answers.get(timeout=60))
        process.join(timeout=60)
    return Figures(scenario, latencies, flood, seconds)


def argon2_milliseconds() -> float:
    """What one production-strength Argon2id costs on this machine, for reading the figures."""
    from incident_service.crypto.passphrases import Argon2Parameters, hash_password

    params = Argon2Parameters()
    started = time.perf_counter()
    for _ in range(3):
        hash_password("benchmark", params)
    return (time.perf_counter() - started) / 3 * 1000


def report(figures: list[Figures], flooders: int, code: Path) -> None:
    print()
    print(f"code: {code}   gunicorn {WORKERS} sync workers   flooding clients: {flooders}")
    print(f"one Argon2id (64 MiB, 3 passes) here: {argon2_milliseconds():.0f} ms")
    print()
    print(f"{'scenario':<12} {'GET /report':>24}   {'flood answered':<40}")
    print(f"{'':<12} {'median':>10} {'p95':>10} {'n':>4}   {'per s':>6}  statuses")
    for item in figures:
        answered = sum(item.flood_answers.values())
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(item.flood_answers.items()))
        rate = f"{answered / (item.seconds + 2):6.0f}" if answered else "     -"
        count = len(item.latencies_ms)
        print(
            f"{item.scenario:<12} {item.median:8.1f}ms {item.p95:8.1f}ms {count:4d}"
            f"   {rate}  {statuses or '-'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flooders", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to serve")
    args = parser.parse_args()
    code = args.code.resolve()
    with_accounts = (code / "incident_service" / "auth" / "enrolment.py").exists()
    schema = "bench_login_" + secrets.token_hex(4)
    instance = Path(tempfile.mkdtemp(prefix="bench-login-"))
    env = environment(instance, schema, code)
    server = None
    try:
        accounts = prepare(schema, env, with_accounts=with_accounts)
        server = Gunicorn(env, code)
        for _ in range(20):
            get(server.port, "/report")  # warm both workers' templates and connections
        scenarios = ["quiet", "bad logins", "page loads"] + (["phished"] if accounts else [])
        figures = [
            measure(server.port, s, args.flooders, args.duration, accounts) for s in scenarios
        ]
        report(figures, args.flooders, code)
    finally:
        if server is not None:
            server.stop()
        cleanup(schema, instance)


if __name__ == "__main__":
    main()
