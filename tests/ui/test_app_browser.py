"""The served app in a real headless Chromium: data summary, table, offline, no errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _wait_for_data(page):
    """Open the "QM9 data" tab and wait until QM9 is loaded (the atom count is in its summary)."""
    page.locator(".bk-tab", has_text="QM9 data").click(timeout=90_000)
    page.get_by_text("2,359,210").wait_for(timeout=90_000)


def test_app_shows_the_data_set(app_url, watched_page, shot_path):
    page = watched_page.page
    page.goto(app_url)
    _wait_for_data(page)
    for text in ("Molecules", "130,831", "Largest molecule (atoms)", "-1,755.3", "238.1"):
        assert page.get_by_text(text, exact=True).count() >= 1, text
    page.locator(".tabulator").wait_for(timeout=30_000)
    # The table's first page starts with methane, ammonia and water.
    for formula in ("CH4", "H3N", "H2O"):
        page.locator(".tabulator-cell", has_text=formula).first.wait_for(timeout=10_000)
    page.locator(".wqml-histogram canvas").first.wait_for(timeout=30_000)  # the histogram is drawn
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shot_path), full_page=True)

    assert watched_page.errors == []
    assert watched_page.outside == []


def test_table_pages_through_all_molecules(app_url, watched_page):
    page = watched_page.page
    page.goto(app_url)
    _wait_for_data(page)
    page.locator(".tabulator").wait_for(timeout=30_000)
    first = page.locator(".tabulator-row").first.inner_text()
    assert "CH4" in first
    assert page.locator(".tabulator-row").count() == 50  # 50 molecules a page
    page.locator(".tabulator-page[data-page='next']").click()
    # Page 2 starts with QM9 index 51, imidazole (C3H4N2).
    first = page.locator(".tabulator-row").first.locator(".tabulator-cell[tabulator-field='qm9_index']")
    expect(first).to_have_text("51", timeout=30_000)
    assert "C3H4N2" in page.locator(".tabulator-row").first.inner_text()
    assert watched_page.errors == []


def test_a_qm9_search_opens_the_molecule_in_the_explorer(app_url, watched_page, shot_path):
    page = watched_page.page
    page.goto(app_url)
    _wait_for_data(page)
    search = page.locator(".wqml-qm9-search input")
    search.fill("benzene")
    search.press("Enter")
    row = page.locator(".wqml-molecule-table .tabulator-row").first
    expect(row.locator(".tabulator-cell[tabulator-field='qm9_index']")).to_have_text("214", timeout=30_000)
    page.get_by_text("search read as name: benzene").wait_for(timeout=10_000)
    page.screenshot(path=str(shot_path).replace(".png", "-search.png"))
    row.locator(".wqml-open-molecule").click()
    page.locator(".bk-tab.bk-active", has_text="Displacement explorer").wait_for(timeout=30_000)
    page.get_by_text("QM9 #214 C6H6").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shot_path))
    assert watched_page.errors == []
    assert watched_page.outside == []


def test_histogram_follows_the_property_chooser(app_url, watched_page, shot_path):
    page = watched_page.page
    page.goto(app_url)
    _wait_for_data(page)
    plot = page.locator(".wqml-histogram canvas").first
    plot.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    before = plot.screenshot()
    page.get_by_label("Histogram of").select_option(label="HOMO-LUMO gap (Ha)")
    page.wait_for_timeout(2000)
    after = plot.screenshot()
    page.screenshot(path=str(shot_path))
    assert before != after  # the bars and axis were redrawn for the new property
    assert watched_page.errors == []
