"""Fixtures for fault injection: an app served in its own process group (so it can be SIGKILLed
with everything it started), headless Chromium, and process-tree helpers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
