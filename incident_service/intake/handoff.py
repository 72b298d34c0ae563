"""Short-lived sealed records that carry a reporter's page across a redirect (POST/redirect/GET).

The reporter's pages answer every POST with a redirect to a GET page (POST/redirect/GET), so
that the browser's history holds no form to send again once the phone is taken. What the GET
page needs — the receipt just issued, the receipt of an open status page, the answers of a
refused form — waits here in between. The browser's session cookie holds a random record id
and a random 256-bit key; the server holds each record sealed under that key (AES-256-GCM,
`crypto.secretbox`), with a time to live, in Redis (the rate-limit storage) or, for the
embedded default and tests (`memory://`), in this process. Neither half alone reads anything:
a copy of Redis has sealed blobs under random names, and a cookie names records that expire
within minutes and are deleted by "Leave quickly" (`forget_browser`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app, session

from incident_service.crypto import CryptoError, SymmetricKey, bindings
from incident_service.crypto.secretbox import (
    KEY_LENGTH,
    new_symmetric_key,
    open_with_key,
    seal_with_key,
)
from incident_service.ratelimit import redis_client

log = logging.getLogger(__name__)

SESSION_KEY = "h"
NAME_PREFIX = "incident:handoff:"
MEMORY_EXTENSION = "handoff_records"
ID_BYTES = 16
# Plaintexts are padded to a multiple of this, so that a copy of Redis tells little about how
# much a reporter wrote.
PAD_TO = 512
# The embedded store never holds more than this many records; the oldest go first.
MEMORY_LIMIT = 20_000


@dataclass(frozen=True)
class Kind:
    """One sort of record: its name, how long it lives, and whether reading it extends that."""

    name: str
    seconds: int
    sliding: bool = False


# The receipt just issued: deleted when its page is shown.
RECEIPT = Kind("receipt", 10 * 60)
# The receipt of an open status page, so that the page and its actions need no receipt in the
# HTML; every use starts the quarter of an hour again.
STATUS = Kind("status", 15 * 60, sliding=True)
# The answers of a refused report form (and whether they were checked: the errors are worked
# out again when shown), kept until the report is filed.
DRAFT = Kind("draft", 60 * 60)
# What the status page's lookup needs after a refusal: the number as typed, why it was
# refused, and a message the reporter was writing when the page closed.
STATUS_DRAFT = Kind("status-draft", 60 * 60)
# The report just sent, while its "add details" steps are open (and a step's answers refused):
# the receipt of the receipt page, kept so that the steps need no receipt in the HTML; every
# use starts the hour again.
DETAILS = Kind("details", 60 * 60, sliding=True)
KINDS = (RECEIPT, STATUS, DRAFT, STATUS_DRAFT, DETAILS)


class StoreUnavailable(Exception):
    """Redis is configured but cannot be reached: the caller answers the POST directly."""


# --------------------------------------------------------------------------------------------
# Storage: Redis, or this process's memory


class _Store(Protocol):
    def put(self, name: str, blob: bytes, seconds: int) -> None: ...

    def get(self, name: str, *, extend_to: int | None) -> bytes | None: ...

    def get_deleting(self, name: str, deleted: list[str]) -> bytes | None: ...

    def take(self, name: str) -> bytes | None: ...

    def delete(self, names: list[str]) -> None: ...


_memory_lock = threading.Lock()


class _MemoryStore:
    """Records in a dict of this app (the embedded default runs one process; tests many apps)."""

    def __init__(self, records: dict[str, tuple[float, bytes]]) -> None:
        self.records = records

    def _live(self, name: str, now: float) -> bytes | None:
        found = self.records.get(name)
        if found is None:
            return None
        if found[0] <= now:
            del self.records[name]
            return None
        return found[1]

    def put(self, name: str, blob: bytes, seconds: int) -> None:
        now = time.monotonic()
        with _memory_lock:
            for stale in [key for key, (expires, _) in self.records.items() if expires <= now]:
                del self.records[stale]
            while len(self.records) >= MEMORY_LIMIT:
                oldest = min(self.records, key=lambda key: self.records[key][0])
                del self.records[oldest]
            self.records[name] = (now + seconds, blob)

    def get(self, name: str, *, extend_to: int | None) -> bytes | None:
        now = time.monotonic()
        with _memory_lock:
            blob = self._live(name, now)
            if blob is not None and extend_to is not None:
                self.records[name] = (now + extend_to, blob)
            return blob

    def get_deleting(self, name: str, deleted: list[str]) -> bytes | None:
        self.delete(deleted)
        return self.get(name, extend_to=None)

    def take(self, name: str) -> bytes | None:
        with _memory_lock:
            blob = self._live(name, time.monotonic())
            self.records.pop(name, None)
            return blob

    def delete(self, names: list[str]) -> None:
        with _memory_lock:
            for name in names:
                self.records.pop(name, None)


class _RedisStore:
    """Records in Redis, where every web process finds them; Redis expires them itself."""

    def __init__(self, uri: str) -> None:
        self.client = redis_client(uri)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return getattr(self.client, method)(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable() from exc

    def put(self, name: str, blob: bytes, seconds: int) -> None:
        self._call("set", name, blob, ex=seconds)

    def get(self, name: str, *, extend_to: int | None) -> bytes | None:
        if extend_to is not None:
            return _bytes_or_none(self._call("getex", name, ex=extend_to))
        return _bytes_or_none(self._call("get", name))

    def get_deleting(self, name: str, deleted: list[str]) -> bytes | None:
        # One round trip for both (a pipeline, not a transaction: each command stands alone).
        import redis

        pipe = self.client.pipeline(transaction=False)
        pipe.delete(*deleted)
        pipe.get(name)
        try:
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable() from exc
        return _bytes_or_none(replies[-1])

    def take(self, name: str) -> bytes | None:
        return _bytes_or_none(self._call("getdel", name))

    def delete(self, names: list[str]) -> None:
        if names:
            self._call("delete", *names)


def _bytes_or_none(value: Any) -> bytes | None:
    return value if isinstance(value, bytes) else None


def _store() -> _Store:
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if uri.startswith("redis"):
        return _RedisStore(uri)
    records: dict[str, tuple[float, bytes]] = current_app.extensions.setdefault(
        MEMORY_EXTENSION, {}
    )
    return _MemoryStore(records)


# --------------------------------------------------------------------------------------------
# The browser's half: a record id and a key in the session cookie


@dataclass(frozen=True, repr=False)
class _Browser:
    record_id: str
    key: SymmetricKey

    def name(self, kind: Kind) -> str:
        return f"{NAME_PREFIX}{self.record_id}:{kind.name}"

    def context(self, kind: Kind) -> bytes:
        return bindings.handoff_record(self.record_id, kind.name)


def _browser() -> _Browser | None:
    """This browser's record id and key, from the session cookie (None if it has none)."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or value.count(".") != 1:
        return None
    record_id, encoded = value.split(".")
    try:
        raw = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if len(raw) != KEY_LENGTH or not 0 < len(record_id) <= 64 or not record_id.isalnum():
        return None
    return _Browser(record_id, SymmetricKey("handoff", raw))


