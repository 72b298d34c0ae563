"""CPU time of the PostgreSQL backends a benchmark's connections are served by.

Throughput on a shared machine is noise; CPU seconds per report are not. Listen with
`sa.event.listen(engine, "connect", on_connect)`, then read `backend_cpu()` before and after.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BACKENDS: set[int] = set()


def on_connect(connection: Any, _record: Any) -> None:
    """Remember the backend process behind each new connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        BACKENDS.add(cursor.fetchone()[0])


def backend_cpu() -> float:
    """User and system seconds spent so far by every backend remembered (from /proc)."""
    total = 0
    for pid in list(BACKENDS):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
