"""How much Argon2 work the web may do at once and per address: every Argon2id the staff pages run
(a password check, hashing a new password, wrapping or unwrapping a key) takes a slot here.

One Argon2id at production strength costs 64 MiB and about a tenth of a second of a core; a sync
gunicorn worker busy with it serves no reporter. So the work is bounded three ways, the cheapest
check first, and a request that finds no room is refused at once instead of waiting:

- per address bucket: `ARGON2_ADDRESS_LIMIT` ("20 per minute;200 per hour"), counted in Redis
  under the daily-keyed address hash like the filing limits (`ratelimit.add_to_windows`);
- across every web process: at most `ARGON2_MAX_CONCURRENT` running at once
  (`ratelimit.shared_slot`: a process killed mid-hash frees its slot after
  `STALE_SLOT_SECONDS` instead of leaking it);
- in this process: a semaphore of the same size, which also holds when Redis is unreachable or
  not configured (the embedded default, threaded servers).

If Redis cannot be reached the per-process cap still bounds the work, so logins keep working.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, has_request_context

from incident_service.ratelimit import (
    SlotsTaken,
    add_to_windows,
    over_limit,
    rate_limit_key,
    shared_slot,
    windows_of,
)

# Threads of one process may queue briefly for its slot; a sync worker never contends with
# itself, so this wait only ever applies to threaded servers.
PROCESS_WAIT_SECONDS = 2.0

_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


class Argon2Busy(Exception):
    """No Argon2 slot now: this address bucket spent its budget, or every slot is taken."""


def _process_semaphore(size: int) -> threading.BoundedSemaphore:
    with _semaphores_lock:
        semaphore = _semaphores.get(size)
        if semaphore is None:
            semaphore = _semaphores[size] = threading.BoundedSemaphore(size)
        return semaphore


def _max_concurrent() -> int:
    return max(1, int(current_app.config["ARGON2_MAX_CONCURRENT"]))


def _spend_address_budget() -> None:
    """Count one Argon2 against this request's address bucket; `Argon2Busy` when it is spent.

    Outside a request (the command line) there is no address and no budget.
    """
    if not has_request_context() or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limit = str(current_app.config["ARGON2_ADDRESS_LIMIT"])
    windows = windows_of(limit)
    holder = rate_limit_key()
    counts = add_to_windows("argon2", scope="address", holder=holder, windows=windows, step=1)
    if counts is not None and over_limit(counts, windows):
        # Taken back out, so that retries while the minute is full do not use up the hour.
        add_to_windows("argon2", scope="address", holder=holder, windows=windows, step=-1)
        raise Argon2Busy("this address has used its Argon2 budget")


@contextmanager
def argon2_slot() -> Iterator[None]:
    """Run the enclosed Argon2 work only if the address budget and a free slot allow it;
    otherwise raise `Argon2Busy` before any of it is done."""
    _spend_address_budget()
    semaphore = _process_semaphore(_max_concurrent())
    if not semaphore.acquire(timeout=PROCESS_WAIT_SECONDS):
        raise Argon2Busy("every Argon2 slot of this process is taken")
    try:
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(shared_slot("argon2", capacity=_max_concurrent()))
            except SlotsTaken:
                raise Argon2Busy("every Argon2 slot of the deployment is taken") from None
            yield
    finally:
        semaphore.release()
