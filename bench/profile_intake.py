"""CPU per intake request, in-process: this process and its PostgreSQL backends (issue 14).

The same three paths as `bench/intake.py` (bare-insert baseline, JSON API, the form's POST plus
the GET of its receipt page) through Flask's test client rather than gunicorn and wrk, so that
each request's CPU can be read on a machine too busy for throughput figures to mean much.
Medians of three rounds, the paths alternating within each round. `--profile api|form` prints
a cProfile of that path (CPU time) instead.

    .venv/bin/python bench/profile_intake.py [--requests 200] [--profile api]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections.abc import Callable  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from bench import intake as bench  # noqa: E402
from bench.backend_cpu import backend_cpu, on_connect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=["baseline", "api", "form"])
    args = parser.parse_args()
    schema = "profile_intake_" + secrets.token_hex(4)
    instance = Path(tempfile.mkdtemp(prefix="profile-intake-"))
    env = bench._environment(instance, schema)
    bench.prepare(schema, env)
    try:
        sa.event.listen(sa.engine.Engine, "connect", on_connect)
        service, baseline_app = bench.service_app(), bench.baseline_app()
        base_client, api_client = baseline_app.test_client(), service.test_client()
        form_client = service.test_client()
        body = json.dumps(bench.REPORT, ensure_ascii=False)
        page = form_client.get("/report?lang=tg").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match is not None
        form_body = urllib.parse.urlencode([("csrf_token", match.group(1)), *bench.FORM])

        def baseline() -> None:
            response = base_client.post("/baseline", data=body, content_type="application/json")
            assert response.status_code == 201

        def api() -> None:
            response = api_client.post(
                "/api/v1/reports", data=body, content_type="application/json"
            )
            assert response.status_code == 201

        def form() -> None:
            response = form_client.post(
                "/report",
                data=f"{form_body}&token={secrets.token_hex(32)}",
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code == 303
            assert form_client.get("/report").status_code == 200

        paths: dict[str, Callable[[], None]] = {"baseline": baseline, "api": api, "form": form}
        for path in paths.values():
            for _ in range(30):
                path()
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(args.requests):
                paths[args.profile]()
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(60)
            return
        rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
        for _ in range(3):
            for name, path in paths.items():
                cpu, db_cpu = time.process_time(), backend_cpu()
                for _ in range(args.requests):
                    path()
                rounds[name].append(
                    (
                        (time.process_time() - cpu) / args.requests * 1e3,
                        (backend_cpu() - db_cpu) / args.requests * 1e3,
                    )
                )
        base = sum(statistics.median(r[i] for r in rounds["baseline"]) for i in (0, 1))
        for name, figures in rounds.items():
            here = statistics.median(r[0] for r in figures)
            there = statistics.median(r[1] for r in figures)
            print(
                f"{name:9s} {here:5.2f} ms CPU here + {there:4.2f} ms in PostgreSQL "
                f"= {here + there:5.2f} ms; baseline / this {base / (here + there):4.0%}"
            )
    finally:
        bench.cleanup(schema, instance)


if __name__ == "__main__":
    main()
