"""Rate-limit keys: a keyed hash of the client address under a salt that rotates daily.

The address itself is never stored or logged. The salt lives only in the limiter's storage
(Redis in production, process memory in the embedded default) and expires after two days, so
yesterday's counters cannot be tied to today's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading

from flask import current_app, request

_local_salts: dict[str, bytes] = {}
_lock = threading.Lock()
SALT_TTL_SECONDS = 2 * 24 * 3600


def _daily_salt() -> bytes:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    storage_uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if storage_uri.startswith("redis"):
        import redis

        client = redis.Redis.from_url(storage_uri, socket_timeout=1, socket_connect_timeout=1)
        key = f"incident:ratelimit-salt:{day}"
        try:
            client.set(key, secrets.token_bytes(32), nx=True, ex=SALT_TTL_SECONDS)
            value = client.get(key)
        except redis.RedisError:
            value = None  # Redis down: fall back to a per-process salt, limits still apply
        if isinstance(value, bytes):
            return value
    with _lock:
        for stale in [d for d in _local_salts if d != day]:
            del _local_salts[stale]
        return _local_salts.setdefault(day, secrets.token_bytes(32))


def rate_limit_key() -> str:
    address = (request.remote_addr or "unknown").encode("utf-8")
    return hmac.new(_daily_salt(), address, hashlib.sha256).hexdigest()[:32]
