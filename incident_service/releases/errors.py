"""The base of every named release failure: callers catch it to show staff the message."""

from __future__ import annotations


class ReleaseError(Exception):
    """Base of the named release failures; messages are fit to show to staff."""
