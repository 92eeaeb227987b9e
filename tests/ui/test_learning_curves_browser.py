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


#: Screen positions of the points of every Bokeh Scatter drawn inside a box ({x, y, width, height}, as
#: Playwright's ``bounding_box`` gives), one list per Scatter; the hidden tabs' plots (kept in the page,
#: not drawn) are skipped.
_SCATTER_POINTS_JS = """
(b) => {
  const inside = (r) => r.left >= b.x - 1 && r.top >= b.y - 1 && r.right <= b.x + b.width + 1
                        && r.bottom <= b.y + b.height + 1;
  const found = [], seen = new Set();
  function walk(v) {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (v.model && v.model.type === "GlyphRenderer" && v.glyph && v.glyph.model.type === "Scatter") {
      const g = v.glyph, box = v.parent.canvas_view.el.getBoundingClientRect(), pts = [];
      if (!g.sx || box.width === 0 || !inside(box)) return;
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
    page.get_by_text(re.compile(r"Run \d+ launched")).wait_for(timeout=30_000)
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
    for label in ("L1 · sorted CM", "W1"):
        curves.get_by_role("button", name=label).wait_for(timeout=10_000)
    # The newest point's parity plot and error statistics are shown.
    page.locator(".wqml-point-stats").get_by_text("50 test molecules").wait_for(timeout=10_000)
    page.locator(".wqml-point-stats").get_by_text("n = 40").wait_for(timeout=10_000)  # the largest size first
    # Tapping the leftmost point of the curve (n = 20) shows that point instead.
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = page.locator(".wqml-curve-plot").first.bounding_box()
    curve_points = [p for pts in page.evaluate(_SCATTER_POINTS_JS, box) for p in pts]
    assert len(curve_points) >= 4  # this run's, and the reference curves' (from n = 100)
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


@pytest.mark.slow  # about 70 s; cancel, resume, delete are tested in-process (test_learning_curves_tab.py)
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


@pytest.mark.slow  # the form's messages are tested in-process in test_learning_curves_tab.py
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


# -- reference curves, comparison, hover, parity -> explorer (issue 13) ----------------------
#: The learning-curve scatter's data and the screen position of each point.
_CURVE_DATA_JS = """
() => {
  const seen = new Set();
  let out = null;
  function walk(v) {
    if (!v || seen.has(v) || out) return;
    seen.add(v);
    if (v.model && v.model.type === "GlyphRenderer" && v.glyph && v.glyph.model.type === "Scatter"
        && v.model.data_source.data.curve !== undefined) {
      const d = v.model.data_source.data, g = v.glyph, box = v.parent.canvas_view.el.getBoundingClientRect();
      out = {};
      for (const k of ["run_id", "series", "size", "sigma", "lam", "curve", "marker", "fill_alpha", "x"])
        out[k] = Array.from(d[k]);
      out.sx = Array.from(g.sx).map(x => x + box.left);
      out.sy = Array.from(g.sy).map(y => y + box.top);
      return;
    }
    const kids = [...(v.child_views || []), ...(v.renderer_views ? v.renderer_views.values() : [])];
    for (const c of kids) walk(c);
  }
  for (const v of Object.values(Bokeh.index)) walk(v);
  if (!out) return null;
  const axes = [];
  for (const m of Bokeh.documents[0].all_models)
    if (m.axis_label !== undefined && m.axis_label) axes.push(m.axis_label);
  out.axes = axes;
  return out;
}
"""


def _curve_data(page):
    page.wait_for_function(f"() => ({_CURVE_DATA_JS})() !== null", timeout=60_000)
    return page.evaluate(_CURVE_DATA_JS)


def test_the_reference_curves_show_on_first_open(app_url, watched_page, shot_path):
    """A new session sees the paper's Fig. 3 at once, whatever the store holds (the session store
    may hold other tests' runs; a new session shows the newest of those too)."""
    from wqml_dash.runs.reference import reference_points

    page = watched_page.page
    _open_tab(page, app_url)
    page.locator(".wqml-run-key").get_by_text("reference, precomputed").wait_for(timeout=60_000)
    data = _curve_data(page)
    ref = reference_points(-1)
    mine = [i for i, r in enumerate(data["run_id"]) if r == -1]
    assert len(mine) == len(ref) and {data["series"][i] for i in mine} == set(ref["series"])  # the five series
    assert "Training size" in data["axes"] and "MAE (kcal/mol)" in data["axes"]
    legend = {data["curve"][i] for i in mine}
    assert len(legend) == 5 and any(label.endswith("W1") for label in legend)
    assert page.locator(".wqml-curve-plot canvas").count() >= 1
    page.locator(".wqml-curve-plot").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot_path))
    assert watched_page.errors == [] and watched_page.outside == []


