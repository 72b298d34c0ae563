"""Reading whole numbers typed by people or put in URLs.

`str.isdigit()` is true for superscripts ("²") and other digits that `int()` refuses, and for
Arabic-Indic and other scripts' digits that `int()` silently accepts; neither belongs in a query
parameter or a form field the service itself filled. `ascii_int` accepts `[0-9]+` only.
(Receipts are the exception: reporters type them in their own script, see
`crypto.receipts.normalise_receipt`.)
"""

from __future__ import annotations

import re

# Nine digits at most: every id fits a 32-bit integer column, so no query can overflow it.
_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")


def ascii_int(raw: str | None) -> int | None:
    """The value of `raw` if it is 1 to 9 ASCII digits and nothing else, otherwise None."""
    if raw is None or not _ASCII_DIGITS.fullmatch(raw):
        return None
    return int(raw)
