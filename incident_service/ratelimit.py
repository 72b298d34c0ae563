"""Rate-limit keys: a keyed hash of the client's address bucket under a key derived for the day.

The address is never stored or logged. Its hash is HMAC-SHA256 under a key that HKDF derives
from `address.key` (a web key file) and today's date. That key exists only in the web
processes' memory — never in Redis beside the counters it names — so a copy of Redis cannot be
searched for an address, even by trying every IPv4 address: the search needs the key file.
Counter names hide their time window the same way (`counter_name`).

IPv6 addresses count per /64 (`RATELIMIT_IPV6_PREFIX`): a subscriber usually holds a whole
/64, and counting single addresses would hand each of its 2^64 addresses a fresh allowance.

Counts in fixed windows ("10 per hour;30 per day") live here too (`add_to_windows`), shared by
intake's filing limits and the Argon2 budget of staff logins: in Redis when
`RATELIMIT_STORAGE_URI` names one, so every web process sees them, else in this process. So
do slots shared by every web process (`shared_slot`), which cap how many requests of one kind
run at once across the deployment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app, request
from limits import parse_many

from incident_service.crypto import SymmetricKey
from incident_service.crypto.tags import derive_daily_key, keyed_tag
from incident_service.keystore import current_keyring

DEFAULT_IPV6_PREFIX = 64

_lock = threading.Lock()
# (address key, day) -> the derived key; process memory only, yesterday's dropped.
_day_keys: dict[tuple[bytes, str], SymmetricKey] = {}
_clients: dict[str, Any] = {}
_memory_lock = threading.Lock()


def redis_client(storage_uri: str) -> Any:
    """One client (and connection pool) per storage URI and process, with short timeouts."""
    import redis

    client = _clients.get(storage_uri)
    if client is None:
        client = redis.Redis.from_url(storage_uri, socket_timeout=1, socket_connect_timeout=1)
        _clients[storage_uri] = client
    return client


def address_bucket(address: str, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The unit limits count: an IPv4 address, or the IPv6 network of `ipv6_prefix` bits it
    lies in (an IPv4-mapped IPv6 address counts as its IPv4 address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False))
    return str(ip)


def today_utc() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def daily_key(day: str | None = None) -> SymmetricKey:
    """Today's (or `day`'s) key for address hashes, derived once per process and day."""
    base = current_keyring().require_address_key()
    when = day or today_utc()
    cache_key = (base.secret, when)
    with _lock:
        derived = _day_keys.get(cache_key)
        if derived is None:
            for stale in [k for k in _day_keys if k[1] != when]:
                del _day_keys[stale]
            derived = derive_daily_key(base, purpose="ratelimit", day=when)
            _day_keys[cache_key] = derived
    return derived


def client_bucket() -> str:
    prefix = int(current_app.config.get("RATELIMIT_IPV6_PREFIX", DEFAULT_IPV6_PREFIX))
    return address_bucket(request.remote_addr or "", ipv6_prefix=prefix)


def rate_limit_key() -> str:
    """The name this request's address bucket is counted under today."""
    tag = keyed_tag(daily_key(), purpose="address", message=client_bucket().encode("ascii"))
    return tag.hex()[:32]


def counter_name(*parts: str) -> str:
    """A counter's Redis name: a keyed hash of its parts (scope, window, address hash ...), so
    that the name shows neither the address nor the hour it counts."""
    tag = keyed_tag(daily_key(), purpose="counter", message="|".join(parts).encode("utf-8"))
    return tag.hex()[:32]


# --------------------------------------------------------------------------------------------
# Counting in fixed windows


@dataclass(frozen=True)
class Window:
    amount: int
    seconds: int


@cache
def windows_of(limit: str) -> tuple[Window, ...]:
    """ "10 per hour;30 per day" → the windows, parsed once per distinct setting."""
    return tuple(Window(item.amount, item.get_expiry()) for item in parse_many(limit))


def _window_keys(
    namespace: str, parts: tuple[str, ...], windows: tuple[Window, ...]
) -> list[tuple[str, int]]:
    """(counter name, the window's end as a Unix time) per window. The counter expires at the
    end of its window, so its time to live tells no more than which window it counts."""
    now = int(time.time())
    keys = []
    for window in windows:
        index = now // window.seconds
        name = counter_name(namespace, parts[0], str(window.seconds), str(index), *parts[1:])
        keys.append((f"incident:{namespace}:{name}", (index + 1) * window.seconds))
    return keys


def _memory_counts(keys: list[tuple[str, int]], step: int) -> list[int]:
    """Embedded default: counts in this process, per app (the tests build many apps)."""
    counts: dict[str, int] = current_app.extensions.setdefault("window_counts", {})
    with _memory_lock:
        result = []
        for key, _expires in keys:
            counts[key] = counts.get(key, 0) + step
            result.append(counts[key])
        if len(counts) > 100_000:  # old windows: drop everything rather than grow
            counts.clear()
        return result


def _redis_counts(uri: str, keys: list[tuple[str, int]], step: int) -> list[int] | None:
    import redis

    pipe = redis_client(uri).pipeline(transaction=False)
    for key, expires_at in keys:
        pipe.incrby(key, step)
        pipe.expireat(key, expires_at)
    try:
        replies = pipe.execute()
    except redis.RedisError:
        return None
    return [int(n) for n in replies[::2]]


def add_to_windows(
    namespace: str, *, scope: str, holder: str, windows: tuple[Window, ...], step: int
) -> list[int] | None:
    """Add `step` to `holder`'s count in every window (one Redis round trip) and return the
    new counts, or None when Redis cannot be reached (the caller decides what that means)."""
    keys = _window_keys(namespace, (scope, holder), windows)
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if uri.startswith("redis"):
        return _redis_counts(uri, keys, step)
    return _memory_counts(keys, step)


def over_limit(counts: list[int], windows: tuple[Window, ...]) -> bool:
    return any(n > window.amount for n, window in zip(counts, windows, strict=True))


# --------------------------------------------------------------------------------------------
# Slots shared by every web process

# A slot older than this belongs to a process that died holding it (slots are held for well
# under a second), and the next taker sweeps it away instead of it leaking for good.
STALE_SLOT_SECONDS = 30


class SlotsTaken(Exception):
    """Every slot of that kind is in use somewhere in the deployment."""


@contextlib.contextmanager
def shared_slot(namespace: str, *, capacity: int) -> Iterator[None]:
    """Hold one of `capacity` slots named `namespace`, shared by every web process through
    Redis (members of a sorted set, scored by when they were taken); `SlotsTaken` at once when
    none is free. Without Redis (the embedded default, or Redis unreachable) there is no
    shared cap and the slot is always granted: callers keep a cap of their own per process.
    """
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if not uri.startswith("redis"):
        yield
        return
    import redis

    client = redis_client(uri)
    name = f"incident:{namespace}:{counter_name(namespace, 'in-flight')}"
    member = secrets.token_hex(8)
    now = time.time()
    try:
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(name, "-inf", now - STALE_SLOT_SECONDS)
        pipe.zadd(name, {member: now})
        pipe.zcard(name)
        pipe.expire(name, STALE_SLOT_SECONDS * 2)
        taken = int(pipe.execute()[2])
    except redis.RedisError:
        yield
        return
    try:
        if taken > capacity:
            raise SlotsTaken(namespace)
        yield
    finally:
        # If Redis went away meanwhile, the slot goes stale and the next taker sweeps it.
        with contextlib.suppress(redis.RedisError):
            client.zrem(name, member)