@pytest.mark.slow  # the hover's formatters are tested in test_curve_plots.py
def test_the_hover_shows_the_stored_sigma_and_lambda(app_url, watched_page):
    from wqml_dash.runs.reference import reference_points

    page = watched_page.page
    _open_tab(page, app_url)
    page.locator(".wqml-run-key").get_by_text("reference, precomputed").wait_for(timeout=60_000)
    page.locator(".wqml-curve-plot").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    data = _curve_data(page)
    i = next(i for i, (r, s, n) in enumerate(zip(data["run_id"], data["series"], data["size"], strict=True))
             if r == -1 and s == "sorted:w1" and n == 1000)
    ref = reference_points(-1).set_index(["series", "size"]).loc[("sorted:w1", 1000)]
    page.mouse.move(data["sx"][i], data["sy"][i])
    tooltip = page.locator(".bk-Tooltip, .bk-tooltip").filter(has_text="sigma").first
    tooltip.wait_for(timeout=10_000)
    text = tooltip.evaluate("e => e.shadowRoot.querySelector('.bk-tooltip-content').textContent")
    sigma, lam = re.search(r"sigma: ?(\S+)", text)[1], re.search(r"lambda: ?(\S+)", text)[1]
    assert "%" not in text, text  # issue 13: 'sigma: .41%'
    assert sigma == f"{ref['sigma']:.4g}" and float(lam) == pytest.approx(ref["lam"]), text  # %.4g and %.1e


@pytest.mark.slow  # launches two runs; the styles per run and series are tested in test_curve_plots.py
def test_two_overlaid_runs_stay_distinguishable(app_url, app_store, watched_page, shot_path):
    """Two stored runs with the same numbers overlaid with the reference: every run has its own
    marker and fill, and no point of one run hides a point of the other."""
    import numpy as np

    from wqml_dash.core.learn.results import CurvePoint
    from wqml_dash.core.learn.series import parse_series
    from wqml_dash.runs.config import RunConfig

    store = RunStore(app_store)
    ids = []
    for name in (f"twin-a-{uuid.uuid4().hex[:4]}", f"twin-b-{uuid.uuid4().hex[:4]}"):
        run_id = store.create_run(RunConfig(series=["sorted:w1"], sizes=[100, 1000], n_test=50, folds=2,
                                            name=name), status="running")
        for n in (100, 1000):
            mae = 300 / np.sqrt(n)  # the same numbers in both runs
            store.add_point(run_id, "sorted:w1", n, 0, CurvePoint(*parse_series("sorted:w1"), n, mae, 1.5 * mae,
                                                                   3.0, 1e-6, mae, 0.1, 0.01))
        store.set_status(run_id, "finished")
        ids.append(run_id)
    page = watched_page.page
    _open_tab(page, app_url)
    for run_id in ids:  # a run selected in the table joins the plot
        _row(page, store.get_run(run_id)["name"]).locator(".tabulator-cell[tabulator-field='name']").click()
        page.locator(".wqml-run-key").get_by_text(f"#{run_id}").wait_for(timeout=30_000)
    page.locator(".wqml-curve-plot").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    data = _curve_data(page)
    rows = {r: [i for i, x in enumerate(data["run_id"]) if x == r] for r in (*ids, -1)}
    assert all(rows.values())
    markers = {r: {data["marker"][i] for i in rows[r]} for r in rows}
    assert all(len(m) == 1 for m in markers.values()) and len({m.pop() for m in markers.values()}) == 3
    a, b = ([(round(data["sx"][i]), round(data["sy"][i])) for i in rows[r]] for r in ids)
    assert not set(a) & set(b)  # identical values, drawn apart
    page.screenshot(path=str(shot_path))
    assert watched_page.errors == [] and watched_page.outside == []


