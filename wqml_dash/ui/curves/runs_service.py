"""One run store and one executor per server process, shared by every browser session.

Sessions keep their own view state (which runs they show, the selected point); the runs
themselves live in the store and on the executor's Dask cluster, so a page reload, a second
browser tab or a CLI run writing into the same store all see the same runs.
"""

from __future__ import annotations

import atexit
import threading

from ...runs.executor import RunExecutor
from ...runs.store import RunStore

_LOCK = threading.Lock()
_STORE: RunStore | None = None
_EXECUTOR: RunExecutor | None = None


def runs_store() -> RunStore:
    """The process's store: ``$WQML_STORE`` or the user data directory (see `RunStore`)."""
    global _STORE
    with _LOCK:
        if _STORE is None:
            _STORE = RunStore()
        return _STORE


def runs_executor() -> RunExecutor:
    """The process's executor on `runs_store`: ``$WQML_SCHEDULER`` or an embedded Dask cluster
    started with the first run. Creating it marks runs of dead processes as interrupted."""
    global _EXECUTOR
    store = runs_store()
    with _LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = RunExecutor(store)
            atexit.register(_EXECUTOR.close)  # active runs become 'interrupted', resumable later
        return _EXECUTOR
