"""Data sets of the server's data folder (``WQML_DATA_DIR``) in the app, without a browser: the
catalogue, reading a file off the event loop, the data tab's view of a file, the run form's data set
choice, and a data-set run's unit in the learning-curves tab and its downloads (issue 15)."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from data_set_files import write_conformers
from test_learning_curves_tab import SyncExecutor

from wqml_dash.core.data.qm9 import QM9_SIZE
from wqml_dash.runs.export import points_csv, run_unit
from wqml_dash.runs.reference import DEFAULT_REFERENCE
from wqml_dash.runs.store import RunStore
from wqml_dash.ui.curves.learning_curves_tab import LearningCurvesTab
from wqml_dash.ui.curves.run_form import RunForm
from wqml_dash.ui.data.data_overview import DataOverview
from wqml_dash.ui.data.data_sets import DATA_DIR_ENV, QM9_NAME, DataSetLoader, catalogue, property_label
from wqml_dash.ui.data.data_source import DataSource
from wqml_dash.ui.data.file_overview import FileOverview, filter_frames

hv.extension("bokeh", logo=False)
NAME = "conformers.extxyz"


def _run(coro):
    """asyncio.run in a thread of its own (Playwright's sync API may own this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A data folder: 120 conformers (energy in eV), a CSV side table, a file ASE cannot read, a note."""
    folder = tmp_path_factory.mktemp("data")
    write_conformers(folder)
    (folder / "broken.xyz").write_text("this is not\nan xyz file\n")
    (folder / "notes.txt").write_text("not a data set")
    (folder / "other.csv").write_text("a,b\n1,2\n")
    return folder


@pytest.fixture
def data_dir(folder, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    return folder


def test_the_catalogue_is_qm9_and_the_folders_data_sets(data_dir, monkeypatch, tmp_path):
    assert catalogue() == {QM9_NAME: None, "broken.xyz": data_dir / "broken.xyz", NAME: data_dir / NAME}
    assert list(catalogue())[0] == QM9_NAME
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "missing"))
    assert catalogue() == {QM9_NAME: None}  # a folder that is not there: QM9 only, no error
    monkeypatch.delenv(DATA_DIR_ENV)
    assert catalogue() == {QM9_NAME: None}


def test_a_file_is_read_off_the_event_loop_and_a_bad_one_says_why_in_a_line(data_dir):
    loader = DataSetLoader()
    _run(loader.choose(NAME))
    assert loader.error == "" and not loader.loading and len(loader.dataset) == 120
    assert list(loader.table.columns) == ["frame", "formula", "atoms", "energy"]  # no SMILES in the file
    again = DataSetLoader()
    _run(again.choose(NAME))
    assert again.dataset is loader.dataset and again.table is loader.table  # shared by the sessions
    _run(loader.choose("broken.xyz"))
    assert loader.dataset is None and loader.error.startswith("broken.xyz") and "\n" not in loader.error
    assert "Traceback" not in loader.error
    _run(loader.choose("elsewhere.xyz"))
    assert "no such data set" in loader.error
    _run(loader.choose(QM9_NAME))
    assert loader.is_qm9 and loader.dataset is None and loader.error == ""
    assert property_label(again.dataset, "energy") == "energy (eV)"
    assert property_label(None, "gap") == "HOMO-LUMO gap (Ha)"


def test_the_data_tab_shows_a_files_summary_histogram_and_frames(data_dir):
    view = DataOverview(source=DataSource(), choices=catalogue())
    assert view.param.data_set.objects == [QM9_NAME, "broken.xyz", NAME]
    _run(view.choose(NAME))
    page = view._chosen()
    assert isinstance(page, FileOverview)
    pn.panel(page).get_root()
    assert "`energy` (eV)" in page.__panel__()[1].object and page.dataset.content_hash[:12] in \
        page.__panel__()[1].object
    fig = hv.render(page._histogram("energy").object)
    assert fig.xaxis[0].axis_label == "energy (eV)"
    page.query = "C2H7N"
    assert len(page.matches) == 30 and set(page.matches["formula"]) == {"C2H7N"}
    page.query = "12"
    assert page.matches["frame"].tolist() == [12]
    assert filter_frames(page.table, "c3")[0]["formula"].str.startswith("C3").all()
    _run(view.choose("broken.xyz"))
    alert = view._chosen()
    assert isinstance(alert, pn.pane.Alert) and alert.object.startswith("broken.xyz")


def test_a_property_without_a_unit_says_so(tmp_path, monkeypatch):
    from ase import Atoms
    from ase.io import write

    frames = [Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], info={"score": 1.0 + i})
              for i in range(20)]
    write(tmp_path / "water.extxyz", frames)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    loader = DataSetLoader()
    _run(loader.choose("water.extxyz"))
    assert property_label(loader.dataset, "score") == "score (unit not given)"
    form = RunForm(n_molecules=QM9_SIZE)
    _run(form.choose_data_set("water.extxyz"))
    assert form.target.options == {"score (unit not given)": "score"}


