"""Fixtures for fault injection: an app served in its own process group (so it can be SIGKILLed
with everything it started), headless Chromium, and process-tree helpers.

Fuzzing support: example budgets per target, and a count of the examples each target ran.

Two depths: ``default`` (the normal suite: a few hundred examples for cheap targets, fewer for
targets that build a whole explorer; deterministic, so CI never meets a new random failure)
and ``thorough`` (thousands per target, random). ``HYPOTHESIS_PROFILE=thorough`` makes every
fuzz test thorough; ``pytest -m slow tests/robustness/test_fuzz.py`` runs the thorough
variants only. With ``WQML_FUZZ_REPORT=1`` the counts are written at the end of the session
to ``benchmarks/results/fuzz_counts.json`` (never otherwise, so normal runs leave the tree clean).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below ``pid`` (empty if it has gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until ``procs`` have exited (zombies of a dead parent count as gone); returns the survivors."""
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    return alive


def kill_all(procs: list[psutil.Process]) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


class ServedApp:
    """``python -m panel serve app.py`` on a free localhost port, in a new session (process group),
    with its run store at ``store`` (``WQML_STORE``) and its own embedded Dask cluster."""

    def __init__(self, store: Path, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        env = {**os.environ, "WQML_STORE": str(store), "BOKEH_ALLOW_WS_ORIGIN": f"127.0.0.1:{self.port}",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        env.pop("WQML_SCHEDULER", None)
        self.log = open(log_path, "w+")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", str(self.port),
             "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.started_processes: list[psutil.Process] = []
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"panel serve exited:\n{self.log.read()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("panel serve did not answer within 120 s") from None
                time.sleep(0.3)

    def children(self) -> list[psutil.Process]:
        """The server's descendants now (Dask worker processes, multiprocessing's helpers)."""
        found = descendants(self.proc.pid)
        self.started_processes.extend(p for p in found if p not in self.started_processes)
        return found

    def sigkill(self) -> None:
        """SIGKILL the server process only: what the OOM killer or ``kill -9 PID`` does."""
        self.children()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.children()
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        kill_all(wait_gone(self.started_processes, 20))  # never leave strays behind a failed test
        self.log.close()

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


@pytest.fixture
def serve_app(tmp_path):
    """Factory: ``serve_app(store)`` starts a `ServedApp`; every one is stopped after the test."""
    apps: list[ServedApp] = []

    def start(store: Path) -> ServedApp:
        app = ServedApp(store, tmp_path / f"panel-serve-{len(apps)}.log")
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


@pytest.fixture(scope="module")
def browser():
    # module scope: one thread can hold only one sync Playwright at a time, and tests/ui starts its
    # own session-wide one later in the run
    playwright = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


@pytest.fixture
def shots(tmp_path, request):
    """``shots(label)``: where to save a screenshot, in ``$WQML_SHOTS`` (kept) or the test's tmp folder."""
    folder = Path(os.environ.get("WQML_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return lambda label: str(folder / f"{request.node.name}-{label}.png")


# --- fuzzing --------------------------------------------------------------------------------
REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fuzz_counts.json"


class FuzzRecord:
    """Examples run and seconds spent per fuzz target (all of this session)."""

    def __init__(self):
        self.examples: Counter[str] = Counter()
        self.outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)  # "valid" / "user_error"
        self.seconds: Counter[str] = Counter()
        self.depths: dict[str, str] = {}
        self.budget: dict[str, int] = {}

    def to_json(self) -> dict:
        targets = {name: {"examples": self.examples[name], **dict(sorted(self.outcomes[name].items())),
                          "max_examples": self.budget.get(name),
                          "depth": self.depths.get(name), "seconds": round(self.seconds[name], 2)}
                   for name in sorted(self.examples)}
        return {"targets": targets, "total_examples": sum(self.examples.values()),
                "total_seconds": round(sum(self.seconds.values()), 1),
                "profile_env": os.environ.get("HYPOTHESIS_PROFILE", ""),
                "hypothesis": _version("hypothesis"), "python": platform.python_version(),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "written": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


@pytest.fixture(scope="session")
def fuzz_record():
    record = FuzzRecord()
    start = time.perf_counter()
    yield record
    if os.environ.get("WQML_FUZZ_REPORT") and record.examples:
        data = record.to_json()
        data["session_wall_seconds"] = round(time.perf_counter() - start, 1)
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(data, indent=2) + "\n")
