"""The built-in common names of QM9 molecules, each checked against its QM9 entry."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from wqml_dash.core.data.names import COMMON_NAMES, find_by_name


def _canonical(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None, smiles
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def test_there_are_at_least_50_names_each_the_molecule_qm9_has_at_that_index(qm9):
    assert len(COMMON_NAMES) >= 50
    index = np.asarray(qm9.index)
    wrong = {}
    for name, (qm9_index, smiles) in COMMON_NAMES.items():
        row = int(np.searchsorted(index, qm9_index))
        assert index[row] == qm9_index, f"{name}: QM9 has no molecule #{qm9_index}"
        if _canonical(str(qm9.smiles[row])) != _canonical(smiles):
            wrong[name] = (qm9_index, str(qm9.smiles[row]), smiles)
    assert wrong == {}


def test_names_are_unique_per_molecule():
    indices = [i for i, _ in COMMON_NAMES.values()]
    assert len(set(indices)) == len(indices)


@pytest.mark.parametrize(("query", "first"), [("benzene", ("benzene", 214)), ("Benzene ", ("benzene", 214)),
                                              ("ACETONE", ("acetone", 18)), ("ethanol", ("ethanol", 14))])
def test_a_name_finds_its_molecule_first(query, first):
    assert find_by_name(query)[0] == first


def test_partial_names_find_every_name_that_contains_them():
    names = [n for n, _ in find_by_name("benz")]
    assert names[:3] == ["benzaldehyde", "benzene", "benzofuran"] and "ethylbenzene" in names
    assert find_by_name("be") == []  # too short to mean anything but an exact name
    assert find_by_name("") == [] and find_by_name("no such thing") == []
