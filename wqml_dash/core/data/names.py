"""Common names of QM9 molecules, so that "benzene" finds QM9 #214.

Each entry is the molecule's QM9 index (QM9's own 1-based numbering) and a SMILES of the named
compound; the tests check every entry against QM9 (RDKit canonical SMILES, stereochemistry
ignored). Some well-known small molecules are not in QM9 as shipped (ethylene, methylamine,
acetic acid and formic acid among them) and are therefore not listed.
"""

from __future__ import annotations

#: name -> (QM9 index, SMILES)
COMMON_NAMES: dict[str, tuple[int, str]] = {
    "methane": (1, "C"), "ammonia": (2, "N"), "water": (3, "O"), "acetylene": (4, "C#C"),
    "hydrogen cyanide": (5, "C#N"), "formaldehyde": (6, "C=O"), "ethane": (7, "CC"), "methanol": (8, "CO"),
    "propyne": (9, "CC#C"), "acetonitrile": (10, "CC#N"), "acetaldehyde": (11, "CC=O"), "formamide": (12, "NC=O"),
    "propane": (13, "CCC"), "ethanol": (14, "CCO"), "dimethyl ether": (15, "COC"), "cyclopropane": (16, "C1CC1"),
    "ethylene oxide": (17, "C1CO1"), "acetone": (18, "CC(C)=O"), "acetamide": (19, "CC(N)=O"),
    "urea": (20, "NC(N)=O"), "isobutane": (21, "CC(C)C"), "isopropanol": (22, "CC(C)O"),
    "glyoxal": (28, "O=CC=O"), "propanal": (35, "CCC=O"), "methyl formate": (37, "COC=O"),
    "glycolaldehyde": (38, "OCC=O"), "butane": (39, "CCCC"), "1-propanol": (40, "CCCO"),
    "ethylene glycol": (42, "OCCO"), "propylene oxide": (44, "CC1CO1"), "cyclobutane": (47, "C1CCC1"),
    "oxetane": (48, "C1COC1"), "pyrrole": (50, "c1cc[nH]c1"), "imidazole": (51, "c1c[nH]cn1"),
    "furan": (52, "c1ccoc1"), "oxazole": (53, "c1cocn1"), "neopentane": (54, "CC(C)(C)C"),
    "tert-butanol": (55, "CC(C)(C)O"), "methylglyoxal": (60, "CC(=O)C=O"), "dimethylformamide": (70, "CN(C)C=O"),
    "butanone": (72, "CCC(C)=O"), "methyl acetate": (77, "COC(C)=O"), "pentane": (133, "CCCCC"),
    "1-butanol": (134, "CCCCO"), "diethyl ether": (136, "CCOCC"), "cyclopentane": (159, "C1CCCC1"),
    "tetrahydrofuran": (160, "C1CCOC1"), "pyrazole": (165, "c1cc[nH]n1"), "isoxazole": (170, "c1cnoc1"),
    "tetrafluoromethane": (184, "FC(F)(F)F"), "benzene": (214, "c1ccccc1"), "pyridine": (215, "c1ccncc1"),
    "pyrazine": (216, "c1cnccn1"), "pyrimidine": (217, "c1cncnc1"), "ethyl acetate": (265, "CCOC(C)=O"),
    "glycerol": (397, "OCC(O)CO"), "cyclopentanone": (448, "O=C1CCCC1"), "hexane": (543, "CCCCCC"),
    "cyclohexene": (656, "C1=CCCCC1"), "cyclohexane": (658, "C1CCCCC1"), "1,4-dioxane": (660, "C1COCCO1"),
    "pyridazine": (721, "c1ccnnc1"), "2,2,2-trifluoroethanol": (830, "OCC(F)(F)F"),
    "4-pyridone": (909, "O=c1cc[nH]cc1"), "2-pyridone": (920, "O=c1cccc[nH]1"), "toluene": (930, "Cc1ccccc1"),
    "aniline": (940, "Nc1ccccc1"), "phenol": (949, "Oc1ccccc1"), "acetylacetone": (1112, "CC(=O)CC(C)=O"),
    "cyclohexanone": (2071, "O=C1CCCCC1"), "cyclohexanol": (2110, "OC1CCCCC1"), "heptane": (2720, "CCCCCCC"),
    "norbornane": (3198, "C1CC2CCC1C2"), "fluorobenzene": (4208, "Fc1ccccc1"),
    "uracil": (4258, "O=c1cc[nH]c(=O)[nH]1"), "cytosine": (4318, "Nc1cc[nH]c(=O)n1"),
    "resorcinol": (4376, "Oc1cccc(O)c1"), "p-toluidine": (4564, "Cc1ccc(N)cc1"),
    "hydroquinone": (4591, "Oc1ccc(O)cc1"), "o-xylene": (4958, "Cc1ccccc1C"), "catechol": (4988, "Oc1ccccc1O"),
    "phenylacetylene": (5337, "C#Cc1ccccc1"), "benzonitrile": (5347, "N#Cc1ccccc1"),
    "benzaldehyde": (5357, "O=Cc1ccccc1"), "ethylbenzene": (5379, "CCc1ccccc1"), "anisole": (5398, "COc1ccccc1"),
    "benzyl alcohol": (5408, "OCc1ccccc1"), "caprolactam": (12482, "O=C1CCCCCN1"), "octane": (14788, "CCCCCCCC"),
    "cubane": (19116, "C12C3C4C1C5C2C3C45"), "indole": (24492, "c1ccc2[nH]ccc2c1"),
    "purine": (24503, "c1ncc2[nH]cnc2n1"), "benzofuran": (24507, "c1ccc2occc2c1"),
    "nicotinamide": (25845, "NC(=O)c1cccnc1"), "acetophenone": (25831, "CC(=O)c1ccccc1"),
    "thymine": (29238, "Cc1c[nH]c(=O)[nH]c1=O"), "nonane": (123246, "CCCCCCCCC"),
}


