"""Asking a browser page for what must not be there.

The browser tests' drivers wait implicitly (up to 30 s) for elements to appear, because the
next page arrives some time after a click submits a form. Looking for an element that is
rightly absent would then wait the whole timeout before answering "none": half a minute of
nothing per check.
"""

from __future__ import annotations

from typing import Any


def absent(driver: Any, by: str, value: str) -> bool:
    """Whether the page shown now has no element matching `by`/`value`, asked without the
    implicit wait. Call it once the page is known to have arrived (an element of it found, or
    its address or language checked), so that an old page cannot answer for the new one."""
    waited = driver.timeouts.implicit_wait
    driver.implicitly_wait(0)
    try:
        return not driver.find_elements(by, value)
    finally:
        driver.implicitly_wait(waited)
