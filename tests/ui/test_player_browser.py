"""The slider, Play and the link run in the page: they keep working while the server is stopped.

The server process is frozen with SIGSTOP while the page is open (its event loop cannot answer
anything), then the slider, Play/Pause and the address bar are driven and the screen is checked.
Also: the link keeps one encoding, and a restored link fills the controls it restored.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from explorer_readout import READOUT, wait_d
from explorer_readout import read_d as _d

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser



def _wait_d(page, condition, timeout_ms: int = 5_000) -> float:
    return wait_d(page, condition, timeout_ms, poll_ms=50)


def _query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


@pytest.fixture
def own_server(tmp_path, launch_server):
    """A server of this test's own: it is stopped (SIGSTOP) while the page is open."""
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    env.pop("WQML_SCHEDULER", None)
    proc, port = launch_server([sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", "{port}",
                                "--address", "127.0.0.1", "--allow-websocket-origin", "127.0.0.1:{port}"],
                               "http://127.0.0.1:{port}/app", env, tmp_path / "serve.log")
    yield f"http://127.0.0.1:{port}/app", proc
    os.kill(proc.pid, signal.SIGCONT)  # never leave it stopped


#: In the page: arm a timer that starts at the next key press and stops when the readout's text changes
#: (the readout sits in nested shadow roots), then resolves on the next animation frame (on screen).
_ARM = """() => { window.__press = new Promise(resolve => {
  const deep = root => root.querySelector('.wqml-d') || [...root.querySelectorAll('*')]
    .filter(e => e.shadowRoot).map(e => deep(e.shadowRoot)).find(Boolean) || null
  const box = deep(document).parentNode, before = box.textContent  // the readout's element (kept; its content changes)
  document.addEventListener('keydown', () => {
    const t0 = performance.now()
    const check = () => box.textContent !== before
      ? requestAnimationFrame(() => resolve(performance.now() - t0)) : requestAnimationFrame(check)
    check()
  }, {once: true, capture: true})
  setTimeout(() => resolve(-1), 10000)  // never hang the test: -1 is "no change within 10 s"
}) }"""


def _timed_press(page) -> float:
    page.evaluate(_ARM)
    page.keyboard.press("ArrowRight")
    return page.evaluate("() => window.__press")


def test_slider_play_and_link_work_with_the_server_stopped(own_server, browser, shot_path):
    url, proc = own_server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.locator(READOUT).first.wait_for(timeout=90_000)
    page.locator(".wqml-mol canvas").wait_for(timeout=30_000)
    page.wait_for_function("() => /[?&]d=/.test(location.search)", timeout=15_000)
    assert _d(page) == 0.0
    plot, mol = page.locator(".wqml-scan-plot").first, page.locator(".wqml-mol canvas")
    heat, cdf = page.locator(".wqml-cm-heatmap").first, page.locator(".wqml-cdf-plot").first
    page.wait_for_timeout(500)
    before = [plot.screenshot(), mol.screenshot(), heat.screenshot(), cdf.screenshot()]

    os.kill(proc.pid, signal.SIGSTOP)  # from here on the server answers nothing
    try:
        # The slider, by keyboard: every view follows, and the link's d.
        handle = page.locator(".noUi-handle").first
        handle.focus()
        for _ in range(30):
            page.keyboard.press("ArrowRight")
        _wait_d(page, lambda d: d == 0.30)
        page.wait_for_timeout(300)
        after = [plot.screenshot(), mol.screenshot(), heat.screenshot(), cdf.screenshot()]
        assert all(a != b for a, b in zip(after, before, strict=True))  # marker, atom, CM, CDF moved
        page.wait_for_function("() => location.search.includes('d=0.3&')", timeout=5_000)

        # Slider-to-screen time, measured in the page (reported, not asserted).
        handle.focus()
        times = [_timed_press(page) for _ in range(20)]
        assert min(times) >= 0, times  # every press reached the screen
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"slider to screen with the server stopped: median {statistics.median(times):.1f} ms, "
              f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms (n={len(times)})")
        d_now = _d(page)
        assert d_now == pytest.approx(0.50)

        # Play: d advances on its own; Pause stops it at once and the link keeps where it stopped.
        page.get_by_role("button", name="▶ Play").click()
        page.get_by_role("button", name=re.compile("Pause")).wait_for(timeout=2_000)
        _wait_d(page, lambda d: d != d_now)
        page.wait_for_timeout(800)
        page.get_by_role("button", name=re.compile("Pause")).click()
        page.get_by_role("button", name="▶ Play").wait_for(timeout=2_000)
        stopped = _d(page)
        page.wait_for_timeout(600)
        assert _d(page) == stopped and stopped != d_now
        page.wait_for_function(f"() => location.search.includes('d={stopped:g}&')", timeout=5_000)
        page.screenshot(path=str(shot_path), full_page=True)
    finally:
        os.kill(proc.pid, signal.SIGCONT)

    # The server catches up: it learnt where Play stopped, and a new training set keeps that d.
    page.get_by_role("button", name="New training set").click()
    page.get_by_text("10 training points, drawn with seed 1").wait_for(timeout=30_000)
    page.wait_for_function("() => location.search.includes('seed=1&')", timeout=10_000)  # written 120 ms later
    assert _d(page) == stopped and _query(page)["d"] == f"{stopped:g}"
    assert errors == []
    context.close()


def test_the_link_keeps_one_encoding_and_fills_the_controls(app_url, watched_page):
    page = watched_page.page
    page.goto(app_url + "?source=smiles&mol=CC(%3DO)C&models=%5B%22l1_sorted%22%2C%22w1%22%5D&normalize=false")
    page.locator(".wqml-molinfo").get_by_text("C3H6O").wait_for(timeout=90_000)
    smiles = page.get_by_placeholder("e.g. C=CC=O (acrolein)")
    assert smiles.input_value() == "CC(=O)C"  # the restored SMILES is in its box
    page.wait_for_function("() => /[?&]d=/.test(location.search)", timeout=15_000)
    handle = page.locator(".noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="New training set").click()
    page.get_by_text("drawn with seed 1").first.wait_for(timeout=30_000)
    page.wait_for_function("() => location.search.includes('seed=1')", timeout=10_000)
    search = page.evaluate("() => location.search")
    assert "%27" not in search and "False" not in search and "True" not in search
    query = _query(page)
    assert json.loads(query["models"]) == ["l1_sorted", "w1"] and query["normalize"] == "false"
    assert query["d"] == "0.01" and query["mol"] == "CC(=O)C" and query["source"] == "smiles"
    assert watched_page.errors == [] and watched_page.outside == []


def test_the_player_still_drives_the_page_after_another_tab_was_shown(own_server, browser):
    """A tab shown again renders new slider and view models: the page's player must reach them too."""
    url, proc = own_server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.locator(READOUT).first.wait_for(timeout=90_000)
    page.wait_for_function("() => /[?&]d=/.test(location.search)", timeout=15_000)
    page.locator(".bk-tab", has_text="QM9 data").click()
    page.wait_for_timeout(1500)
    page.locator(".bk-tab", has_text="Displacement explorer").click()
    page.locator(READOUT).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the server's next tick attaches the player to the new models
    os.kill(proc.pid, signal.SIGSTOP)  # the page alone from here
    try:
        handle = page.locator(".noUi-handle").first
        handle.focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        assert _wait_d(page, lambda d: d == 0.10) == 0.10
        page.wait_for_function("() => location.search.includes('d=0.1&')", timeout=5_000)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    context.close()
