"""Progress reporting and cancellation shared by every long computation in core."""

from __future__ import annotations

import threading
from collections.abc import Callable

#: ``progress(done, total, message)``: ``done`` of ``total`` units finished.
ProgressCallback = Callable[[int, int, str], None]


class Cancelled(RuntimeError):
    """Raised inside a computation when its cancel token was set."""


class CancelToken:
    """A thread-safe flag a caller sets to stop a running computation at its next checkpoint."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if `cancel` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled")


def report(progress: ProgressCallback | None, done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total, message)
