"""Serve ``app.py`` with ``panel serve`` and drive it in Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_store(tmp_path_factory) -> Path:
    """The served app's run store: a temporary file (``WQML_STORE``), never the user's."""
    return tmp_path_factory.mktemp("store") / "runs.sqlite"


def start_server(argv: list[str], url: str, env: dict, log_path: Path, timeout: float = 120) -> subprocess.Popen:
    """Start a server process and wait until ``url`` answers 200; its output goes to ``log_path``.

    The output goes to a file, not a pipe nobody reads: a chatty server (Dask logs) would block
    on a full pipe.
    """
    log = open(log_path, "w+")  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    proc.log = log
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{argv[:4]} exited:\n{log.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"{argv[:4]} did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc.log.close()


@pytest.fixture
def launch_server():
    """``launch(argv, url, env, log_path) -> (process, port)``: `start_server`, stopped after the test.

    ``{port}`` in ``argv`` and ``url`` is replaced by a free port.
    """
    procs = []

    def launch(argv, url, env, log_path, timeout=120):
        port = free_port()
        proc = start_server([a.replace("{port}", str(port)) for a in argv], url.replace("{port}", str(port)),
                            env, log_path, timeout)
        procs.append(proc)
        return proc, port

    yield launch
    for proc in procs:
        if proc.poll() is None:
            stop_server(proc)


@pytest.fixture(scope="session")
def app_url(app_store, tmp_path_factory):
    """URL of ``app.py`` served on a free localhost port for the whole session.

    The app keeps its runs in `app_store` and runs them on its own embedded Dask cluster.
    """
    port = free_port()
    env = {**os.environ, "BOKEH_ALLOW_WS_ORIGIN": f"127.0.0.1:{port}", "WQML_STORE": str(app_store)}
    env.pop("WQML_SCHEDULER", None)
    url = f"http://127.0.0.1:{port}/app"
    proc = start_server([sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", str(port),
                         "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                        url, env, tmp_path_factory.mktemp("serve") / "panel-serve.log")
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def chromium_options() -> dict:
    """Keyword arguments for Playwright's ``chromium.launch``: Debian's Chromium, never a download."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return dict(executable_path=exe, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageWatch:
    """A page with its console errors and the requests that left the server recorded."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._on_request)

    def _on_request(self, request):
        u = urlparse(request.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname not in LOCAL_HOSTS:
            self.outside.append(request.url)


@pytest.fixture
def watched_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watch = PageWatch(page)
    yield watch
    context.close()


@pytest.fixture
def shot_path(tmp_path, request):
    """Where to save a screenshot: ``$WQML_SHOTS`` (kept) or the test's tmp folder."""
    folder = Path(os.environ.get("WQML_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{request.node.name}.png"
