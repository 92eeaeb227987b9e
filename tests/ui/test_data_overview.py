"""The QM9 tab's search, filters and "open in explorer", and the navigation between tabs (issue 13)."""

from __future__ import annotations

from types import SimpleNamespace

import panel as pn
import param
import pytest

from wqml_dash.ui.data.data_overview import PAGE_SIZE, DataOverview
from wqml_dash.ui.data.data_source import DataSource
from wqml_dash.ui.navigation import Navigation, connect


@pytest.fixture(scope="module")
def table(qm9):
    return qm9.to_frame()


@pytest.fixture
def overview(qm9, table):
    source = DataSource()
    source.param.update(dataset=qm9, table=table)
    view = DataOverview(source=source)
    view._body()  # drawn, as when the tab is opened
    return view


def test_the_table_shows_every_molecule_50_a_page(overview, table):
    assert overview.matches is table  # no filter: the shared table itself, not a copy per session
    grid = overview._table()
    assert grid.page_size == PAGE_SIZE >= 50 and "open" in grid.buttons


@pytest.mark.parametrize(("query", "first"), [("benzene", 214), ("c1ccccc1", 214), ("214", 214), ("acetone", 18)])
def test_a_search_finds_the_molecule(overview, query, first):
    overview.query = query
    assert int(overview.matches["qm9_index"].iloc[0]) == first


def test_a_formula_search_finds_every_isomer_and_filters_combine(overview, qm9):
    overview.query = "C6H6"
    isomers = len(overview.matches)
    assert isomers > 1 and set(overview.matches["formula"]) == {"C6H6"}
    overview.query = ""
    overview.atoms = (3, 4)
    assert set(overview.matches["atoms"]) == {3, 4}
    overview.prop = "gap"
    overview.prop_range = (0.35, 0.40)
    gaps = qm9.target("gap")[overview.matches.index.to_numpy()]
    assert len(gaps) and ((gaps >= 0.35) & (gaps <= 0.40)).all()
    overview.query = "C#N"  # a SMILES: the molecule itself (hydrogen cyanide, 3 atoms)
    assert overview.matches["qm9_index"].tolist() == [5]


def test_a_part_of_a_smiles_finds_the_molecules_that_contain_it(overview):
    overview.query = "C(=O)N1"  # not a molecule (ring 1 is not closed), but part of many SMILES
    assert len(overview.matches) > 1 and all("C(=O)N1" in s for s in overview.matches["smiles"])
    assert "part of a SMILES" in overview._count().object


def test_a_row_opens_its_molecule_in_the_explorer(overview):
    asked = []
    overview.navigation.param.watch(lambda e: asked.append(e.new), "qm9_index")
    overview.query = "pyridine"
    overview._on_cell_click(SimpleNamespace(column="open", row=0))
    overview._on_cell_click(SimpleNamespace(column="smiles", row=0))  # other cells do not navigate
    assert asked == [215]


def test_connect_loads_the_molecule_and_switches_to_the_explorer():
    class State(param.Parameterized):
        chosen = param.List(default=[])

        def choose(self, source, key):
            self.chosen = [*self.chosen, (source, key)]
            return True

    navigation, state = Navigation(), State()
    tabs = pn.Tabs(("Explorer", "explorer"), ("Curves", "curves"), ("Data", "data"), active=2)
    connect(navigation, state, tabs, explorer_tab=0)
    navigation.open_qm9(214)
    assert state.chosen == [("qm9", "214")] and tabs.active == 0
    tabs.active = 2
    navigation.open_qm9(214)  # the same molecule again: loaded again, tab switched again
    assert state.chosen == [("qm9", "214")] * 2 and tabs.active == 0
