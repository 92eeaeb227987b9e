"""The app's data state: loads off the event loop, reports progress and errors to the page."""

from __future__ import annotations

import asyncio

import panel as pn

from wqml_dash.ui.data import data_source
from wqml_dash.ui.data.data_overview import DataOverview


def _run(coro_fn):
    """asyncio.run in a thread of its own (Playwright's sync API may own this thread's loop)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


def test_load_publishes_dataset_and_table(qm9):
    src = data_source.DataSource()
    _run(src.load)
    assert src.dataset is qm9
    assert len(src.table) == len(qm9)
    assert list(src.table.columns[:4]) == ["qm9_index", "smiles", "formula", "atoms"]
    assert src.progress == 100 and src.error == ""


def test_progress_is_mirrored_while_loading(monkeypatch, qm9):
    import threading

    release = threading.Event()

    def slow_load(progress=None):
        progress(2, 5, "parsing geometries")
        release.wait(5)
        return qm9

    monkeypatch.setattr(data_source, "load_qm9", slow_load)
    src = data_source.DataSource()
    seen = []

    async def run():
        task = asyncio.create_task(src.load())
        for _ in range(40):
            await asyncio.sleep(0.05)
            seen.append((src.progress, src.message))
            if src.progress == 40:
                break
        release.set()
        await task

    _run(run)
    assert (40, "Loading QM9: parsing geometries") in seen
    assert src.dataset is qm9


def test_failure_is_shown_not_raised(monkeypatch):
    def broken(progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(data_source, "load_qm9", broken)
    src = data_source.DataSource()
    _run(src.load)
    assert src.dataset is None
    assert "disk full" in src.error
    view = DataOverview(source=src)._body()
    assert isinstance(view, pn.pane.Alert) and "disk full" in view.object
