"""How long a database round trip takes on a thread beside a thread busy in C, per GIL switch
interval (issue 14, third round).

The anonymiser's opening thread holds the GIL through each HPKE open; the writing thread
releases it for each round trip and must then take it back. This times `SELECT 1` alone and
beside a thread doing X25519 exchanges (C code that keeps the GIL, like the open), at Python's
default switch interval (5 ms) and shorter ones.

    .venv/bin/python bench/gil_round_trip.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue module that psycopg imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import os  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import psycopg  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://"
)


def _busy(stop: threading.Event) -> None:
    key = X25519PrivateKey.generate()
    peer = X25519PrivateKey.generate().public_key()
    while not stop.is_set():
        for _ in range(20):
            key.exchange(peer)


def _round_trips(count: int = 200) -> tuple[float, float]:
    """Median and mean milliseconds of `count` round trips."""
    with psycopg.connect(URL) as connection, connection.cursor() as cursor:
        seconds = []
        for _ in range(count):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1e3, statistics.mean(seconds) * 1e3


def main() -> None:
    default = sys.getswitchinterval()
    try:
        for interval in (0.005, 0.0005, 0.0001):
            sys.setswitchinterval(interval)
            alone = _round_trips()
            stop = threading.Event()
            busy = threading.Thread(target=_busy, args=(stop,))
            busy.start()
            time.sleep(0.05)
            beside = _round_trips()
            stop.set()
            busy.join()
            print(
                f"switch interval {interval * 1e3:.1f} ms: SELECT 1 alone median {alone[0]:.3f} ms "
                f"(mean {alone[1]:.3f}); beside a busy thread median {beside[0]:.3f} ms "
                f"(mean {beside[1]:.3f})"
            )
    finally:
        sys.setswitchinterval(default)


if __name__ == "__main__":
    main()
