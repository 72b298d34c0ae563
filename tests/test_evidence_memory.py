"""Does a 1 GB file seal, store and open with flat memory? (A memory bound, not a time limit.)

Each size runs in a fresh interpreter so that its peak resident size is its own: a 1 GiB stream
must peak no more than 48 MiB above an 8 MiB one. The file is a valid WAV made on the fly, so
intake's whole path runs: sniffing, hashing, sealing, the local store, and opening it again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import PROJECT_ROOT

SCRIPT = r"""
import hashlib, json, os, resource, struct, sys
from pathlib import Path
from incident_service.crypto.streams import ContentKey, StreamSealer, open_stream
from incident_service.evidence.sniff import ContentInspector
from incident_service.evidence.store import LocalStore, new_object_name

size, root = int(sys.argv[1]), Path(sys.argv[2])
block = os.urandom(256 * 1024)
def wav():
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", size)
    yield header
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece
key, context = ContentKey.generate(), b"report/r/evidence/f/original"
inspector, sealer = ContentInspector(), StreamSealer(key, context=context)
def sealed():
    for piece in wav():
        inspector.feed(piece)
        yield from sealer.update(piece)
    inspector.finish()
    yield from sealer.finish()
store, name = LocalStore(root), new_object_name()
store.put(name, sealed())
check = hashlib.sha256()
for chunk in open_stream(store.get(name), key=key, context=context):
    check.update(chunk)
store.delete(name)
assert check.digest() == sealer.digest().value
print(json.dumps({"peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "kind": inspector.kind.value}))
"""


def _peak_kib(size: int, root: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(size), str(root)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=900,
        check=True,
    )
    answer = json.loads(result.stdout)
    assert answer["kind"] == "wav"
    return int(answer["peak_kib"])


def test_does_a_gigabyte_seal_and_open_with_flat_memory(tmp_path):
    small = _peak_kib(8 * 1024**2, tmp_path / "small")
    large = _peak_kib(1024**3, tmp_path / "large")
    assert large - small < 48 * 1024, f"peak grew by {(large - small) // 1024} MiB for 1 GiB"
