"""The displacement explorer in headless Chromium: default example, molecule choice, slider by
keyboard and mouse, click-to-train, the shared link; no console errors, nothing fetched from outside."""

from __future__ import annotations

import re

import numpy as np
import pytest
from explorer_readout import READOUT, wait_d
from explorer_readout import read_d as _d

from wqml_dash.core.scan.examples import TEACHING_EXAMPLES, molecule_from_example

DEFAULT, OTHER = list(TEACHING_EXAMPLES)[:2]  # the app opens on the first teaching example

pytestmark = pytest.mark.browser


def _open(page, url):
    page.goto(url)
    page.locator(READOUT).first.wait_for(timeout=90_000)  # the first scan is drawn
    page.locator(".wqml-mol canvas").wait_for(timeout=30_000)
    page.wait_for_timeout(500)


def _wait_d(page, condition, timeout_ms: int = 15_000) -> float:
    """Poll the readout until ``condition(d)`` holds (the server answers each key press in turn)."""
    return wait_d(page, condition, timeout_ms, poll_ms=100)


def _settled_d(page, timeout_ms: int = 15_000) -> float:
    """The readout's d once it has stayed the same for 700 ms."""
    last = _d(page)
    for _ in range(timeout_ms // 700):
        page.wait_for_timeout(700)
        now = _d(page)
        if now == last:
            return now
        last = now
    raise AssertionError(f"d is still moving: {last}")


def test_explorer_is_the_first_tab_and_reacts_to_slider_clicks_and_molecules(app_url, watched_page, shot_path):
    page = watched_page.page
    _open(page, app_url)
    assert page.locator(".bk-tab.bk-active").first.inner_text() == "Displacement explorer"
    page.locator(".wqml-molinfo").get_by_text(molecule_from_example(DEFAULT).formula).wait_for()
    assert _d(page) == 0.0
    page.get_by_role("columnheader", name="Jump ratio").wait_for()
    plot = page.locator(".wqml-scan-plot").first
    mol = page.locator(".wqml-mol canvas")
    heat = page.locator(".wqml-cm-heatmap").first
    plot_before, mol_before, heat_before = plot.screenshot(), mol.screenshot(), heat.screenshot()
    readout_before = page.locator(".wqml-readouts table").first.inner_text()

    # Keyboard: focus the slider's handle, three steps to the right.
    handle = page.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    _wait_d(page, lambda d: d == 0.03)
    page.wait_for_timeout(400)
    assert plot.screenshot() != plot_before  # the marker moved
    assert mol.screenshot() != mol_before  # the atom moved
    assert heat.screenshot() != heat_before  # the CM changed
    assert page.locator(".wqml-readouts table").first.inner_text() != readout_before

    # Mouse: drag the handle three quarters along the track.
    track = page.locator(".noUi-base").first.bounding_box()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.75 * track["width"], track["y"] + track["height"] / 2, steps=8)
    page.mouse.up()
    _wait_d(page, lambda d: 0.3 < d < 0.7)
    d = _settled_d(page)  # the drag's intermediate values may still be arriving
    page.wait_for_function(f"() => location.search.includes('d={d:g}&')", timeout=15_000)  # the link follows

    # Click the plot: a training point is added where there was none.
    assert "10 training points, drawn" in page.locator(".wqml-train").first.inner_text()
    pbox = plot.bounding_box()
    page.mouse.click(pbox["x"] + 0.5 * pbox["width"], pbox["y"] + 0.6 * pbox["height"])
    page.get_by_text(re.compile(r"(9|11) training points, chosen by clicking")).wait_for(timeout=15_000)
    page.wait_for_function("() => location.search.includes('train=')", timeout=10_000)
    page.screenshot(path=str(shot_path), full_page=True)

    # Another teaching example, then a SMILES string.
    page.get_by_label("Teaching example").select_option(label=TEACHING_EXAMPLES[OTHER].title)
    page.locator(".wqml-molinfo").get_by_text(molecule_from_example(OTHER).formula).wait_for(timeout=30_000)
    page.get_by_role("button", name="SMILES").click()
    box = page.get_by_placeholder("e.g. C=CC=O (acrolein)")
    box.fill("C=CC=C")
    box.press("Enter")
    page.locator(".wqml-molinfo").get_by_text("C4H6").wait_for(timeout=30_000)
    page.get_by_text("10 training points, drawn with seed 0").wait_for(timeout=15_000)

    assert watched_page.errors == []
    assert watched_page.outside == []


def test_bad_smiles_is_answered_in_the_page(app_url, watched_page):
    page = watched_page.page
    _open(page, app_url)
    page.get_by_role("button", name="SMILES").click()
    box = page.get_by_placeholder("e.g. C=CC=O (acrolein)")
    box.fill("C1CC((")
    box.press("Enter")
    page.get_by_text("Could not load the molecule").wait_for(timeout=15_000)
    page.locator(".wqml-molinfo").get_by_text(molecule_from_example(DEFAULT).formula).wait_for()  # still shown
    assert watched_page.errors == []


def test_a_shared_link_reproduces_the_view(app_url, watched_page, shot_path):
    page = watched_page.page
    _open(page, app_url + f"?mol={OTHER}&atom=1&d=-0.4&n_train=6&normalize=true")
    page.locator(".wqml-molinfo").get_by_text(molecule_from_example(OTHER).formula).wait_for(timeout=30_000)
    page.get_by_text("6 training points").first.wait_for(timeout=15_000)
    assert _d(page) == -0.4
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot_path), full_page=True)
    assert watched_page.errors == []
    assert watched_page.outside == []


def test_clicking_an_atom_in_3d_makes_it_move(app_url, watched_page):
    page = watched_page.page
    _open(page, app_url)
    page.wait_for_function("() => /[?&]atom=\\d+/.test(location.search)", timeout=15_000)
    atom0 = re.search(r"[?&]atom=(\d+)", page.url).group(1)
    box = page.locator(".wqml-mol canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # The molecule fills the middle of the view: probe a spiral of points until an atom is hit.
    for k in range(40):
        r, a = 6 * k, 0.9 * k
        page.mouse.click(cx + r * np.cos(a), cy + r * np.sin(a))
        page.wait_for_timeout(150)
        atom = re.search(r"[?&]atom=(\d+)", page.url).group(1)
        if atom != atom0:
            break
    assert atom != atom0
    assert watched_page.errors == []


def test_uploads_good_too_large_and_huge(app_url, watched_page, tmp_path):
    """A huge file is refused by the browser before it is sent (it would cut the websocket off),
    a file over the limit is answered with a message, a good file loads; the session lives on."""
    page = watched_page.page
    _open(page, app_url)
    page.get_by_role("button", name="File", exact=True).click()
    picker = page.locator("input[type=file]").first
    picker.wait_for(state="attached", timeout=10_000)
    huge = tmp_path / "huge.xyz"
    with open(huge, "wb") as fh:  # 30 MB: past the server's 20 MB websocket message limit
        fh.write(b"2\nhuge\n" + b"C 0.0 0.0 0.0\n" * 2_200_000)
    picker.set_input_files(str(huge))
    page.get_by_text(re.compile(r"huge\.xyz: the file has 30,800,007 bytes; at most 1,048,576")).wait_for(
        timeout=15_000)
    water = tmp_path / "water.xyz"
    water.write_text("3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n")
    picker.set_input_files(str(water))
    page.locator(".wqml-molinfo").get_by_text("H2O").wait_for(timeout=30_000)
    handle = page.locator(".noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    _wait_d(page, lambda d: d == 0.01)  # the session still answers
    assert watched_page.errors == [] and watched_page.outside == []
