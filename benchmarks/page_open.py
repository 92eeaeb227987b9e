"""How soon a page is interactive: the first after ``panel serve app.py`` starts, then warm pages.

    PYTHONPATH=$PWD python benchmarks/page_open.py [--warm 3] [--json PATH]    # from a checkout's root

Starts ``panel serve app.py`` (from the current directory) on a free port; the *first page* time
runs from the server's start to the first scan's readout on screen in headless Chromium (Debian's
``chromium``, one page); each *warm page* is a new page in a fresh browser context, timed from
``goto`` to the readout on screen. Run it from an older checkout's root for the "before" figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warm", type=int, default=3)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "WQML_STORE": os.path.join(tmp, "runs.sqlite"), "PYTHONPATH": os.getcwd()}
    env.pop("WQML_SCHEDULER", None)
    url = f"http://127.0.0.1:{port}/app"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        t0 = time.perf_counter()
        log = open(os.path.join(tmp, "serve.log"), "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address",
                                 "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            def page_time(wait_server: bool) -> float:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                start = time.perf_counter()
                while True:
                    try:
                        page.goto(url, timeout=5_000)
                        break
                    except Exception:  # noqa: BLE001 (the server is not listening yet)
                        if not wait_server or time.perf_counter() - start > 300:
                            raise
                        time.sleep(0.05)
                page.locator(".wqml-d").first.wait_for(timeout=300_000)
                elapsed = time.perf_counter() - start
                context.close()
                return elapsed

            page_time(wait_server=True)
            first = time.perf_counter() - t0
            warm = [page_time(wait_server=False) for _ in range(a.warm)]
        finally:
            proc.terminate()
            proc.wait(30)
            browser.close()
    out = {"cwd": os.getcwd(), "first_page_s": round(first, 2), "warm_page_s": [round(w, 2) for w in warm],
           "warm_page_median_s": round(statistics.median(warm), 2), "load_average": os.getloadavg()}
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
