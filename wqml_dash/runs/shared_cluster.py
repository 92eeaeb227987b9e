"""One embedded Dask cluster for several server processes (``wqml serve --num-procs N``).

    python -m wqml_dash.runs.shared_cluster      # prints the scheduler's address, runs until stdin closes

`RunExecutor` starts its embedded cluster inside the process that first needs it; with several
server processes that would be one cluster per process, each with a worker per core. Instead the
parent of the server processes starts this one (the same `RunExecutor` settings), hands its address
to every server process as ``WQML_SCHEDULER`` and closes it when they stop.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .executor import SCHEDULER_ENV, RunExecutor
from .store import RunStore


def start_shared_cluster(timeout: float = 120) -> subprocess.Popen:
    """Start the cluster in a child process; set ``WQML_SCHEDULER`` here to its address.

    Returns the child: it stops when its standard input closes (this process ending closes it).
    """
    proc = subprocess.Popen([sys.executable, "-m", "wqml_dash.runs.shared_cluster"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("tcp://"):
        proc.kill()
        raise RuntimeError(f"the shared Dask cluster did not start: {line or 'no address printed'}")
    os.environ[SCHEDULER_ENV] = line
    return proc


def main() -> int:
    with RunExecutor(RunStore()) as executor:
        executor.start()
        print(executor.client.scheduler.address, flush=True)
        sys.stdin.read()  # until the parent (the server) goes
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
