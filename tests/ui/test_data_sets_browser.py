"""Data sets of the server's data folder (``WQML_DATA_DIR``) in a real headless Chromium: choose one in
the learning-curve form, see a too-large test set refused with the numbers, launch a tiny run on the
served app's Dask cluster and see its points in the data set's unit; then choose it in the data tab
and see its summary (issue 15)."""

from __future__ import annotations

import os
import re
import sys

import pytest
from data_set_files import write_conformers
from test_learning_curves_browser import _SCATTER_POINTS_JS, _field, _row, _set

from wqml_dash.runs.store import RunStore

pytestmark = pytest.mark.browser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "conformers.extxyz"
RUN_TIMEOUT = 180_000  # ms: the run also starts the Dask cluster; its worker reads the file

#: Axis labels of every Bokeh model in the page.
_AXES_JS = """
() => {
  const out = [];
  for (const doc of Bokeh.documents)
    for (const m of doc.all_models)
      if (m.axis_label !== undefined && m.axis_label) out.push(m.axis_label);
  return out;
}
"""


@pytest.fixture
def served(launch_server, tmp_path):
    """The app served with a data folder of one extended XYZ file (120 conformers, energy in eV)."""
    folder = tmp_path / "data"
    write_conformers(folder)
    store = tmp_path / "runs.sqlite"
    env = {**os.environ, "WQML_DATA_DIR": str(folder), "WQML_STORE": str(store)}
    env.pop("WQML_SCHEDULER", None)
    argv = [sys.executable, "-m", "panel", "serve", os.path.join(ROOT, "app.py"), "--port", "{port}",
            "--address", "127.0.0.1", "--allow-websocket-origin", "127.0.0.1:{port}"]
    _proc, port = launch_server(argv, "http://127.0.0.1:{port}/app", env, tmp_path / "panel-serve.log")
    return f"http://127.0.0.1:{port}/app", store


def test_a_data_set_is_chosen_learned_and_shown(served, watched_page, shot_path):
    url, store_path = served
    page = watched_page.page
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(url)
    page.locator(".bk-tab", has_text="Learning curves").click()
    page.locator(".wqml-run-form").wait_for(timeout=60_000)

    _field(page, "Start from").select_option("Quick demo")
    _field(page, "Data set").select_option(NAME)
    target = _field(page, "Target")
    page.wait_for_function("s => [...s.options].some(o => o.text === 'energy (eV)')", arg=target.element_handle(),
                           timeout=60_000)
    for metric in ("l1", "l2", "w1"):  # clear the series matrix, then tick sorted W1
        active = page.locator(f".wqml-series-{metric} button.bk-active")
        while active.count():
            active.first.click()
    page.locator(".wqml-series-w1").get_by_role("button", name="sorted", exact=True).click()
    _set(page, "Run name", "conformers tiny")
    _set(page, "Training sizes", "20, 40")
    _set(page, "CV folds", 2)
    _set(page, "Test molecules", 100)
    page.locator(".wqml-form-message").get_by_text(
        "largest training size 40 plus 100 test molecules exceeds the 120 molecules of conformers.extxyz"
    ).wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Launch run").is_disabled()
    page.locator(".wqml-form-message").scroll_into_view_if_needed()
    page.screenshot(path=str(shot_path.with_name(shot_path.stem + "-form.png")))
    _set(page, "Test molecules", 40)
    page.locator(".wqml-form-summary").get_by_text("of conformers.extxyz (120 molecules)").wait_for(timeout=10_000)
    page.get_by_role("button", name="Launch run").click()
    page.get_by_text(re.compile(r"Run \d+ launched")).wait_for(timeout=30_000)

    row = _row(page, "conformers tiny")
    row.wait_for(timeout=30_000)
    row.locator(".tabulator-cell[tabulator-field='data']", has_text=NAME).wait_for(timeout=10_000)  # names it
    row.locator(".wqml-status-finished").wait_for(timeout=RUN_TIMEOUT)
    run = RunStore(store_path).list_runs().set_index("name").loc["conformers tiny"]
    assert run["status"] == "finished" and run["n_done"] == 2, run["error"]
    assert run["config"]["data"]["unit"] == "eV" and run["config"]["target"] == "energy"

    stats = page.locator(".wqml-point-stats")
    stats.get_by_text(re.compile(r"40 test molecules of conformers\.extxyz.*\(eV\)")).wait_for(timeout=30_000)
    box = page.locator(".wqml-curve-plot").first.bounding_box()
    page.wait_for_function(f"b => ({_SCATTER_POINTS_JS})(b).flat().length >= 2", arg=box, timeout=30_000)
    axes = page.evaluate(_AXES_JS)
    assert "MAE (eV)" in axes and "Reference (eV)" in axes
    page.get_by_text("Test molecules are frames of conformers.extxyz").wait_for(timeout=10_000)
    assert page.locator(".wqml-open-parity-molecule").count() == 0  # a frame opens no QM9 molecule
    page.locator(".wqml-curve-plot").first.scroll_into_view_if_needed()
    page.mouse.move(5, 300)
    page.wait_for_timeout(800)
    page.screenshot(path=str(shot_path.with_name(shot_path.stem + "-curves.png")))

    page.locator(".bk-tab", has_text="Data sets").click()
    page.locator(".wqml-data-choice select").select_option(NAME)
    summary = page.locator(".wqml-data-summary")
    summary.get_by_text("Content hash").wait_for(timeout=60_000)
    summary.get_by_text(re.compile(r"energy.*\(eV\)")).wait_for(timeout=10_000)
    for text in ("Molecules", "120", "Largest molecule (atoms)", "12"):
        assert page.get_by_text(text, exact=True).count() >= 1, text
    page.locator(".wqml-frame-table .tabulator-cell", has_text="C2H6O").first.wait_for(timeout=30_000)
    assert "MAE (eV)" in axes and "energy (eV)" in page.evaluate(_AXES_JS)
    page.locator(".wqml-histogram canvas").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shot_path))
    assert watched_page.errors == []
    assert watched_page.outside == []
