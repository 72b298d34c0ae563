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
import time
from typing import Any

from flask import current_app, request

SALT_TTL_SECONDS = 2 * 24 * 3600
# A salt fetched from Redis is kept for the rest of its day; one made locally because Redis was
# down is retried after this many seconds so that all processes converge on the shared one.
LOCAL_SALT_RETRY_SECONDS = 60.0

_lock = threading.Lock()
# (storage uri, day) -> (salt, monotonic time after which to ask Redis again, or None: never)
_salts: dict[tuple[str, str], tuple[bytes, float | None]] = {}
_clients: dict[str, Any] = {}


def redis_client(storage_uri: str) -> Any:
    """One client (and connection pool) per storage URI and process, with short timeouts."""
    import redis

    client = _clients.get(storage_uri)
    if client is None:
        client = redis.Redis.from_url(storage_uri, socket_timeout=1, socket_connect_timeout=1)
        _clients[storage_uri] = client
    return client


def _shared_salt(storage_uri: str, day: str) -> bytes | None:
    import redis

    client = redis_client(storage_uri)
    key = f"incident:ratelimit-salt:{day}"
    try:
        client.set(key, secrets.token_bytes(32), nx=True, ex=SALT_TTL_SECONDS)
        value = client.get(key)
    except redis.RedisError:
        return None  # Redis down: a per-process salt keeps limits working meanwhile
    return value if isinstance(value, bytes) else None


def _daily_salt() -> bytes:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    storage_uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    now = time.monotonic()
    with _lock:
        cached = _salts.get((storage_uri, day))
        if cached is not None and (cached[1] is None or cached[1] > now):
            return cached[0]
    shared = _shared_salt(storage_uri, day) if storage_uri.startswith("redis") else None
    with _lock:
        for stale in [k for k in _salts if k[1] != day]:
            del _salts[stale]
        if shared is not None:
            _salts[(storage_uri, day)] = (shared, None)
            return shared
        if storage_uri.startswith("redis"):
            previous = _salts.get((storage_uri, day))
            salt = previous[0] if previous is not None else secrets.token_bytes(32)
            _salts[(storage_uri, day)] = (salt, now + LOCAL_SALT_RETRY_SECONDS)
            return salt
        salt = secrets.token_bytes(32)
        _salts[(storage_uri, day)] = (salt, None)
        return salt


def rate_limit_key() -> str:
    address = (request.remote_addr or "unknown").encode("utf-8")
    return hmac.new(_daily_salt(), address, hashlib.sha256).hexdigest()[:32]
