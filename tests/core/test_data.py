"""The embedded QM9 loader, its cache, and the loader of the original release."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from wqml_dash.core.data import qm9 as qm9mod
from wqml_dash.core.data.dataset import ATOM_REFERENCE_U0, HARTREE_TO_KCAL


def test_count_mean_std(qm9):
    assert len(qm9) == qm9mod.QM9_SIZE == 130_831
    e = qm9.energy
    assert e.mean() == pytest.approx(-1755, abs=1.5)
    assert e.std() == pytest.approx(238, abs=1.0)
    assert qm9.max_atoms == 29
    assert set(np.unique(qm9.charges)) == {1, 6, 7, 8, 9}


def test_first_molecule_is_methane(qm9):
    z, r = qm9.molecule(0)
    assert qm9.index[0] == 1 and qm9.smiles[0] == "C"
    assert z.tolist() == [6, 1, 1, 1, 1]
    assert r.shape == (5, 3)
    # C-H bond of methane, Angstrom
    assert np.linalg.norm(r[1] - r[0]) == pytest.approx(1.0919, abs=1e-3)
    expected = (qm9.properties["U0"][0] - ATOM_REFERENCE_U0[6] - 4 * ATOM_REFERENCE_U0[1]) * HARTREE_TO_KCAL
    assert qm9.energy[0] == pytest.approx(expected)
    assert qm9.formula(0) == "CH4"


def test_all_properties_finite_and_sorted(qm9):
    assert np.all(np.diff(qm9.index) > 0)
    for name, values in qm9.properties.items():
        assert np.isfinite(values).all(), name


def test_cache_is_reused_and_corrupt_cache_rebuilt(tmp_path, qm9):
    fresh = qm9mod.load_qm9(cache_dir=tmp_path, rebuild=True)
    path = qm9mod.cache_path(tmp_path)
    assert path.exists()
    qm9mod._MEMORY.pop(path)
    again = qm9mod.load_qm9(cache_dir=tmp_path)
    np.testing.assert_array_equal(again.coordinates, fresh.coordinates)
    np.testing.assert_array_equal(again.smiles, qm9.smiles)

    # Flip bytes in the middle of the file: the CRC check must reject it.
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 64] = bytes(64)
    path.write_bytes(bytes(raw))
    assert qm9mod._load_cache(path, _meta()) is None
    qm9mod._MEMORY.pop(path)
    rebuilt = qm9mod.load_qm9(cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt.energy, qm9.energy)
    assert qm9mod._load_cache(path, _meta()) is not None


def test_truncated_and_stale_cache_rejected(tmp_path, qm9):
    path = qm9mod.cache_path(tmp_path)
    qm9mod._save_cache(qm9.subset(np.arange(10)), path, {"schema": 0})
    assert qm9mod._load_cache(path, _meta()) is None  # stale: schema/fingerprint differ
    path.write_bytes(path.read_bytes()[:1000])
    assert qm9mod._load_cache(path, {"schema": 0}) is None  # truncated


def _meta():
    d = qm9mod.qm9pack_data_dir()
    return {"schema": qm9mod.CACHE_SCHEMA,
            "sources": qm9mod._fingerprint(d / n for n in (*qm9mod._PARTS, qm9mod._POLARIZABILITY))}


def _xyz_text(qm9, row: int) -> str:
    """An xyz file in the original release's format, written from our data."""
    z, r = qm9.molecule(row)
    p = qm9.properties
    symbols = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}
    props = [p[k][row] for k in ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2",
                                 "zpve", "U0", "U", "H", "G", "Cv")]
    lines = [str(len(z)), f"gdb {qm9.index[row]}\t" + "\t".join(repr(float(v)) for v in props)]
    for zi, ri in zip(z, r, strict=False):
        # The release writes some numbers with Mathematica exponents.
        coords = "\t".join(f"{c:.10f}" if abs(c) > 1e-3 else f"{c * 1e6:.6f}*^-6" for c in ri)
        lines.append(f"{symbols[int(zi)]}\t{coords}\t0.0")
    lines += ["1.0\t2.0", f"{qm9.smiles[row]}\t{qm9.smiles[row]}", "InChI=1S/x\tInChI=1S/x"]
    return "\n".join(lines) + "\n"


def _write_tarball(qm9, rows, path, mode="w:bz2"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for row in rows[::-1]:  # out of order on purpose
            data = _xyz_text(qm9, row).encode()
            info = tarfile.TarInfo(f"dsgdb9nsd_{qm9.index[row]:06d}.xyz")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("mode", ["w:bz2", "w:gz", "w"])
def test_release_loader_on_a_small_tarball(tmp_path, qm9, mode):
    rows = [0, 5, 1000, 2000]
    path = _write_tarball(qm9, rows, tmp_path / "dsgdb9nsd.xyz.tar", mode)
    got = qm9mod.load_qm9_release(path, exclude=[int(qm9.index[1000])])
    expected = qm9.subset([0, 5, 2000])
    np.testing.assert_array_equal(got.index, expected.index)
    np.testing.assert_array_equal(got.charges, expected.charges)
    np.testing.assert_allclose(got.coordinates, expected.coordinates, atol=1e-9)
    np.testing.assert_allclose(got.energy, expected.energy, rtol=1e-12)
    np.testing.assert_array_equal(got.smiles, expected.smiles)


def test_release_loader_from_a_url(tmp_path, qm9):
    """Served from this machine (127.0.0.1) the way a user would point at a mirror."""
    import functools
    import http.server
    import threading

    _write_tarball(qm9, [0, 7, 300], tmp_path / "dsgdb9nsd.xyz.tar.bz2")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/dsgdb9nsd.xyz.tar.bz2"
        got = qm9mod.load_qm9_release(url)
    finally:
        server.shutdown()
    np.testing.assert_array_equal(got.index, qm9.index[[0, 7, 300]])
    np.testing.assert_allclose(got.energy, qm9.energy[[0, 7, 300]], rtol=1e-12)


def test_release_loader_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"this is not a tar file")
    with pytest.raises(qm9mod.DataError, match="not a tar archive"):
        qm9mod.load_qm9_release(bad)
    with pytest.raises(qm9mod.DataError, match="not a QM9 xyz"):
        qm9mod.parse_qm9_xyz("3\nhello\nC 0 0 0\n")


def test_subset_keeps_molecules_intact(qm9):
    sub = qm9.subset([10, 3])
    z, r = sub.molecule(1)
    z3, r3 = qm9.molecule(3)
    np.testing.assert_array_equal(z, z3)
    np.testing.assert_array_equal(r, r3)
    assert sub.formulas().tolist() == [qm9.formula(10), qm9.formula(3)]


def test_release_through_the_cli_with_an_exclude_file(tmp_path, qm9, capsys):
    from wqml_dash.cli import main

    path = _write_tarball(qm9, [0, 1, 2, 3], tmp_path / "small.tar.bz2")
    listing = tmp_path / "uncharacterized.txt"
    listing.write_text(" Indices of molecules that failed the consistency check\n"
                       "----\n     2  C  N\n     4  x\n")
    assert qm9mod.read_index_list(listing) == [2, 4]
    assert main(["data", "--release", str(path), "--exclude-file", str(listing)]) == 0
    assert "molecules   2" in capsys.readouterr().out
    listing.write_text("no numbers here\n")
    assert main(["data", "--release", str(path), "--exclude-file", str(listing)]) == 2
    assert "no molecule indices" in capsys.readouterr().err
