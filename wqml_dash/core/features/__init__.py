"""Representations: what a molecule becomes before a metric compares it.

- `coulomb_matrix`: the Coulomb matrix (DESIGN.md's one definition), its atom orders (sorted by
  row norm, random, unsorted) and its upper triangle as a vector;
- `bag_of_bonds`: Bag of Bonds vectors over a data set's bags;
- `transformers`: both as scikit-learn transformers of molecules (`CoulombMatrix`, `BagOfBonds`).
"""

from ..._lazy import lazy_exports

_EXPORTS = {name: ".coulomb_matrix" for name in ("ORDERS", "coulomb_matrix", "coulomb_vector", "coulomb_vectors",
                                                 "dataset_coulomb_vectors", "order_permutation", "vectorize",
                                                 "unvectorize", "vector_length")}
_EXPORTS.update({name: ".bag_of_bonds" for name in ("bob_vectors", "dataset_bob_vectors", "dataset_layout")})
_EXPORTS.update({name: ".transformers" for name in ("CoulombMatrix", "BagOfBonds", "Geometry", "dataset_molecules")})
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
