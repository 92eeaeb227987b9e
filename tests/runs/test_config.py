"""RunConfig: validation, serialisation, tasks, presets."""

from __future__ import annotations

import pytest

from wqml_dash.core.learn.settings import PAPER_SERIES, LearningCurveSettings
from wqml_dash.runs.config import PRESETS, RunConfig


def test_round_trip_and_defaults():
    cfg = RunConfig(series=["sorted:l1", "sorted:w1"], sizes=[80, 40], seeds=[3, 1], n_test=100, folds=3,
                    representation="bob", name="my run")
    d = cfg.to_dict()
    assert d["name"] == "my run" and d["seeds"] == [3, 1] and d["representation"] == "bob"
    assert "seed" not in d
    back = RunConfig.from_dict(d)
    assert back.to_dict() == d and back.label() == "my run"
    assert RunConfig().to_dict()["name"] == ""  # param's automatic name is not a label
    assert RunConfig().label() == "5 series, n 100-1600, seed 0"


def test_tasks_in_run_order():
    cfg = RunConfig(series=["sorted:l1", "sorted:w1"], sizes=[80, 40, 80], seeds=[3, 1], n_test=100, folds=3)
    assert cfg.tasks() == [("sorted:l1", 40, 3), ("sorted:w1", 40, 3), ("sorted:l1", 80, 3), ("sorted:w1", 80, 3),
                           ("sorted:l1", 40, 1), ("sorted:w1", 40, 1), ("sorted:l1", 80, 1), ("sorted:w1", 80, 1)]


def test_settings_for_a_seed_is_what_run_learning_curve_runs():
    cfg = RunConfig(series=["random:l2"], sizes=[40], seeds=[7, 8], n_test=100, folds=3, lambdas=[1e-6])
    s = cfg.settings_for(8)
    assert isinstance(s, LearningCurveSettings) and not isinstance(s, RunConfig)
    assert (s.seed, s.series, s.sizes, s.n_test, s.folds, s.lambdas) == (8, ["random:l2"], [40], 100, 3, [1e-6])


@pytest.mark.parametrize("bad,message", [
    ({"seeds": [1, 1]}, "seeds must differ"),
    ({"seeds": [-1]}, "non-negative"),
    ({"seeds": []}, "length"),
    ({"series": ["sorted:l1", "sorted:l1"]}, "series must differ"),
    ({"series": ["sorted:l3"]}, "ORDER:METRIC"),
    ({"sizes": [2], "folds": 5}, "at least folds"),
    ({"representation": "soap"}, "representation"),
    ({"colour": "red"}, "unknown run settings"),
    ({"sizes": "100"}, "list"),
])
def test_invalid_settings_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        RunConfig.from_dict(bad)


def test_old_single_seed_dict_is_accepted():
    assert RunConfig.from_dict({"seed": 4, "series": ["sorted:w1"]}).seeds == [4]


def test_presets():
    fig3 = RunConfig.preset("Paper Fig. 3")
    assert fig3.series == list(PAPER_SERIES) and max(fig3.sizes) >= 4000 and fig3.n_test == 2000
    assert RunConfig.preset("Quick demo", seeds=[0, 1]).seeds == [0, 1]
    assert RunConfig.preset("Bag of Bonds").representation == "bob"
    for name in PRESETS:
        RunConfig.preset(name).check_fits(130_831)
    with pytest.raises(ValueError, match="unknown preset"):
        RunConfig.preset("Fig. 4")


def test_a_qm9_run_refuses_a_target_qm9_lacks_and_a_data_set_run_names_its_file():
    with pytest.raises(ValueError, match="target 'energy' is not a QM9 property"):
        RunConfig(target="energy")
    ref = {"path": "/data/c.extxyz", "name": "c.extxyz", "sha256": "ab" * 32, "molecules": 200, "unit": "eV"}
    cfg = RunConfig(target="energy", data=ref, sizes=[50], n_test=100)
    assert (cfg.n_molecules, cfg.unit, cfg.data_name) == (200, "eV", "c.extxyz")
    assert "c.extxyz" in cfg.label()
    assert RunConfig.from_dict(cfg.to_dict()).data == ref
    with pytest.raises(ValueError, match="exceeds the 200 molecules"):
        RunConfig(target="energy", data=ref, sizes=[150], n_test=100).check_fits(cfg.n_molecules)
    with pytest.raises(ValueError, match="content hash"):
        RunConfig(target="energy", data={"path": "/data/c.extxyz"})
