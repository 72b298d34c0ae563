"""CPU spans of one form submission and one API report, in-process (issue 14).

Where `bench/profile_intake.py --profile` runs cProfile (which inflates Python-heavy code
several times over), this wraps the parts of the request with `time.process_time()` and prints
each part's CPU per submission, nested as called (an indented part is inside the one above it
that is less indented). Same setup as `bench/profile_intake.py`: PostgreSQL, Redis, a fresh
schema, Flask's test client.

    .venv/bin/python bench/intake_parts.py [requests]
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import intake as bench  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SPANS: dict[str, float] = {}
COUNTS: dict[str, int] = {}


def wrap(owner: Any, attr: str, label: str) -> None:
    orig = getattr(owner, attr)

    @functools.wraps(orig)
    def inner(*a: Any, **k: Any) -> Any:
        t = time.process_time()
        try:
            return orig(*a, **k)
        finally:
            SPANS[label] = SPANS.get(label, 0.0) + time.process_time() - t
            COUNTS[label] = COUNTS.get(label, 0) + 1

    setattr(owner, attr, inner)


schema = "parts_" + secrets.token_hex(4)
instance = Path(tempfile.mkdtemp(prefix="parts-"))
env = bench._environment(instance, schema)
bench.prepare(schema, env)
try:
    service = bench.service_app()
    import flask
    import flask.ctx
    import flask.sessions
    import flask.templating
    import flask_wtf.csrf

    import incident_service.api.reports as apir
    from incident_service.intake import handoff, storage, views

    wrap(flask.ctx.RequestContext, "push", "ctx.push (session open, url match)")
    wrap(flask.ctx.RequestContext, "pop", "ctx.pop (teardown)")
    wrap(flask.Flask, "preprocess_request", "preprocess_request")
    wrap(flask_wtf.csrf.CSRFProtect, "protect", "  csrf protect")
    wrap(flask.Flask, "dispatch_request", "dispatch_request")
    wrap(flask.Flask, "finalize_request", "finalize_request")
    wrap(flask.Flask, "process_response", "  process_response")
    wrap(flask.sessions.SecureCookieSessionInterface, "save_session", "    save_session")
    wrap(flask.sessions.SecureCookieSessionInterface, "open_session", "  open_session")
    wrap(views, "ReportForm", "  ReportForm()")
    wrap(views, "parse_report", "  parse_report")
    wrap(views, "anonymous_allowance", "  anonymous_allowance")
    wrap(views, "count_filing", "  count_filing")
    wrap(views, "bind_submission_token", "  bind_submission_token")
    wrap(views, "submit_report", "  submit_report")
    wrap(storage, "record_report", "    record_report")
    wrap(storage, "_insert_report_rows", "      insert rows")
    wrap(views, "readings_of", "  readings_of")
    wrap(views, "_hand_over_receipt", "  _hand_over_receipt")
    wrap(handoff, "put", "    handoff.put")
    wrap(handoff, "get", "    handoff.get")
    wrap(handoff, "take", "    handoff.take")
    wrap(handoff, "delete", "    handoff.delete")
    if hasattr(handoff, "get_deleting"):
        wrap(handoff, "get_deleting", "    handoff.get_deleting")
    wrap(views, "_open_details", "  _open_details")
    wrap(views, "_receipt_page", "  _receipt_page")
    wrap(flask.templating, "_render", "    jinja render")
    wrap(apir, "parse_report", "  api parse_report")
    wrap(apir, "count_filing", "  api count_filing")
    wrap(apir, "submit_report", "  api submit_report")
    client = service.test_client()
    body = json.dumps(bench.REPORT, ensure_ascii=False)
    page = client.get("/report?lang=tg").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    token = match.group(1)
    form_body = urllib.parse.urlencode([("csrf_token", token), *bench.FORM])

    def form() -> None:
        r = client.post(
            "/report",
            data=f"{form_body}&token={secrets.token_hex(32)}",
            content_type="application/x-www-form-urlencoded",
        )
        assert r.status_code == 303, r.status_code
        assert client.get("/report").status_code == 200

    api_client = service.test_client()

    def api() -> None:
        r = api_client.post("/api/v1/reports", data=body, content_type="application/json")
        assert r.status_code == 201

    for path in (form, api):
        for _ in range(50):
            path()
    for name, path in (("form", form), ("api", api)):
        SPANS.clear()
        COUNTS.clear()
        t = time.process_time()
        for _ in range(N):
            path()
        total = (time.process_time() - t) / N * 1e3
        print(f"== {name}: {total:.3f} ms CPU per submission (incl. test client)")
        for k, v in SPANS.items():
            print(f"   {k:42s} {v / N * 1e3:7.3f} ms  ({COUNTS[k] / N:.0f}x)")
finally:
    bench.cleanup(schema, instance)
