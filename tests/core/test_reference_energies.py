"""Reference energies: the LJ model's minimum, UFF parameters, RDKit force fields."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit.Chem import AllChem

from wqml_dash.core.scan.engine import ScanEngine, settings_for_example
from wqml_dash.core.scan.grid import displaced_coords
from wqml_dash.core.scan.examples import TEACHING_EXAMPLES, molecule_from_example
from wqml_dash.core.scan.molecule import MoleculeError, molecule_from_smiles
from wqml_dash.core.scan.reference_energies import (
    LJ_BOND_DEPTH,
    LJ_NONBOND_DEPTH,
    REFERENCE_HELP,
    REFERENCES,
    ReferenceError,
    lj_model_energies,
    reference_energies,
    uff_vdw_pairs,
    uff_vdw_parameters,
)


@pytest.fixture(scope="module")
def acrolein():
    return molecule_from_example("acrolein")


def test_every_reference_is_explained():
    assert set(REFERENCE_HELP) == set(REFERENCES)
    assert all(len(text) > 60 for text in REFERENCE_HELP.values())


@pytest.mark.parametrize("key", [next(iter(TEACHING_EXAMPLES)), "acrolein"])
def test_lj_minimum_at_zero_displacement_for_the_default_example(key):
    mol = molecule_from_example(key)
    engine = ScanEngine(mol, settings_for_example(key))
    d, e = engine.d, engine.reference
    assert d[np.argmin(e)] == 0.0
    n_pairs = len(mol) * (len(mol) - 1) // 2
    n_bonds = len(mol.bonds)
    assert e.min() == pytest.approx(-(n_bonds * LJ_BOND_DEPTH + (n_pairs - n_bonds) * LJ_NONBOND_DEPTH))
    assert (np.diff(e[d <= 0]) <= 1e-9).all() and (np.diff(e[d >= 0]) >= -1e-9).all()  # one smooth well


def test_lj_minimum_in_every_direction():
    mol = molecule_from_smiles("CCO")
    rng = np.random.default_rng(1)
    e0 = lj_model_energies(mol.charges, mol.coords, mol.bonds, mol.coords[None])[0]
    for _ in range(20):
        atom, u = rng.integers(len(mol)), rng.normal(size=3)
        moved = displaced_coords(mol, atom, u / np.linalg.norm(u), np.array([-0.05, 0.05]))
        assert (lj_model_energies(mol.charges, mol.coords, mol.bonds, moved) > e0).all()


def test_lj_without_bonds_uses_covalent_radii(acrolein):
    geoms = displaced_coords(acrolein, 2, np.array([0.0, 0, 1]), np.linspace(-0.5, 0.5, 11))
    np.testing.assert_allclose(lj_model_energies(acrolein.charges, acrolein.coords, np.zeros((0, 2)), geoms),
                               lj_model_energies(acrolein.charges, acrolein.coords, acrolein.bonds, geoms))


def test_uff_vdw_parameters_match_rdkit(acrolein):
    rd = acrolein.to_rdkit()
    i, j = uff_vdw_pairs(len(acrolein), acrolein.bonds)
    assert len(i) > 0
    x, dep = uff_vdw_parameters(acrolein.charges, i, j)
    for a, b, xa, da in zip(i, j, x, dep, strict=True):
        x_rd, d_rd = AllChem.GetUFFVdWParams(rd, int(a), int(b))
        assert xa == pytest.approx(x_rd, rel=1e-3) and da == pytest.approx(d_rd, rel=1e-3)


def test_uff_vdw_excludes_bonded_and_1_3_pairs():
    # ethanol C0-C1-O2: C0-O2 is 1-3 (excluded), the methyl H to hydroxyl H is 1-5 (kept)
    mol = molecule_from_smiles("CCO")
    pairs = set(zip(*uff_vdw_pairs(len(mol), mol.bonds), strict=True))
    assert (0, 1) not in pairs and (0, 2) not in pairs and (3, 8) in pairs


@pytest.mark.parametrize("field", ["uff", "mmff94"])
def test_force_fields_agree_with_rdkit(acrolein, field):
    settings = settings_for_example("acrolein", reference=field, step=0.25)
    engine = ScanEngine(acrolein, settings)
    rd = acrolein.to_rdkit()
    for k in range(0, engine.d.size, 2):
        conf = rd.GetConformer()
        for a, xyz in enumerate(engine.geometries[k]):
            conf.SetAtomPosition(a, xyz.tolist())
        if field == "uff":
            ff = AllChem.UFFGetMoleculeForceField(rd)
        else:
            ff = AllChem.MMFFGetMoleculeForceField(rd, AllChem.MMFFGetMoleculeProperties(rd))
        assert engine.reference[k] == pytest.approx(ff.CalcEnergy(), rel=1e-9)
    # the force field's minimum is near the MMFF-optimised input geometry
    assert abs(engine.d[np.argmin(engine.reference)]) <= 0.25


def test_missing_parameters_are_clear_errors():
    mol = molecule_from_smiles("[Xe]")
    with pytest.raises(ReferenceError, match="MMFF94 has no parameters"):
        reference_energies("mmff94", mol, mol.coords[None])
    with pytest.raises(ReferenceError, match="no UFF van der Waals parameters"):
        reference_energies("lj_uff", molecule_from_smiles("[SeH]CCC"), molecule_from_smiles("[SeH]CCC").coords[None])
    with pytest.raises(MoleculeError, match="bonded or 1-3"):
        reference_energies("lj_uff", molecule_from_smiles("C"), molecule_from_smiles("C").coords[None])
    with pytest.raises(ValueError, match="unknown reference"):
        reference_energies("dft", mol, mol.coords[None])


def test_a_steep_reference_is_explained_by_its_closest_pair():
    # C40H82: the end carbon's "normal" axis runs partly along its bond; at d = -1 A the C-C bond is
    # 0.58 A long (1.52 A in the input) and the 100 kcal/mol bond well's (r0/r)^12 wall gives 1.2e7 kcal/mol.
    from wqml_dash.core.scan.engine import ScanEngine
    from wqml_dash.core.scan.settings import ScanSettings
    from wqml_dash.core.scan.molecule import molecule_from_smiles
    from wqml_dash.core.scan.reference_energies import steepest_pair

    mol = molecule_from_smiles("C" * 40)
    engine = ScanEngine(mol, ScanSettings(models=["w1"], min_distance=0.5, max_energy=None))  # no chemical cut-off
    top = int(np.nanargmax(engine.reference))
    assert 1e7 < engine.reference[top] < 2e7 and engine.d[top] == -1.0
    i, j, r, r0, term = steepest_pair("lj", mol, engine.geometries[top])
    assert (i, j) == (0, 1) and r == pytest.approx(0.575, abs=0.01) and r0 == pytest.approx(1.52, abs=0.01)
    assert term == pytest.approx(engine.reference[top], rel=0.01)  # one pair makes the whole scale
    assert "The reference reaches 11,6" in engine.notice and "C0 and C1 are 0.58 Å apart" in engine.notice
    assert "(1.52 Å in the input)" in engine.notice and "(r0/r)^12" in engine.notice
    calm = ScanEngine(mol, ScanSettings(models=["w1"], d_min=-0.3, d_max=0.3))
    assert "reference reaches" not in (calm.notice or "")
