"""The displacement explorer's state without a browser: what is recomputed when, user errors, clicks."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from wqml_dash.core.scan.examples import TEACHING_EXAMPLES
from wqml_dash.ui.explorer.scan_state import DEFAULT_EXAMPLE, ExplorerState, display_transform, toggle_training_point

GRID = np.round(np.arange(-1, 1.0001, 0.01), 9)


def test_click_adds_the_nearest_valid_grid_point():
    valid = np.ones(GRID.size, bool)
    valid[150:] = False  # atoms collide beyond d = 0.49
    new, msg = toggle_training_point([10, 20], GRID, valid, 0.123, tolerance=0.02)
    assert msg is None and new == [10, 20, 112]
    new, msg = toggle_training_point([10, 20], GRID, valid, 0.8, tolerance=0.02)
    assert new == [10, 20, 149]  # the nearest *valid* point


def test_click_near_a_training_point_removes_it_but_keeps_two():
    valid = np.ones(GRID.size, bool)
    new, msg = toggle_training_point([10, 20, 30], GRID, valid, GRID[20] + 0.015, tolerance=0.02)
    assert (new, msg) == ([10, 30], None)
    new, msg = toggle_training_point([10, 30], GRID, valid, GRID[30], tolerance=0.02)
    assert new == [10, 30] and "at least two" in msg


def test_normalised_display_maps_reference_to_unit_range_and_back():
    d = GRID
    ref = 5 * d ** 2 - 700
    to_x, to_e, from_x = display_transform(d, ref, True)
    assert to_x(d).min() == -1 and to_x(d).max() == 1
    assert np.isclose(to_e(ref).min(), 0) and np.isclose(to_e(ref).max(), 1)
    assert np.isclose(from_x(to_x(0.37)), 0.37)
    same = display_transform(d, ref, False)
    assert same[0](0.37) == 0.37 and same[1](-700.0) == -700.0


@pytest.fixture
def state():
    s = ExplorerState()
    s.start()
    assert s.error == "" and s.result is not None
    return s


def test_start_shows_the_default_example_with_its_atom_and_axis(state):
    example = TEACHING_EXAMPLES[DEFAULT_EXAMPLE]
    assert state.molecule.source == f"example:{DEFAULT_EXAMPLE}"
    assert (state.settings.atom, state.settings.axis) == (example.atom, example.axis)
    assert len(state.result.train_index) == state.settings.n_train
    assert set(state.result.models) == {"l1_sorted", "w1"}


def test_a_link_naming_the_atom_keeps_it():
    s = ExplorerState()
    s.settings.atom = 0
    s.start(url_keys={"atom", "mol"})
    assert s.settings.atom == 0 and s.result.atom == 0


def test_frame_at_d_follows_the_sorted_order_across_a_swap(state):
    result = state.result
    assert len(result.swap_intervals), "the default example must have a swap point"
    i, j = result.swap_intervals[0]
    before, after = state.frame(result.d[i]), state.frame(result.d[j])
    assert not np.array_equal(before.order, after.order)  # rows swap: the heatmap's labels change
    zero = state.frame(0.0)
    assert zero.d == 0.0 and zero.w1 == 0.0 and zero.l1_sorted == 0.0
    np.testing.assert_allclose(zero.coords, state.molecule.coords)
    moved = state.frame(0.5)
    shift = moved.coords - state.molecule.coords
    assert np.count_nonzero(np.abs(shift).sum(1) > 1e-12) == 1  # only the chosen atom moved
    assert np.isclose(np.linalg.norm(shift[state.settings.atom]), 0.5)
    assert moved.w1 > 0 and np.all(np.diff(moved.entries) >= 0)
    assert state.frame(0.123456).d == 0.12  # snapped to the grid


def test_new_training_set_retrains_without_a_new_engine(state):
    engine, before = state.engine, state.result.train_index.copy()
    state.new_training_set()
    assert state.settings.seed == 1 and state.engine is engine
    assert not np.array_equal(before, state.result.train_index)


def test_geometry_settings_build_a_new_engine_and_clear_clicked_points(state):
    state.toggle_training_point(0.0 if 100 not in state.result.train_index else 0.5)
    assert state.train and len(state.result.train_index) == state.settings.n_train + 1
    engine, atom = state.engine, (state.settings.atom + 1) % len(state.molecule)
    state.settings.atom = atom
    assert state.engine is not engine and state.train == [] and state.result.atom == atom


def test_clicked_training_points_are_used(state):
    state.toggle_training_point(0.0)
    assert 100 in state.train
    np.testing.assert_array_equal(state.result.train_index, state.train)
    state.settings.n_train = 6  # a new random draw replaces the clicked set
    assert state.train == [] and len(state.result.train_index) == 6


def test_bad_smiles_keeps_the_current_molecule(state):
    mol, result = state.molecule, state.result
    assert state.choose("smiles", "C1CC((") is False
    assert "SMILES" in state.error
    assert state.molecule is mol and state.result is result


def test_a_new_molecule_resets_atom_and_training_points(state):
    state.toggle_training_point(0.3)
    assert state.choose("smiles", "C=CC=C")
    assert state.error == "" and (state.source, state.key) == ("smiles", "C=CC=C")
    assert state.settings.atom == 0 and state.train == []
    assert state.result.d.size == state.engine.d.size and len(state.molecule) == 10


def test_a_molecule_is_built_off_the_event_loop_and_only_the_newest_choice_applies(state, monkeypatch):
    """A slow build (a large SMILES) leaves the server's loop free for other sessions; a choice made
    while it runs supersedes it."""
    build = state._make_molecule
    started = threading.Event()

    def slow(source, key, upload=None):
        if key == "CCCCCC":
            started.set()
            time.sleep(1.0)
        return build(source, key, upload)

    monkeypatch.setattr(state, "_make_molecule", slow)

    async def scenario():
        ticks = 0

        async def other_sessions():
            nonlocal ticks
            while not started.is_set() or ticks < 5:
                await asyncio.sleep(0.02)
                ticks += 1

        slow_choice = asyncio.create_task(state.choose_in_background("smiles", "CCCCCC"))
        await other_sessions()  # runs while the slow build is under way
        assert state.busy.startswith("Building the molecule")
        assert await state.choose_in_background("smiles", "C=C")
        return ticks, await slow_choice

    with ThreadPoolExecutor(1) as pool:  # a loop of its own: Playwright's sync API may run one in this thread
        ticks, applied = pool.submit(asyncio.run, scenario()).result()
    assert ticks >= 5 and applied is False  # the loop kept ticking; the older, slower choice was dropped
    assert (state.source, state.key) == ("smiles", "C=C") and state.molecule.formula == "C2H4"
    assert state.busy == "" and state.error == ""


def test_settings_that_make_no_scan_give_a_message_then_recover(state):
    state.settings.d_min = 2.0  # above d_max
    assert "range" in state.error and state.result is None
    state.settings.d_min = -0.5
    assert state.error == "" and state.result.d[0] == -0.5


def test_a_bond_axis_gets_a_bonded_partner(state):
    state.settings.axis = "bond"
    atom, partner = state.settings.atom, state.settings.partner
    assert state.error == "" and partner is not None
    assert sorted((atom, partner)) in state.molecule.bonds.tolist()
    direction = state.molecule.coords[partner] - state.molecule.coords[atom]
    np.testing.assert_allclose(state.result.axis, direction / np.linalg.norm(direction))


def test_unknown_link_falls_back_to_the_default_example():
    s = ExplorerState(source="qm9", key="12")  # no QM9 loaded in this state
    s.start(url_keys={"mol", "source"})
    assert s.source == "example" and s.key == DEFAULT_EXAMPLE and s.result is not None
    assert "QM9" in s.error


def test_models_toggle_refits_only(state):
    engine = state.engine
    state.settings.models = ["l1_sorted", "w1", "l2_sorted", "l1_sorted_large"]
    assert state.engine is engine
    assert set(state.result.models) == {"l1_sorted", "w1", "l2_sorted", "l1_sorted_large"}
    assert len(state.result.train_index_large) == state.settings.n_train_large


def test_a_qm9_link_waits_for_qm9(qm9):
    from wqml_dash.ui.data.data_source import DataSource

    source = DataSource()
    s = ExplorerState(source="qm9", key="52", data_source=source)
    s.start(url_keys={"source", "mol"})
    assert s.result is None and "Waiting for QM9" in s.notice
    source.dataset = qm9  # what DataSource.load does when done
    assert s.molecule.source == "qm9:52" and s.result is not None and "Waiting" not in s.notice and s.error == ""


def test_shared_scans_answer_threads_at_once_with_one_result_per_training_set():
    # A link that waited for QM9 starts its scan in the loading thread while the server's loop serves
    # other sessions: both may ask the shared scans at once.
    import threading
    import time
    from types import SimpleNamespace

    from wqml_dash.core.scan.shared import SharedScans

    def ask_all(shared, entry, trains):
        got, errors = [], []

        def ask(train):
            def compute():
                time.sleep(0.01)  # long enough for the other threads to arrive meanwhile
                return SimpleNamespace(train=train, arrays=object())
            try:
                got.append(shared.result(entry, train, compute))
            except Exception as exc:  # noqa: BLE001 (recorded: the assertion names it)
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(train,)) for train in trains]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        return got

    entry = {"key": ("example:formic_acid",), "results": {}}
    got = ask_all(SharedScans(), entry, [(k % 4,) for k in range(32)])
    for train in {out.train for out in got}:  # one shared result per training set, whoever computed it
        mine = [out for out in got if out.train == train]
        assert len({id(out.arrays) for out in mine}) == 1 and mine[0].shared_key == (entry["key"], train)
    entry = {"key": ("example:formic_acid",), "results": {}}
    ask_all(SharedScans(results_per_scan=3), entry, [(k % 7,) for k in range(42)])
    assert len(entry["results"]) <= 3
