"""`LearningCurveSettings`: every setting of a learning curve, with defaults, bounds and choices.

The app builds its form from these parameters and the CLI maps its arguments onto them, so
validation lives here only. A run (`wqml_dash.runs.config.RunConfig`) adds several seeds and a name.
"""

from __future__ import annotations

import param

from ..data.dataset import DEFAULT_TARGET
from .backends import DEVICES
from .cv import DEFAULT_LAMBDAS, DEFAULT_SIGMA_FACTORS
from .series import REPRESENTATIONS, Series

#: The paper's Fig. 3: L1 and L2 on random and sorted CMs, and W1.
PAPER_SERIES: tuple[str, ...] = ("random:l1", "sorted:l1", "random:l2", "sorted:l2", "sorted:w1")


class LearningCurveSettings(param.Parameterized):
    """Every setting of a learning curve, with defaults, bounds and allowed values."""

    series = param.List(default=list(PAPER_SERIES), item_type=str, bounds=(1, None),
                        doc="(order, metric) pairs as 'ORDER:METRIC', e.g. 'sorted:l1'")
    sizes = param.List(default=[100, 200, 400, 800, 1600], item_type=int, bounds=(1, None),
                       doc="Training-set sizes")
    n_test = param.Integer(default=2000, bounds=(1, None), doc="Held-out test molecules")
    folds = param.Integer(default=5, bounds=(2, 20), doc="Cross-validation folds")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of every random choice")
    target = param.String(default=DEFAULT_TARGET,
                          doc="Property to learn: a QM9 property (see PROPERTIES) or a number every "
                              "molecule of your data set has (checked against the data set when it runs)")
    sigma_factors = param.List(default=list(DEFAULT_SIGMA_FACTORS), item_type=float,
                               bounds=(1, None),
                               doc="Sigma grid as multiples of the median training distance")
    lambdas = param.List(default=list(DEFAULT_LAMBDAS), item_type=float, bounds=(1, None),
                         doc="Regularisation grid")
    device = param.Selector(default="auto", objects=list(DEVICES),
                            doc="Where distances, cross-validation and fits run: 'cpu' (numba + LAPACK), "
                                "'cuda' (PyTorch on a GPU), 'auto' (the GPU where one is present)")
    search = param.Selector(default="local", objects=["local", "grid"],
                            doc="Hyperparameter search per size, on that size's training set alone (a point "
                                "does not depend on the other sizes): 'local' probes every other sigma of the "
                                "grid with its smallest, middle and largest lambda, then walks from the best "
                                "probes to local minima of the CV error (on QM9 the grid's optimum at 24 of 25 "
                                "points up to 2,000, with 50-80 % of its evaluations; above 2,000 molecules it "
                                "starts from its first half's optima instead of probing); 'grid' evaluates "
                                "the whole grid. Both may go 4 factors of two past the sigma grid and one step "
                                "past the lambda grid (not below 1e-10), and flag an optimum still on the edge")
    representation = param.Selector(default="cm", objects=list(REPRESENTATIONS),
                                    doc="'cm': Coulomb matrix (the series' order applies); 'bob': Bag of "
                                        "Bonds (bags sorted, so the order of a series is irrelevant)")

    @param.depends("series", "sizes", "sigma_factors", "lambdas", watch=True, on_init=True)
    def _validate(self):
        for spec in self.series:
            Series.parse(spec)
        if any(n < self.folds for n in self.sizes):
            raise ValueError(f"every training size must be at least folds={self.folds}")
        if any(s <= 0 for s in self.sigma_factors) or any(lam < 0 for lam in self.lambdas):
            raise ValueError("sigma factors must be positive and lambdas non-negative")

    def check_fits(self, n_molecules: int) -> None:
        """Raise ValueError if the test set and largest training set exceed the data set."""
        need = max(self.sizes) + self.n_test
        if need > n_molecules:
            raise ValueError(f"largest training size {max(self.sizes)} plus {self.n_test} test "
                             f"molecules exceeds the {n_molecules} molecules available")

    def all_series(self) -> list[Series]:
        """The settings' series as `Series`, with the settings' representation."""
        return [Series.parse(s, self.representation) for s in self.series]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.param if k != "name"}