@pytest.mark.slow  # opening a molecule from another tab stays in the default run through the QM9 search test
def test_a_parity_point_opens_its_molecule_in_the_explorer(app_url, watched_page, shot_path):
    page = watched_page.page
    _open_tab(page, app_url)
    # Inspect a point of the reference run (the session store may hold other tests' runs).
    run = page.locator("select:not([multiple])").filter(
        has=page.locator("option", has_text="(reference, precomputed)")).first
    run.wait_for(timeout=60_000)
    run.select_option(label=run.locator("option", has_text="(reference, precomputed)").first.inner_text())
    # The reference point's parity plot has replaced the one shown before (the newest run's, if any).
    page.locator(".wqml-point-stats").get_by_text("2,000 test molecules").wait_for(timeout=60_000)
    parity = page.locator(".wqml-parity-plot")
    parity.wait_for(timeout=60_000)
    page.set_viewport_size({"width": 1400, "height": 1600})  # all of the parity plot on screen
    parity.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    scatters = page.evaluate(_SCATTER_POINTS_JS, parity.bounding_box())
    points = max(scatters, key=len)  # the parity plot's 2,000 test molecules
    x, y = max(points, key=lambda p: p[1])  # the lowest point on screen: an extreme molecule, alone there
    page.mouse.click(x, y)
    button = page.locator(".wqml-open-parity-molecule button")
    expect(button).to_have_text(re.compile(r"Open QM9 #\d+ in explorer"), timeout=10_000)
    index = re.search(r"#(\d+)", button.inner_text())[1]
    button.click()
    page.locator(".bk-tab.bk-active", has_text="Displacement explorer").wait_for(timeout=30_000)
    page.get_by_text(f"QM9 #{index} ").first.wait_for(timeout=60_000)
    page.get_by_text(f"QM9 #{index} ").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shot_path))
    assert watched_page.errors == [] and watched_page.outside == []


_FIGURE_EXPORT_JS = """
async () => {
  const seen = new Set();
  let out = null;
  function walk(v) {
    if (!v || seen.has(v)) return;
    seen.add(v);
    if (v.model && v.model.type === "Figure" && v.model.title && v.model.title.text.startsWith("Learning curves"))
      out = v;
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const v of Object.values(Bokeh.index)) walk(v);
  return out ? (await out.export().to_blob()).type : null;
}
"""


def _export_type(page, wanted, tries=60):
    """The type of the figure's export, polled (evaluate awaits the promise) until it is ``wanted``."""
    kind = None
    for _ in range(tries):
        kind = page.evaluate(_FIGURE_EXPORT_JS)
        if kind == wanted:
            break
        page.wait_for_timeout(500)
    return kind


def test_the_figure_saves_as_png_or_svg(app_url, watched_page):
    """What the toolbar's save button writes (Bokeh's export of the figure), before and after "SVG"."""
    page = watched_page.page
    _open_tab(page, app_url)
    page.locator(".wqml-run-key").get_by_text("reference, precomputed").wait_for(timeout=60_000)
    assert _export_type(page, "image/png") == "image/png"
    page.get_by_role("button", name="SVG").click()
    assert _export_type(page, "image/svg+xml") == "image/svg+xml"
    assert watched_page.errors == [] and watched_page.outside == []
