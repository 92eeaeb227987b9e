"""Faults injected into Dask workers through a `WorkerPlugin`: the scheduler hands registered
plugins to every worker that joins, so the fault survives the nanny restarting a worker."""

from __future__ import annotations

import os
import signal

from distributed import WorkerPlugin


class DieAtSize(WorkerPlugin):
    """The worker process SIGKILLs itself when it starts the point of training size ``size``
    (as the kernel's OOM killer would, every time: the point can never be computed)."""

    name = "wqml-die-at-size"

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def setup(self, worker) -> None:
        import wqml_dash.runs.tasks as tasks

        real = getattr(tasks, "_real_fit_point", tasks.fit_point)
        tasks._real_fit_point = real
        size = self.size

        def dying(*args, **kwargs):
            if args[6] == size:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        tasks.fit_point = dying

    def teardown(self, worker) -> None:
        import wqml_dash.runs.tasks as tasks

        tasks.fit_point = getattr(tasks, "_real_fit_point", tasks.fit_point)
