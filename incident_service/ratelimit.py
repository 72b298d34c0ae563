"""Rate-limit keys: a keyed hash of the client's address bucket under a key derived for the day.

The address is never stored or logged. Its hash is HMAC-SHA256 under a key that HKDF derives
from `address.key` (a web key file) and today's date. That key exists only in the web
processes' memory — never in Redis beside the counters it names — so a copy of Redis cannot be
searched for an address, even by trying every IPv4 address: the search needs the key file.
Counter names hide their time window the same way (`counter_name`).

IPv6 addresses count per /64 (`RATELIMIT_IPV6_PREFIX`): a subscriber usually holds a whole
/64, and counting single addresses would hand each of its 2^64 addresses a fresh allowance.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from typing import Any

from flask import current_app, request

from incident_service.crypto import SymmetricKey
from incident_service.crypto.tags import derive_daily_key, keyed_tag
from incident_service.keystore import current_keyring

DEFAULT_IPV6_PREFIX = 64

_lock = threading.Lock()
# (address key, day) -> the derived key; process memory only, yesterday's dropped.
_day_keys: dict[tuple[bytes, str], SymmetricKey] = {}
_clients: dict[str, Any] = {}


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
