"""A run through a real ``dask scheduler`` and ``dask worker``, started as separate processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.executor import RunExecutor
from wqml_dash.runs.store import RunStore

from .test_executor import SMALL, assert_matches_reference


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    logs = tmp_path_factory.mktemp("dask-logs")
    procs = []

    def start(name, *args):
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed in the finalizer)
        procs.append((subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                       env=env, cwd=logs), log))

    start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    start("worker", "worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
          "--no-dashboard")
    try:
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout=10) as client:
                    client.wait_for_workers(1, timeout=120)
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p, _ in procs):
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc, log in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def test_run_on_an_external_cluster(scheduler_address, tmp_path, qm9, monkeypatch):
    monkeypatch.setenv("WQML_SCHEDULER", scheduler_address)
    store = RunStore(tmp_path / "runs.sqlite")
    cfg = RunConfig(series=["random:l1", "sorted:w1"], seeds=[4], **SMALL)
    with RunExecutor(store) as executor:  # the address comes from $WQML_SCHEDULER
        assert executor.scheduler == scheduler_address
        run_id = executor.submit(cfg)
        assert executor.wait(run_id, timeout=300) == "finished"
        assert executor.client.scheduler.address == scheduler_address
        workers = executor.client.scheduler_info()["workers"]
        assert len(workers) == 1
        # the point tasks ran in the worker process, not here
        pids = executor.client.run(os.getpid)
        assert os.getpid() not in pids.values()
    assert_matches_reference(store, run_id, qm9, cfg)