def test_the_forms_targets_sizes_and_config_follow_the_data_set(data_dir):
    submitted = []
    form = RunForm(n_molecules=QM9_SIZE, data_sets=catalogue(), submit=lambda cfg: submitted.append(cfg) or "ok")
    assert form.data_set.options == [QM9_NAME, "broken.xyz", NAME] and form.data_set.value == QM9_NAME
    assert form.config().data is None and form.target.value == "atomization_energy"
    _run(form.choose_data_set(NAME))
    assert form.target.options == {"energy (eV)": "energy"} and form.target.value == "energy"
    assert form.n_molecules == 120
    form.apply_values(dict(series=["sorted:w1"], sizes=[20, 40], n_test=100, folds=2))
    assert form.target.value == "energy"  # a preset's QM9 target does not replace the file's
    assert not form.valid and form.launch.disabled
    assert form.message == ("largest training size 40 plus 100 test molecules exceeds the 120 molecules of "
                            "conformers.extxyz")
    form.n_test.value = 40
    assert form.valid and "of conformers.extxyz (120 molecules)" in form.summary.object
    form.launch.clicks += 1
    (cfg,) = submitted
    assert cfg.target == "energy" and cfg.unit == "eV" and cfg.data_name == NAME and cfg.n_molecules == 120
    assert cfg.data["path"] == str((data_dir / NAME).resolve()) and len(cfg.data["sha256"]) == 64
    _run(form.choose_data_set("broken.xyz"))
    assert not form.valid and form.message.startswith("broken.xyz") and form.message_type == "danger"
    _run(form.choose_data_set(QM9_NAME))
    assert form.target.value == "atomization_energy" and "gap" in form.target.options.values()
    assert form.n_molecules == QM9_SIZE and form.valid and form.config().data is None


class FramesExecutor(SyncExecutor):
    """`SyncExecutor` that records each seed's test set as frame numbers, as the real executor does."""

    def add_point(self, run_id, series, size, seed):
        super().add_point(run_id, series, size, seed)
        y_true, _ = self.store.test_set(run_id, seed)
        self.store.set_test_set(run_id, seed, y_true, rows=np.arange(y_true.size) + 3)


def test_a_data_set_run_shows_its_unit_and_data_set_and_opens_no_qm9_molecule(data_dir, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    tab = LearningCurvesTab(store=store, executor=FramesExecutor(store), data_sets=catalogue())
    assert tab.shown_runs == [DEFAULT_REFERENCE] and tab._unit() == "kcal/mol"
    form = tab.form
    _run(form.choose_data_set(NAME))
    form.apply_values(dict(series=["sorted:w1"], sizes=[20, 40], n_test=40, folds=2))
    form.run_name.value = "conformers run"
    form.launch.clicks += 1
    assert form.message_type == "success", form.message
    # the QM9 reference curves (kcal/mol) make way for the run: one axis, one target and unit
    assert tab.shown_runs == [1] and not tab.reference_toggle.value
    assert tab._unit() == "eV"
    assert hv.render(tab._plot()).yaxis[0].axis_label == "MAE (eV)"
    row = tab.runs_table.table.value.loc[1]
    assert row["data"] == NAME
    assert "conformers.extxyz" in tab.runs_table.details and "in eV" in tab.runs_table.details
    assert any(NAME in label for label in tab.run_chooser.options)
    view = tab._point_view()
    assert "of conformers.extxyz" in view[0].object and "(eV)" in view[0].object
    assert "frames of conformers.extxyz" in view[1].object
    assert not hasattr(tab, "_parity_tap")  # a frame is not a QM9 molecule: nothing to open
    parity = view[2][0].object
    scatter = next(el for el in parity if isinstance(el, hv.Scatter))
    assert "tap" not in scatter.opts.get().kwargs["tools"]
    table = pd.read_csv(io.StringIO(tab.curves_csv().read()))
    assert set(table["unit"]) == {"eV"} and set(table["data"]) == {NAME}
    # the reference overlaid by hand: the axis no longer claims one unit
    tab.reference_toggle.value = True
    assert tab.shown_runs == [1, DEFAULT_REFERENCE] and tab._unit() == "target units"


def test_units_of_stored_runs():
    assert run_unit({"target": "gap"}) == "Ha" and run_unit({}) == "kcal/mol"
    assert run_unit({"target": "energy", "data": {"path": "x", "sha256": "0", "unit": ""}}) == ""
    runs = pd.DataFrame({"id": [1], "config": [{"target": "energy", "data": {"name": "w.xyz", "unit": ""}}]})
    points = pd.DataFrame({"run_id": [1], "series": ["sorted:w1"], "order": ["sorted"], "metric": ["w1"],
                           "size": [10], "seed": [0], "mae": [1.0], "rmse": [1.0], "lam": [1e-8],
                           "finished": ["now"], "run": ["w"]})
    table = pd.read_csv(io.StringIO(points_csv(points, runs)))
    assert table["unit"].isna().all() and table["data"].tolist() == ["w.xyz"] and table["n_train"].tolist() == [10]
