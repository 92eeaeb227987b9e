"""`Series`: one (atom order, metric, representation) combination, named the same everywhere.

A learning curve has one line per series, a run stores points per series key, the form offers
series, the CLI parses them and the explorer's scan models are series too. The key is
``'ORDER:METRIC'`` (``'sorted:l1'``), as in the store, the CLI and the JSON; the label is for
people (``'L1 · sorted CM'``), and W1 is labelled without an order: it compares the distributions
of a matrix's entries, which no atom order changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..features.coulomb_matrix import ORDERS
from .metrics import METRICS

#: Representations a series can use: the Coulomb matrix and Bag of Bonds.
REPRESENTATIONS: dict[str, str] = {"cm": "Coulomb matrix", "bob": "Bag of Bonds"}
_SHORT = {"cm": "CM", "bob": "BoB"}


@dataclass(frozen=True)
class Series:
    """One series: how a molecule's matrix is ordered and which metric compares two of them.

    Attributes
    ----------
    order : 'sorted' (rows by norm), 'random' (seeded shuffle) or 'unsorted' (input order);
        irrelevant for W1 and for Bag of Bonds, whose bags are sorted
    metric : 'l1', 'l2' or 'w1'
    representation : 'cm' (Coulomb matrix) or 'bob' (Bag of Bonds)
    """

    order: str
    metric: str
    representation: str = "cm"

    def __post_init__(self):
        if self.order not in ORDERS or self.metric not in METRICS or self.representation not in REPRESENTATIONS:
            raise ValueError(f"series ({self.order!r}, {self.metric!r}, {self.representation!r}) needs ORDER in "
                             f"{list(ORDERS)}, METRIC in {list(METRICS)} and a representation in "
                             f"{list(REPRESENTATIONS)}")

    @classmethod
    def parse(cls, spec: str | Series, representation: str = "cm") -> Series:
        """``'sorted:l1'`` -> ``Series('sorted', 'l1')``; raises ValueError naming the choices."""
        if isinstance(spec, Series):
            return spec
        parts = str(spec).strip().lower().split(":")
        if len(parts) != 2 or parts[0] not in ORDERS or parts[1] not in METRICS:
            raise ValueError(f"series {spec!r} must be ORDER:METRIC with ORDER in {list(ORDERS)} "
                             f"and METRIC in {list(METRICS)}")
        return cls(parts[0], parts[1], representation)

    @property
    def key(self) -> str:
        """``'ORDER:METRIC'``: how the store, the CLI and the JSON name the series."""
        return f"{self.order}:{self.metric}"

    @property
    def label(self) -> str:
        """For people: ``'L1 · sorted CM'``, ``'L2 · BoB'``, ``'W1'`` (W1 has no atom order)."""
        if self.metric == "w1":
            return "W1" if self.representation == "cm" else f"W1 · {_SHORT[self.representation]}"
        if self.representation == "cm":
            return f"{self.metric.upper()} · {self.order} CM"
        return f"{self.metric.upper()} · {_SHORT[self.representation]}"

    @property
    def order_matters(self) -> bool:
        """False where the atom order cannot change a distance (W1, Bag of Bonds)."""
        return self.metric != "w1" and self.representation == "cm"

    def features_key(self) -> tuple[str, str, str]:
        """Series with equal keys compare the same vectors: L1 and L2 of one order share them, W1
        (entries sorted) and Bag of Bonds do not depend on the order."""
        kind = "sorted-entries" if self.metric == "w1" else "vector"
        return (self.representation, self.order if self.order_matters else "any", kind)

    def __str__(self) -> str:
        return self.key


def parse_series(spec: str) -> tuple[str, str]:
    """``'sorted:l1'`` -> ``('sorted', 'l1')``; raises ValueError naming the choices."""
    s = Series.parse(spec)
    return s.order, s.metric


def series_product(orders, metrics) -> list[str]:
    """Every order with every metric as keys, W1 once only (it does not depend on the atom order)."""
    out: list[str] = []
    for metric in metrics:
        for order in orders:
            if metric == "w1" and any(Series.parse(s).metric == "w1" for s in out):
                continue
            out.append(Series(order, metric).key)
    return out


def distinct_series(specs, representation: str = "cm") -> tuple[list[str], list[tuple[str, str]]]:
    """One series of each group that gives identical results, and what was merged into what.

    W1 compares sorted entries, so ``random:w1`` and ``sorted:w1`` are the same model; with Bag of
    Bonds no order matters. The sorted member of a group is kept (else the first), in the order
    the groups first appear.

    Returns
    -------
    kept : series keys to compute
    merged : ``(dropped key, kept key)`` pairs, for telling the user
    """
    parsed = [Series.parse(spec, representation) for spec in specs]
    groups: dict[tuple, list[Series]] = {}
    for s in parsed:
        members = groups.setdefault((s.features_key(), s.metric), [])
        if s.key not in [m.key for m in members]:
            members.append(s)
    kept, merged = [], []
    for members in groups.values():
        keep = next((m for m in members if m.order == "sorted"), members[0])
        kept.append(keep.key)
        merged += [(m.key, keep.key) for m in members if m is not keep]
    return kept, merged