def find_by_name(query: str) -> list[tuple[str, int]]:
    """Common names matching ``query`` (case-insensitive) with their QM9 indices.

    An exact name comes first, then names that start with the query, then names that contain it
    (the last two only for queries of three characters or more).

    Returns
    -------
    list of (name, QM9 index)
    """
    text = " ".join(str(query or "").lower().split())
    if not text:
        return []
    exact = [n for n in COMMON_NAMES if n == text]
    start = [n for n in COMMON_NAMES if n != text and n.startswith(text)] if len(text) >= 3 else []
    inside = [n for n in COMMON_NAMES if text in n and n not in exact and n not in start] if len(text) >= 3 else []
    return [(n, COMMON_NAMES[n][0]) for n in exact + sorted(start) + sorted(inside)]


def browse(dataset, frame, query: str = "", atoms: tuple[int, int] | None = None,
           ranges: dict[str, tuple[float, float]] | None = None, search=None):
    """The rows of ``frame`` (``dataset.to_frame()``) that match a search and filters.

    Parameters
    ----------
    dataset : the `MolecularDataset` ``frame`` was made from (same rows, same order)
    frame : its table, one row per molecule (qm9_index, smiles, formula, atoms, ...)
    query : a common name (`COMMON_NAMES`, also part of one), a QM9 index, a formula, a SMILES
        (exact: the same molecule), or part of a SMILES as QM9 writes it; empty: every molecule
    atoms : inclusive (lowest, highest) number of atoms, or None
    ranges : property -> inclusive (low, high) in the property's unit (`PROPERTIES`)
    search : ``search(dataset, query, limit)`` for indices, formulas and SMILES (the explorer's
        ``search_qm9``); None: names and SMILES fragments only

    Returns
    -------
    (rows, how): the matching rows of ``frame`` (a view in frame order, names first when the query
    is a name) and a short text saying how the query was read, for the page
    """
    import numpy as np

    keep = np.ones(len(frame), dtype=bool)
    if atoms is not None:
        n = frame["atoms"].to_numpy()
        keep &= (n >= atoms[0]) & (n <= atoms[1])
    for prop, (lo, hi) in (ranges or {}).items():
        values = dataset.target(prop)
        keep &= (values >= lo) & (values <= hi)
    text = str(query or "").strip()
    if not text:
        return (frame if keep.all() else frame[keep]), ""  # no copy of the whole table
    index = frame["qm9_index"].to_numpy()
    named = find_by_name(text)
    if named:
        wanted = [i for _, i in named]
        rows = np.searchsorted(index, wanted)
        rows = rows[(rows < len(index)) & keep[np.minimum(rows, len(index) - 1)]]
        return frame.iloc[rows], f"name: {', '.join(n for n, _ in named[:5])}{' ...' if len(named) > 5 else ''}"
    hits = search(dataset, text, limit=len(frame)) if search is not None else frame.iloc[:0]
    if len(hits):
        rows = np.searchsorted(index, hits["qm9_index"].to_numpy())
        return frame.iloc[rows[keep[rows]]], "QM9 index, formula or SMILES"
    smiles = frame["smiles"].to_numpy().astype(str)
    inside = np.char.find(smiles, text) >= 0
    return frame[keep & inside], "part of a SMILES"
