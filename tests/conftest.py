"""Shared fixtures: the embedded QM9 (cached once per machine) and Coulomb matrices of a sample."""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.data import load_qm9
from wqml_dash.core.features.coulomb_matrix import dataset_coulomb_vectors


@pytest.fixture(scope="session")
def qm9():
    return load_qm9()


@pytest.fixture(scope="session")
def sample_rows(qm9):
    """300 random QM9 molecules (seeded)."""
    return np.random.default_rng(42).choice(len(qm9), 300, replace=False)


@pytest.fixture(scope="session")
def sorted_cms(qm9, sample_rows):
    """(300, 435) row-norm sorted Coulomb matrices of `sample_rows`."""
    return dataset_coulomb_vectors(qm9, sample_rows, order="sorted")
