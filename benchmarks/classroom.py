"""A class on one server: N sessions at once with Bokeh's own Python client, which renders nothing.

    PYTHONPATH=$PWD python benchmarks/classroom.py --sessions 30 --duration 45 \
        --json benchmarks/results/classroom_30.json

Starts ``panel serve app.py`` on a free port (or uses ``--url``), then opens ``--sessions`` client
sessions at once (``bokeh.client.pull_session``; importing ``wqml_dash.ui.app`` registers Panel's and our
model types). Each sends ``document_ready`` (a session runs its onload callbacks only then, which
computes the first scan) and is *interactive* once the first scan's frames arrived. For
``--duration`` seconds every session then changes its scan at random moments, about every
``--every`` seconds (another moving atom, another teaching example, or a new training set), and
times the round trip until the new scan's frames arrived. ``--runs K`` sessions also launch a small
learning-curve run each (sizes 100 and 200, 200 test molecules, 2 folds) from the Learning-curves tab.

Reported per session, as p50 / p95 / max over the sessions: time to interactive, scan-change round
trip; the server's CPU (user + system, its Dask workers included) and memory (RSS) per session while
the sessions opened; errors; and cross-talk: a session whose scan ever shows another session's choice.
The client runs in one thread per session on the same machine: its own CPU is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)
    return {"n": len(v), "p50": round(statistics.median(v), 1), "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 1),
            "max": round(v[-1], 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: str, log_path: str, num_procs: int = 1) -> tuple[subprocess.Popen, str]:
    """``panel serve app.py`` on a free localhost port; returns the process and the app's URL."""
    port = _free_port()
    env = {**os.environ, "WQML_STORE": store, "PYTHONPATH": str(ROOT)}
    env.pop("WQML_SCHEDULER", None)
    argv = [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", str(port), "--address",
            "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"]
    if num_procs > 1:
        argv += ["--num-procs", str(num_procs)]
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.time() + 400
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not answer within 400 s")


def _server_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, children included) and RSS bytes of the server and its children."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0
    cpu = rss = 0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return cpu, rss


