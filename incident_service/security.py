"""Response headers that keep pages off the phone's disk and out of other sites' reach, and, in
production, tell browsers to use HTTPS only."""

from __future__ import annotations

import base64
import hashlib

from flask import Response

from incident_service.resources import resource_dir

# The reporter's pages carry their style sheet inside the page: on a 2G link a second request
# costs a round trip (300 ms or more) before the first screen shows, and a stored copy of a
# file naming the site would stay in the phone's cache after the history is cleared
# (docs/decisions.md, "Page weight"). The policy allows exactly this text and no other.
REPORTER_STYLE = (resource_dir("static") / "reporter.css").read_text(encoding="utf-8")
if "<" in REPORTER_STYLE:
    raise RuntimeError("reporter.css must not contain '<': it is placed inside <style>")
REPORTER_STYLE_SOURCE = (
    "'sha256-"
    + base64.b64encode(hashlib.sha256(REPORTER_STYLE.encode("utf-8")).digest()).decode()
    + "'"
)

# No scripts at all: every page works without JavaScript, so none is allowed to run. Images and
# recordings come from this site only (evidence working copies in the case view).
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'self' {REPORTER_STYLE_SOURCE}; img-src 'self'; "
    "media-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), ambient-light-sensor=(), autoplay=(), camera=(), display-capture=(), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), "
    "interest-cohort=()"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    # Nothing a reporter or caseworker sees may be kept in the browser's cache.
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
}


# A year, subdomains included, no preload (that list is the operator's decision to make). Only
# in production: on a developer's http://127.0.0.1 the header would be ignored at best, and a
# browser that saw it on a real host name would refuse plain HTTP there for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def apply_security_headers(response: Response, *, production: bool) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if production:
        # A first visit over plain HTTP on a carrier's network can be rewritten in transit;
        # after one visit over HTTPS the browser never tries plain HTTP again.
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    # Validators are a tracking vector and pointless with no-store.
    for name in ("ETag", "Last-Modified"):
        response.headers.pop(name, None)
    return response
