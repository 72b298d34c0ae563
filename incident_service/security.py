"""Response headers that keep pages off the phone's disk and out of other sites' reach."""

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


def apply_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    # Validators are a tracking vector and pointless with no-store.
    for name in ("ETag", "Last-Modified"):
        response.headers.pop(name, None)
    return response