class Session:
    """One student: a client session that opens, changes its scan now and then, and records what it saw."""

    def __init__(self, index: int, url: str, rng: random.Random, launch_run: bool):
        self.index, self.url, self.rng, self.launch_run = index, url, rng, launch_run
        self.interactive_ms: float | None = None
        self.round_trips: list[float] = []
        self.errors: list[str] = []
        self.crosstalk: list[str] = []
        self.changes = 0
        self.run_launched = False

    # --- the document's models, found by what they are
    def _find(self, doc, kind: str, **attrs):
        for m in doc.models:
            if type(m).__name__ in {kind, f"Custom{kind}"} and all(getattr(m, k, None) == v for k, v in attrs.items()):
                return m
        return None

    def _meta(self) -> dict:
        src = self._meta_source
        if src is None:  # the player's data: in the page (a teaching example) or after document_ready
            src = self._meta_source = next((m for m in self._doc.models if type(m).__name__ == "ColumnDataSource"
                                            and "json" in m.data), None)
            if src is None:
                return {}
        try:
            return json.loads(src.data["json"][0])
        except (KeyError, IndexError, ValueError, TypeError):
            return {}

    async def _until(self, condition, timeout: float) -> bool:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if condition():
                return True
            await asyncio.sleep(0.01)
        return False

    def run(self, start: threading.Event, duration: float, timeout: float) -> None:
        from bokeh.client import pull_session
        from bokeh.events import ButtonClick, DocumentReady

        start.wait()
        t0 = time.perf_counter()
        try:
            session = pull_session(url=self.url)
        except Exception as exc:  # noqa: BLE001 (recorded, the benchmark goes on)
            self.errors.append(f"open: {exc!r}")
            return
        doc = self._doc = session.document
        self._meta_source = None
        atom_select = self._find(doc, "Select", title="Moving atom")
        example_select = self._find(doc, "Select", title="Teaching example")
        new_set = self._find(doc, "Button", label="New training set")
        if None in (atom_select, example_select, new_set):
            self.errors.append("the explorer's controls are missing from the document")
            session.close()
            return

        async def drive():
            try:
                doc.callbacks.send_event(DocumentReady())  # what the page sends once it is rendered
                if not await self._until(lambda: self._meta().get("g"), timeout):
                    self.errors.append(f"not interactive within {timeout:.0f} s")
                    return
                self.interactive_ms = 1000 * (time.perf_counter() - t0)
                stop_at = time.perf_counter() + duration  # each session changes scans for `duration` once open
                if self.launch_run:
                    await self._launch_run(doc, timeout)
                while time.perf_counter() < stop_at:
                    await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.every)
                    if time.perf_counter() >= stop_at:
                        break
                    # Found again each time: a tab shown again is rendered with new models.
                    await self._change(doc, self._find(doc, "Select", title="Moving atom"),
                                       self._find(doc, "Select", title="Teaching example"),
                                       self._find(doc, "Button", label="New training set"), timeout, ButtonClick)
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"drive: {exc!r}")
            finally:
                session.close()

        session._connection._loop.add_callback(drive)  # noqa: SLF001 (the session's own IO loop)
        session._connection.loop_until_closed()  # noqa: SLF001 (runs drive() and the server's messages)

    async def _change(self, doc, atom_select, example_select, new_set, timeout, ButtonClick) -> None:
        meta = self._meta()
        kind = self.rng.choice(["atom", "atom", "example", "training set"])
        t = time.perf_counter()
        if kind == "atom" and len(atom_select.options) > 1:
            # Panel sends options as labels ("O2 (oxygen)") or (value, label) pairs; the label names the atom.
            values = [o[0] if isinstance(o, (list, tuple)) else o for o in atom_select.options]
            labels = [o[1] if isinstance(o, (list, tuple)) else o for o in atom_select.options]
            k = self.rng.choice([k for k, v in enumerate(values) if v != atom_select.value] or [0])
            atom_select.value = values[k]
            found = re.match(r"[A-Z][a-z]?(\d+)", str(labels[k]))
            want = int(values[k]) if str(values[k]).isdigit() else int(found.group(1)) if found else None

            def done():
                m = self._meta()
                return m.get("atom") == want if want is not None else m is not meta
        elif kind == "example":
            keys = [o[0] if isinstance(o, (list, tuple)) else o for o in example_select.options]
            choice = self.rng.choice([x for x in keys if x != example_select.value] or keys)
            example_select.value = choice
            before = json.dumps(meta)

            def done():  # a new scan: its facts (molecule, atom, link) arrive as a new meta text
                return json.dumps(self._meta()) != before
            want = choice
        else:
            seed_before = meta.get("train_text", "")
            doc.callbacks.send_event(ButtonClick(new_set))

            def done():
                return self._meta().get("train_text", "") != seed_before
            want = None
        if await self._until(done, timeout):
            self.round_trips.append(1000 * (time.perf_counter() - t))
            self.changes += 1
            if kind == "atom" and want is not None and self._meta().get("atom") != want:
                self.crosstalk.append(f"asked for atom {want}, shows atom {self._meta().get('atom')}")
        else:
            self.errors.append(f"{kind} change not answered within {timeout:.0f} s")

    async def _launch_run(self, doc, timeout) -> None:
        tabs = next((m for m in doc.models if type(m).__name__ == "Tabs" and len(m.tabs) == 3), None)
        if tabs is None:
            self.errors.append("no tabs")
            return
        tabs.active = 1
        if not await self._until(lambda: self._find(doc, "Button", label="Launch run") is not None, timeout):
            self.errors.append("the learning-curves tab did not open")
            return
        sizes = self._find(doc, "TextInput", title="Training sizes")
        n_test = next((m for m in doc.models if type(m).__name__ == "Spinner" and m.title == "Test molecules"), None)
        folds = next((m for m in doc.models if type(m).__name__ == "Spinner" and m.title == "CV folds"), None)
        name = self._find(doc, "TextInput", title="Run name")
        for model, value in ((sizes, "100,200"), (n_test, 200), (folds, 2), (name, f"classroom {self.index}")):
            if model is not None:
                model.value = value
        await asyncio.sleep(1.0)
        from bokeh.events import ButtonClick
        doc.callbacks.send_event(ButtonClick(self._find(doc, "Button", label="Launch run")))
        self.run_launched = True
        tabs.active = 0
        await asyncio.sleep(0.5)


