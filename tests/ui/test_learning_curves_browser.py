"""The learning-curves tab in a real headless Chromium: launch a tiny run from the form, watch
its progress and curve fill in, reload and find it, cancel and delete another run.

Runs go to the served app's embedded Dask cluster and its temporary store (`app_store`).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from wqml_dash.runs.store import RunStore

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 180_000  # ms: the first run also starts the Dask cluster and loads QM9 in its worker


def _open_tab(page, url):
    page.goto(url)
    page.locator(".bk-tab", has_text="Learning curves").click()
    page.locator(".wqml-run-form").wait_for(timeout=60_000)


def _field(page, label):
    """The input or select of the form field labelled ``label``."""
    group = page.locator(".wqml-run-form .bk-input-group").filter(
        has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}")))
    return group.locator("input, select").first


def _set(page, label, value):
    box = _field(page, label)
    box.fill(str(value))
    box.press("Enter")


def _fill_tiny_run(page, name, sizes="20, 40", n_test=50, series=(("L1", "sorted"), ("W1", "sorted"))):
    _field(page, "Start from").select_option("Quick demo")
    for metric in ("l1", "l2", "w1"):  # clear the series matrix, then tick the wanted ones
        active = page.locator(f".wqml-series-{metric} button.bk-active")
        while active.count():
            active.first.click()
    for metric, order in series:
        page.locator(f".wqml-series-{metric.lower()}").get_by_role("button", name=order, exact=True).click()
    _set(page, "Run name", name)
    _set(page, "Training sizes", sizes)
    _set(page, "Test molecules", n_test)
    _set(page, "CV folds", 2)
    page.wait_for_timeout(500)


def _action(page, action):
    """Press Cancel, Resume or Delete for the selected run, once it is enabled."""
    button = page.locator(f".wqml-run-{action} button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=30_000)
    button.click()


#: Screen positions of the points of every Bokeh Scatter on the page (the learning curve comes first).
_SCATTER_POINTS_JS = """
() => {
  const found = [], seen = new Set();
  function walk(v) {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (v.model && v.model.type === "GlyphRenderer" && v.glyph && v.glyph.model.type === "Scatter") {
      const g = v.glyph, box = v.parent.canvas_view.el.getBoundingClientRect(), pts = [];
      for (let i = 0; i < g.sx.length; i++) pts.push([g.sx[i] + box.left, g.sy[i] + box.top]);
      found.push(pts);
    }
    const kids = [...(v.child_views || []), ...(v.renderer_views ? v.renderer_views.values() : [])];
    for (const c of kids) walk(c);
  }
  for (const v of Object.values(Bokeh.index)) walk(v);
  return found;
}
"""


def _row(page, name):
    return page.locator(".wqml-runs-table .tabulator-row").filter(has_text=name)


def test_launch_watch_and_reload(app_url, app_store, watched_page, shot_path):
    page = watched_page.page
    _open_tab(page, app_url)
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    _fill_tiny_run(page, name)
    page.locator(".wqml-form-summary").get_by_text("2 series x 2 sizes x 1 seed = 4 points").wait_for(timeout=5000)
    page.get_by_role("button", name="Launch run").click()

    row = _row(page, name)
    row.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"Run \d+ launched")).wait_for(timeout=10_000)
    # The progress bar starts empty and counts up to 4 / 4 as points are stored.
    assert row.locator(".wqml-progress").get_attribute("data-total") == "4"
    page.locator(".wqml-curve-plot canvas").first.wait_for(timeout=30_000)
    # Back on the explorer while the run computes: the hidden tab must fetch nothing from outside (its
    # updates once pointed the page's stylesheets at Panel's CDN) and has caught up when shown again.
    page.locator(".bk-tab", has_text="Displacement explorer").click()
    page.locator(".wqml-d").first.wait_for(timeout=60_000)
    store = RunStore(app_store)
    for _ in range(RUN_TIMEOUT // 500):
        if store.list_runs().set_index("name").loc[name, "status"] == "finished":
            break
        page.wait_for_timeout(500)
    page.wait_for_timeout(2500)  # a poll or two of the hidden tab
    page.locator(".bk-tab", has_text="Learning curves").click()
    row.locator(".wqml-status-finished").wait_for(timeout=30_000)
    row.locator(".wqml-progress[data-done='4']").wait_for(timeout=10_000)
    assert watched_page.outside == []
    plot = page.locator(".wqml-curve-plot canvas").first
    # The curve filled in: both series are in the chooser (only series with points are listed).
    curves = page.locator(".wqml-card").filter(has=page.locator(".wqml-curve-plot"))
    for label in ("L1 · sorted", "W1 · sorted"):
        curves.get_by_role("button", name=label).wait_for(timeout=10_000)
    # The newest point's parity plot and error statistics are shown.
    page.locator(".wqml-point-stats").get_by_text("50 test molecules").wait_for(timeout=10_000)
    page.locator(".wqml-point-stats").get_by_text("n = 40").wait_for(timeout=10_000)  # the largest size first
    # Tapping the leftmost point of the curve (n = 20) shows that point instead.
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    curve_points = page.evaluate(_SCATTER_POINTS_JS)[0]
    assert len(curve_points) == 4
    x, y = min(curve_points)
    page.mouse.click(x, y)
    page.locator(".wqml-point-stats").get_by_text("n = 20").wait_for(timeout=10_000)
    page.mouse.move(5, 450)  # no tooltip in the screenshot
    row.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot_path))

    run = RunStore(app_store).list_runs().set_index("name").loc[name]
    assert run["status"] == "finished" and run["n_done"] == 4

    page.reload()
    _open_tab(page, app_url)
    row = _row(page, name)
    row.locator(".wqml-status-finished").wait_for(timeout=30_000)
    row.locator(".tabulator-cell[tabulator-field='name']").click()  # select it: its settings show below
    page.locator(".wqml-run-details").get_by_text("sizes 20, 40; test 50; 2 folds").wait_for(timeout=10_000)
    assert watched_page.errors == []
    assert watched_page.outside == []


def test_cancel_resume_and_delete_a_run(app_url, app_store, watched_page, shot_path):
    page = watched_page.page
    _open_tab(page, app_url)
    name = f"long-{uuid.uuid4().hex[:6]}"
    # 15 points, still running when we cancel it (the engine is fast: small sizes finish in seconds);
    # cancel stops the running tasks at their next factorisation.
    _fill_tiny_run(page, name, sizes="2000, 4000, 8000", n_test=300,
                   series=(("L1", "random"), ("L1", "sorted"), ("L2", "random"), ("L2", "sorted"), ("W1", "sorted")))
    page.get_by_role("button", name="Launch run").click()
    row = _row(page, name)
    row.wait_for(timeout=30_000)
    row.locator(".wqml-status-queued, .wqml-status-running").wait_for(timeout=30_000)
    expect(row).to_have_class(re.compile("tabulator-selected"), timeout=10_000)  # a launched run is selected
    _action(page, "cancel")
    row.locator(".wqml-status-cancelled").wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"Run \d+ cancelled")).wait_for(timeout=10_000)
    store = RunStore(app_store)
    run_id = int(store.list_runs().set_index("name").loc[name, "id"])
    assert store.get_run(run_id)["status"] == "cancelled"

    _action(page, "resume")
    row.locator(".wqml-status-queued, .wqml-status-running").wait_for(timeout=30_000)
    _action(page, "cancel")
    row.locator(".wqml-status-cancelled").wait_for(timeout=30_000)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shot_path))

    _action(page, "delete")
    page.get_by_text(f"Press Delete again to delete run {run_id}").wait_for(timeout=10_000)
    _action(page, "delete")
    page.get_by_text(f"Run {run_id} deleted").wait_for(timeout=30_000)
    _row(page, name).wait_for(state="detached", timeout=10_000)
    with pytest.raises(KeyError):
        store.get_run(run_id)
    assert watched_page.errors == []
    assert watched_page.outside == []


def test_invalid_settings_are_explained_next_to_the_form(app_url, watched_page):
    page = watched_page.page
    _open_tab(page, app_url)
    _set(page, "Training sizes", "100, lots")
    message = page.locator(".wqml-form-message")
    message.get_by_text("training sizes: 'lots' is not a whole number").wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Launch run").is_disabled()
    _set(page, "Training sizes", "3, 100")
    page.get_by_text("every training size must be at least folds=").wait_for(timeout=10_000)
    _set(page, "Training sizes", "100, 200")
    message.wait_for(state="detached", timeout=10_000)
    assert page.get_by_role("button", name="Launch run").is_enabled()
    assert watched_page.errors == []
