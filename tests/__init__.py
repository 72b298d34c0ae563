"""The test suite; `PROJECT_ROOT` is the checkout the tests read files from."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
