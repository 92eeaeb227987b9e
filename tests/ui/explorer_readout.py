"""Reading the explorer's displacement readout in a browser test (shared by the explorer's browser tests)."""

import re

READOUT = ".wqml-d"


def read_d(page) -> float:
    """The displacement d (Å) the page's readout shows."""
    return float(re.search(r"d = ([+-]\d+\.\d+) Å", page.locator(READOUT).first.inner_text()).group(1))


def wait_d(page, condition, timeout_ms: int, poll_ms: int) -> float:
    """Poll the readout every ``poll_ms`` until ``condition(d)`` holds; the d it showed."""
    d = None
    for _ in range(timeout_ms // poll_ms):
        d = read_d(page)
        if condition(d):
            return d
        page.wait_for_timeout(poll_ms)
    raise AssertionError(f"d is still {d}")
