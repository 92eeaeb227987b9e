"""The QM9 data set as app state: loaded once per server process, with progress for the page."""

from __future__ import annotations

import asyncio
import threading

import param

from ...core.data import MolecularDataset, load_qm9

_LOCK = threading.Lock()
_TABLES: dict = {}
_LOADED: dict = {}  # loader -> (dataset, table) once this process has loaded QM9 with it


class DataSource(param.Parameterized):
    """Loads QM9 (cache or first parse) off the event loop and publishes progress.

    Sessions share the loaded data set: `load_qm9` keeps it in memory for the process.
    """

    dataset = param.ClassSelector(class_=MolecularDataset, allow_None=True, default=None,
                                  doc="The loaded data set, None until ready")
    table = param.DataFrame(default=None, allow_None=True,
                            doc="One row per molecule (index, SMILES, formula, ...), for browsing")
    progress = param.Integer(default=0, bounds=(0, 100), doc="Loading progress, percent")
    message = param.String(default="Loading QM9 ...")
    error = param.String(default="", doc="Why loading failed, for the user")

    _latest = (0, 1, "")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self._latest = (done, total, message)  # read by the event loop, see load()

    def _load_blocking(self):
        with _LOCK:  # the first sessions of a fresh server wait for one parse
            dataset = load_qm9(progress=self._on_progress)
            if id(dataset) not in _TABLES:  # formulas of 130,831 molecules: about a second
                _TABLES[id(dataset)] = dataset.to_frame()
            _LOADED[load_qm9] = (dataset, _TABLES[id(dataset)])
            return dataset, _TABLES[id(dataset)]

    async def load(self) -> None:
        """Load in a worker thread; mirror its progress into parameters on the event loop."""
        if load_qm9 in _LOADED:  # loaded by an earlier session of this process: no thread, no wait
            dataset, table = _LOADED[load_qm9]
            self.param.update(progress=100, message="QM9 loaded", table=table, dataset=dataset)
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._load_blocking)
        while not future.done():
            done, total, message = self._latest
            self.param.update(progress=int(100 * done / max(total, 1)),
                              message=f"Loading QM9: {message}" if message else self.message)
            await asyncio.sleep(0.25)
        try:
            dataset, table = await future
        except Exception as exc:  # shown on the page; the server keeps running
            self.error = f"QM9 could not be loaded: {exc}"
            return
        self.param.update(progress=100, message="QM9 loaded", table=table, dataset=dataset)
