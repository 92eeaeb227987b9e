"""Molecular data: the `MolecularDataset` container, the QM9 loaders and data sets from files.

``load_qm9()`` gives the embedded QM9 (from the ``qm9pack`` package, cached);
``load_qm9_release(path_or_url)`` reads the original QM9 release; ``load_dataset(path, target=...)``
reads your own molecules from any file ASE reads (extended XYZ, ASE databases, ...).
"""

from .ase_datasets import dataset_files, dataset_from_ase, default_target, load_dataset
from .ase_frames import MAX_DATASET_ATOMS
from .dataset import DEFAULT_TARGET, HARTREE_TO_KCAL, PROPERTIES, MolecularDataset, atomization_energy, unit_of
from .errors import DataError
from .qm9 import load_qm9, load_qm9_release

__all__ = ["DEFAULT_TARGET", "HARTREE_TO_KCAL", "PROPERTIES", "MolecularDataset", "atomization_energy",
           "DataError", "load_qm9", "load_qm9_release", "load_dataset", "dataset_from_ase", "dataset_files",
           "default_target", "MAX_DATASET_ATOMS", "unit_of"]
