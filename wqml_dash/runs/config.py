"""A run's settings: the learning-curve settings of core plus several seeds and a label.

`RunConfig` is the one place a run is described: the app's form is built from its parameters,
the CLI maps its arguments onto it, and the store keeps `RunConfig.to_dict` as JSON.
"""

from __future__ import annotations

import re

import param

from ..core.data.dataset import PROPERTIES, unit_of
from ..core.learn.settings import PAPER_SERIES, LearningCurveSettings

#: The keys of `RunConfig.data`: where the data set is, what it is, and the unit of its target.
DATA_KEYS = ("path", "name", "sha256", "molecules", "unit", "csv", "energy_key", "references")


def data_reference(dataset, path, target: str, csv=None) -> dict:
    """`RunConfig.data` for a data set read by `core.data.load_dataset` from ``path``.

    Parameters
    ----------
    dataset : the loaded `MolecularDataset` (its name, content hash, size and the target's unit)
    path : the file it came from (stored absolute: Dask workers read it again)
    target : the property the run learns
    csv : the CSV side table, if one was named explicitly

    A data set whose target is an atomization energy made from free-atom references also records
    ``energy_key`` (the energy they are subtracted from) and ``references`` (symbol -> energy).
    """
    from pathlib import Path

    ref = {"path": str(Path(path).resolve()), "name": dataset.name, "sha256": dataset.content_hash,
           "molecules": len(dataset), "unit": dataset.unit(target)}
    if csv is not None:
        ref["csv"] = str(Path(csv).resolve())
    return ref

#: Ready-made configurations (partial dicts for `RunConfig.from_dict`; the rest are defaults).
PRESETS: dict[str, dict] = {
    "Paper Fig. 3": {"series": list(PAPER_SERIES), "sizes": [125, 250, 500, 1000, 2000, 4000],
                     "n_test": 2000, "folds": 5, "seeds": [0], "representation": "cm"},
    "Quick demo": {"series": list(PAPER_SERIES), "sizes": [50, 100, 200, 400], "n_test": 500,
                   "folds": 3, "seeds": [0], "representation": "cm"},
    "Bag of Bonds": {"series": ["sorted:l1", "sorted:l2", "sorted:w1"], "sizes": [125, 250, 500, 1000, 2000],
                     "n_test": 2000, "folds": 5, "seeds": [0], "representation": "bob"},
}

_AUTO_NAME = re.compile(r"^RunConfig\d{5}$")  # param's automatic instance names


class RunConfig(LearningCurveSettings):
    """Everything a run needs: `LearningCurveSettings` for each of ``seeds``, and a label.

    ``name`` is a free-text label (param's own ``name`` parameter); left unset, `label` makes
    one from the settings. Every seed draws its own test set and training pool and gives
    its own point per (series, size): several seeds give a mean and a spread.
    """

    seeds = param.List(default=[0], item_type=int, bounds=(1, None),
                       doc="Seeds; each draws its own split (several give mean and spread)")
    seed = param.Integer(default=0, bounds=(0, None), precedence=-1,
                         doc="Unused by a run: see `seeds` (kept from LearningCurveSettings)")
    data = param.Dict(default=None, allow_None=True, precedence=-1,
                      doc="The data set: None for the embedded QM9, else `data_reference` of a file "
                          "(path, name, content hash, molecules, the target's unit)")

    @param.depends("seeds", "series", "data", "target", watch=True, on_init=True)
    def _validate_run(self):
        if self.data is None and self.target not in PROPERTIES:
            raise ValueError(f"target {self.target!r} is not a QM9 property; choose one of {sorted(PROPERTIES)}")
        if self.data is not None:
            unknown = set(self.data) - set(DATA_KEYS)
            if unknown or not self.data.get("path") or not self.data.get("sha256"):
                raise ValueError(f"data must name a path and a content hash (sha256), with keys from "
                                 f"{list(DATA_KEYS)}; got {sorted(self.data)}")
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be non-negative, got {self.seeds}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ, got {self.seeds}")
        if len(set(self.series)) != len(self.series):
            raise ValueError(f"series must differ, got {self.series}")

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The settings as plain JSON-able values (``name`` is '' when no label was given)."""
        d = {k: getattr(self, k) for k in self.param if k not in ("name", "seed")}
        d = {k: list(v) if isinstance(v, list | tuple) else v for k, v in d.items()}
        d["name"] = "" if _AUTO_NAME.match(self.name or "") else self.name
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        """Inverse of `to_dict`; keys left out take their defaults.

        Raises
        ------
        ValueError
            on an unknown key or a value the parameters reject.
        """
        d = dict(d)
        known = set(cls.param) - {"seed"}
        if "seed" in d and "seeds" not in d:  # a LearningCurveSettings dict
            d["seeds"] = [d.pop("seed")]
        d.pop("seed", None)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown run settings {sorted(unknown)}; known: {sorted(known)}")
        if not d.get("name"):
            d.pop("name", None)
        try:
            return cls(**d)
        except (TypeError, ValueError) as exc:  # param raises ValueError; wrong types may raise TypeError
            raise ValueError(str(exc)) from None

    @classmethod
    def preset(cls, preset: str, /, **overrides) -> RunConfig:
        """A `PRESETS` entry as a config, with ``overrides`` applied (``name=`` included)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        return cls.from_dict({**PRESETS[preset], **overrides})

    # --- derived -------------------------------------------------------------------------
    @property
    def data_name(self) -> str:
        """'QM9', or the data set file's name."""
        return "QM9" if self.data is None else str(self.data.get("name") or self.data["path"])

    @property
    def n_molecules(self) -> int:
        """Molecules in the run's data set."""
        if self.data is None:
            from ..core.data.qm9 import QM9_SIZE

            return QM9_SIZE
        return int(self.data.get("molecules") or 0)

    @property
    def unit(self) -> str:
        """The unit of the run's target ('' where the data set does not say)."""
        return unit_of(self.target) if self.data is None else str(self.data.get("unit") or "")

    def label(self) -> str:
        """``name`` if one was given, else a short description such as '5 series, n 125-4000, seed 0'."""
        given = self.to_dict()["name"]
        if given:
            return given
        sizes = sorted(set(self.sizes))
        span = f"n {sizes[0]}" if len(sizes) == 1 else f"n {sizes[0]}-{sizes[-1]}"
        seeds = f"seed {self.seeds[0]}" if len(self.seeds) == 1 else f"{len(self.seeds)} seeds"
        series = self.series[0] if len(self.series) == 1 else f"{len(self.series)} series"
        rep = ", BoB" if self.representation == "bob" else ""
        data = "" if self.data is None else f", {self.data_name}"
        return f"{series}{rep}{data}, {span}, {seeds}"

    def tasks(self) -> list[tuple[str, int, int]]:
        """Every point of the run as ``(series, size, seed)``, in run order: seed, then size
        (ascending, so a curve fills in from the left), then series."""
        return [(s, n, seed) for seed in self.seeds for n in sorted(set(self.sizes)) for s in self.series]

    def settings_for(self, seed: int) -> LearningCurveSettings:
        """The core settings of one seed (what `run_learning_curve` would run)."""
        d = {k: getattr(self, k) for k in LearningCurveSettings.param if k != "name"}
        d["seed"] = int(seed)
        return LearningCurveSettings(**d)
