"""Evidence: sealing throughput against raw AES-256-GCM, a 25 MB upload over real HTTP, and
the evidence worker's clean-copy rate for 12-megapixel photos.

Three alternating runs of each over the same 256 MiB (in 64 KiB pieces, as uploads arrive):
raw AES-GCM (one `encrypt` per 64 KiB chunk, counter nonces, no framing) and the service's
stream sealer (random nonce, length prefix, bound associated data, uniform records, bucket
padding). Medians are printed side by side with the ratio; the issue's target is at least 70 %.
Intake as a whole also hashes (SHA-256) and sniffs each file; that is printed separately,
because SHA-256 is several times slower than AES-GCM on CPUs with AES instructions.

    .venv/bin/python bench/evidence.py [--mib 256] [--runs 3]

`--upload` sends a 25 MB file to the tus endpoints of the real web process (gunicorn with the
deployed settings, `incident_service.serving`, on SQLite) in PATCHes of 5 MB, three times, and
prints the time of each and of its last PATCH (which reads the whole upload back to hash and
judge it). `--photos N` makes the clean copies of N 12-megapixel JPEG photos with GPS the way
the evidence worker does (open, check, strip, re-encode, seal, store) and prints photos/s.

    .venv/bin/python bench/evidence.py --upload --photos 6 --mib 0
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py: keep it from shadowing the standard library's `queue` (Celery).
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from incident_service.crypto.streams import CHUNK_SIZE, ContentKey, StreamSealer  # noqa: E402
from incident_service.evidence.sniff import ContentInspector  # noqa: E402


def _pieces(mib: int) -> list[memoryview]:
    data = memoryview(os.urandom(mib * 1024 * 1024))
    return [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]


def raw_aes_gcm(pieces: list[memoryview]) -> None:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    for index, piece in enumerate(pieces):
        aead.encrypt(index.to_bytes(12, "big"), piece, None)


def sealer(pieces: list[memoryview], *, hash_content: bool = False) -> None:
    sealing = StreamSealer(
        ContentKey.generate(), context=b"report/r/evidence/f/original", hash_content=hash_content
    )
    for piece in pieces:
        for _ in sealing.update(piece):
            pass
    for _ in sealing.finish():
        pass


def sealer_hashing(pieces: list[memoryview]) -> None:
    sealer(pieces, hash_content=True)


def intake(pieces: list[memoryview]) -> None:
    """What intake does per byte: sniffing and the polyglot scan, SHA-256, sealing."""
    header = b"RIFF" + (36 + len(pieces) * CHUNK_SIZE).to_bytes(4, "little") + b"WAVE"
    inspector = ContentInspector()
    inspector.feed(header + b"fmt " + bytes(20) + b"data" + bytes(4))
    sealing = StreamSealer(ContentKey.generate(), context=b"report/r/evidence/f/original")
    for piece in pieces:
        inspector.feed(piece)
        for _ in sealing.update(piece):
            pass
    for _ in sealing.finish():
        pass


def _time(run: Callable[[list[memoryview]], None], pieces: list[memoryview]) -> float:
    start = time.perf_counter()
    run(pieces)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="0 skips the sealing comparison")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--upload", action="store_true", help="25 MB through tus over HTTP")
    parser.add_argument("--photos", type=int, default=0, help="12 MP photos to clean")
    options = parser.parse_args()
    if options.mib:
        sealing(options.mib, options.runs)
    if options.upload:
        from bench.evidence_flow import upload_bench

        upload_bench(runs=options.runs)
    if options.photos:
        from bench.evidence_flow import photo_bench

        photo_bench(options.photos)


def sealing(mib: int, runs: int) -> None:
    """Sealing throughput against raw AES-256-GCM over the same bytes."""
    pieces = _pieces(mib)
    runners = {
        "raw AES-256-GCM": raw_aes_gcm,
        "stream sealer": sealer,
        "sealer + SHA-256": sealer_hashing,
        "intake": intake,
    }
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(runs):  # alternate, so machine load hits all alike
        for name, run in runners.items():
            results[name].append(mib / _time(run, pieces))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"{mib} MiB in 64 KiB pieces, {runs} alternating runs, median MB/s")
    for name, values in results.items():
        runs = "  ".join(f"{value:7.0f}" for value in values)
        print(f"  {name:18s} {medians[name]:7.0f}   runs: {runs}")
    share = medians["stream sealer"] / medians["raw AES-256-GCM"]
    verdict = "met" if share >= 0.70 else "NOT met"
    print(f"  sealer / raw AES-GCM: {share:.0%} (target >= 70 %: {verdict})")
    for name in ("sealer + SHA-256", "intake"):
        print(f"  {name} / raw AES-GCM: {medians[name] / medians['raw AES-256-GCM']:.0%}")


if __name__ == "__main__":
    main()