def _browser_or_new() -> _Browser:
    """This browser's id and key, or new random ones written into its session cookie."""
    browser = _browser()
    if browser is None:
        browser = _Browser(secrets.token_hex(ID_BYTES), new_symmetric_key("handoff"))
        encoded = base64.urlsafe_b64encode(browser.key.secret).decode("ascii")
        session[SESSION_KEY] = f"{browser.record_id}.{encoded}"
    return browser


def _seal(browser: _Browser, kind: Kind, document: dict[str, Any]) -> bytes:
    plain = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    padded = plain + b" " * (-len(plain) % PAD_TO)  # JSON ignores trailing spaces
    return seal_with_key(padded, key=browser.key, context=browser.context(kind))


def _open(browser: _Browser, kind: Kind, blob: bytes | None) -> dict[str, Any] | None:
    if blob is None:
        return None
    try:
        document = json.loads(open_with_key(blob, key=browser.key, context=browser.context(kind)))
    except (CryptoError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _unreachable(what: str) -> None:
    # Never anything of the request: only that the store failed and what was skipped.
    log.warning("handoff store unreachable; %s", what)


# --------------------------------------------------------------------------------------------
# What the pages call


def put(kind: Kind, document: dict[str, Any]) -> None:
    """Keep `document` for this browser under `kind`, replacing what was there.

    Raises `StoreUnavailable` if Redis is configured but down: the caller must then answer the
    POST with its page directly, since a record that was never stored would lose the page.
    """
    browser = _browser_or_new()
    try:
        _store().put(browser.name(kind), _seal(browser, kind, document), kind.seconds)
    except StoreUnavailable:
        _unreachable(f"a {kind.name} record was not kept")
        raise


def get(kind: Kind) -> dict[str, Any] | None:
    """This browser's record of `kind`, if it is there and opens; a sliding kind lives on."""
    browser = _browser()
    if browser is None:
        return None
    try:
        blob = _store().get(browser.name(kind), extend_to=kind.seconds if kind.sliding else None)
    except StoreUnavailable:
        _unreachable(f"a {kind.name} record was not read")
        return None
    return _open(browser, kind, blob)


def get_deleting(kind: Kind, *deleted: Kind) -> dict[str, Any] | None:
    """Delete this browser's records of `deleted` and read its record of `kind` (not sliding),
    in one round trip to Redis instead of two. If Redis is down, the deleted records expire on
    their own and nothing is read, as with `delete` and `get`."""
    browser = _browser()
    if browser is None:
        return None
    try:
        blob = _store().get_deleting(browser.name(kind), [browser.name(k) for k in deleted])
    except StoreUnavailable:
        _unreachable(f"records were left to expire; a {kind.name} record was not read")
        return None
    return _open(browser, kind, blob)


def take(kind: Kind) -> dict[str, Any] | None:
    """Like `get`, and the record is deleted in the same step (a receipt is shown once)."""
    browser = _browser()
    if browser is None:
        return None
    try:
        blob = _store().take(browser.name(kind))
    except StoreUnavailable:
        _unreachable(f"a {kind.name} record was not read")
        return None
    return _open(browser, kind, blob)


def delete(*kinds: Kind) -> None:
    """Delete this browser's records of `kinds`. If Redis is down they expire on their own."""
    browser = _browser()
    if browser is None:
        return
    try:
        _store().delete([browser.name(kind) for kind in kinds])
    except StoreUnavailable:
        _unreachable("records were left to expire")


def forget_browser() -> None:
    """ "Leave quickly": delete every record of this browser and drop its half from the cookie."""
    delete(*KINDS)
    session.pop(SESSION_KEY, None)