def run_classroom(url: str, n: int, duration: float, every: float, runs: int, seed: int, timeout: float,
                  server_pid: int | None) -> dict:
    import importlib
    import pkgutil

    import panel.models

    import wqml_dash.ui.app  # noqa: F401 (registers our Bokeh model types for the client)

    for info in pkgutil.iter_modules(panel.models.__path__):  # and all of Panel's (Tabulator's are lazy)
        try:
            importlib.import_module(f"panel.models.{info.name}")
        except ImportError:
            pass

    rng = random.Random(seed)
    sessions = [Session(i, url, random.Random(rng.random()), launch_run=i < runs) for i in range(n)]
    for s in sessions:
        s.every = every
    start = threading.Event()
    client = psutil.Process()
    cpu0, rss0 = _server_usage(server_pid) if server_pid else (0.0, 0)
    client_cpu0 = sum(client.cpu_times()[:2])
    t_start = time.perf_counter()
    threads = [threading.Thread(target=s.run, args=(start, duration, timeout), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    start.set()
    # Server usage once every session is interactive (or gave up): the cost of opening them.
    while time.perf_counter() < t_start + timeout and any(
            s.interactive_ms is None and not s.errors for s in sessions):
        time.sleep(0.2)
    opened_s = time.perf_counter() - t_start
    cpu1, rss1 = _server_usage(server_pid) if server_pid else (0.0, 0)
    for t in threads:
        t.join(duration + 4 * timeout)
    cpu2, rss2 = _server_usage(server_pid) if server_pid else (0.0, 0)
    wall = time.perf_counter() - t_start
    opened = [s for s in sessions if s.interactive_ms is not None]
    return {
        "url": url, "sessions": n, "duration_s": duration, "change_every_s": every, "runs_launched":
            sum(s.run_launched for s in sessions), "seed": seed,
        "interactive_ms": _stats([s.interactive_ms for s in opened]),
        "interactive_within_5s": sum(s.interactive_ms <= 5000 for s in opened),
        "all_opened_s": round(opened_s, 1),
        "scan_change_round_trip_ms": _stats([rt for s in sessions for rt in s.round_trips]),
        "scan_changes": sum(s.changes for s in sessions),
        "server_cpu_ms_per_session_opening": round(1000 * (cpu1 - cpu0) / max(n, 1), 1) if server_pid else None,
        "server_cpu_cores_whole_run": round((cpu2 - cpu0) / wall, 2) if server_pid else None,
        "server_rss_mb_per_session": round((rss1 - rss0) / 2**20 / max(n, 1), 2) if server_pid else None,
        "server_rss_mb_end": round(rss2 / 2**20, 1) if server_pid else None,
        "client_cpu_cores": round((sum(client.cpu_times()[:2]) - client_cpu0) / wall, 2),
        "errors": [f"session {s.index}: {e}" for s in sessions for e in s.errors],
        "crosstalk": [f"session {s.index}: {c}" for s in sessions for c in s.crosstalk],
        "load_average": os.getloadavg(), "cpu_count": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--duration", type=float, default=120, help="seconds of scan changes after opening")
    p.add_argument("--every", type=float, default=10, help="mean seconds between a session's scan changes")
    p.add_argument("--runs", type=int, default=2, help="sessions that launch a small learning-curve run")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for any one answer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--url", default=None, help="an already served app (default: start one)")
    p.add_argument("--num-procs", type=int, default=1, help="panel serve --num-procs for the started server")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    proc = None
    url = a.url
    if url is None:
        tmp = tempfile.mkdtemp()
        proc, url = start_server(os.path.join(tmp, "runs.sqlite"), os.path.join(tmp, "serve.log"), a.num_procs)
    try:
        out = run_classroom(url, a.sessions, a.duration, a.every, a.runs, a.seed, a.timeout,
                            proc.pid if proc else None)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps({k: v for k, v in out.items() if k not in ("errors", "crosstalk")}, indent=1))
    print(f"errors: {len(out['errors'])}, cross-talk: {len(out['crosstalk'])}")
    for e in out["errors"][:10]:
        print("  ", e)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
