"""Response headers that keep pages off the phone's disk and out of other sites' reach, and, in
production, tell browsers to use HTTPS only."""

from __future__ import annotations

from flask import Response

# No scripts at all: every page works without JavaScript, so none is allowed to run. Images and
# recordings come from this site only (evidence working copies in the case view).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
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
