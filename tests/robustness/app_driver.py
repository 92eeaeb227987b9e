"""Driving the learning-curves tab in Chromium, as a user does (the same steps as
tests/ui/test_learning_curves_browser.py)."""

from __future__ import annotations

import re


def open_tab(page, url: str) -> None:
    page.goto(url)
    page.locator(".bk-tab", has_text="Learning curves").click()
    page.locator(".wqml-run-form").wait_for(timeout=60_000)


def field(page, label: str):
    """The input or select of the form field labelled ``label``."""
    group = page.locator(".wqml-run-form .bk-input-group").filter(
        has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}")))
    return group.locator("input, select").first


def set_field(page, label: str, value) -> None:
    box = field(page, label)
    box.fill(str(value))
    box.press("Enter")


def launch_run(page, name: str, sizes: str, n_test: int, series: tuple[tuple[str, str], ...]) -> None:
    """Fill the form (Quick demo, then the given series, sizes, test set and 2 folds) and press Launch."""
    field(page, "Start from").select_option("Quick demo")
    for metric in ("l1", "l2", "w1"):  # clear the series matrix, then tick the wanted ones
        active = page.locator(f".wqml-series-{metric} button.bk-active")
        while active.count():
            active.first.click()
    for metric, order in series:
        page.locator(f".wqml-series-{metric.lower()}").get_by_role("button", name=order, exact=True).click()
    set_field(page, "Run name", name)
    set_field(page, "Training sizes", sizes)
    set_field(page, "Test molecules", n_test)
    set_field(page, "CV folds", 2)
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Launch run").click()
    page.get_by_text(re.compile(r"Run \d+ launched")).wait_for(timeout=30_000)


def row(page, name: str):
    return page.locator(".wqml-runs-table .tabulator-row").filter(has_text=name)


def press(page, action: str) -> None:
    """Press Cancel, Resume or Delete for the selected run, once it is enabled."""
    button = page.locator(f".wqml-run-{action} button")
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=30_000)
    button.click()
