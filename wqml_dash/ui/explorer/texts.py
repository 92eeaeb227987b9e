"""The explorer's words: help, labels for its choices, and the CSS and script its page pieces carry."""

from __future__ import annotations

SOURCE_LABELS = {"Example": "example", "QM9": "qm9", "SMILES": "smiles", "File": "file"}
AXIS_LABELS = {"normal": "Normal to the molecular plane", "x": "x axis", "y": "y axis", "z": "z axis",
               "bond": "Along a bond (choose the partner)", "custom": "Custom vector"}
#: The readouts' tooltip on "Jump ratio" (the page's own readout, frame_player, should say the same).
JUMP_RATIO_TIP = ("largest step between neighbouring grid points over the change around it (the curve&#39;s "
                  "steps on either side, the reference&#39;s step there): about 1 smooth, above 3 a jump")
COLLISION_TIP = ("Empty: a geometry is left out where the moving atom comes closer to another than 0.6 x the "
                 "sum of their covalent radii, or the reference rises over 1,000 kcal/mol above its minimum")
REFERENCE_LABELS = {"lj": "Lennard-Jones model (default)", "lj_uff": "Lennard-Jones, UFF parameters",
                    "uff": "UFF force field (RDKit)", "mmff94": "MMFF94 force field (RDKit)"}

HELP = """
One atom (orange ring in the 3D view) moves along the orange arrow by a displacement **d**.
The **black curve** is a reference energy at every d. Two machine-learning models (kernel ridge
regression on **Coulomb matrices**, CM) learn that curve from a few **training points** (open circles):

* **L1 · sorted CM** (orange-red) compares CMs whose rows were sorted by size. Where two rows
  change places (**swap points**, dashed lines) the sorted CM changes abruptly, and so does the
  prediction: the curve **jumps**.
* **W1** (blue, the Wasserstein metric) compares the *distribution* of all CM entries, which does not
  depend on the order of the atoms: no swap can make it jump, and the curve stays **smooth**.

* **Tie points** (purple dotted lines): at a symmetric geometry (often d = 0) two rows have *equal*
  norms. The sort then keeps them in input order, which can differ from the order on both sides:
  the sorted CM differs at that one point only, and a sorted-CM model shows a **one-point spike**
  there (not a swap: the order on both sides is the same, or, where two norms cross exactly at the
  tie, a swap at the same place). The notice above the plot names the atoms.

Move the slider (or use the arrow keys on it) and watch the **sorted CM**: at a swap point two atom
labels trade places. The **CDF** view shows why W1 is smooth: the shaded area between the
distributions at d and at d = 0 *is* W1, and it grows gradually.

**Jump ratio**: how far a curve's largest step between neighbouring points stands out against the
change around it (the curve's own steps on either side and the reference's step there): about 1 is
smooth, even along a steep wall; above 3 is a jump. Geometries where atoms collide or the reference
rises more than 1,000 kcal/mol above its minimum are left out (shaded bands). Click the plot to add or
remove a training point.

**Presentation mode** (top of the sidebar, or `presentation=true` in the link): larger fonts and
thicker lines for a projector.
"""


#: Styles inside the readouts' shadow DOM. A string, not a stylesheet model: a Bokeh model belongs to
#: one document, and every browser session has its own.
READOUT_CSS = """
table { border-collapse: collapse; font-size: 15px; margin: 2px 0 6px 0; }
th, td { padding: 3px 10px 3px 4px; text-align: right; border-bottom: 1px solid #e3e7ed; white-space: nowrap; }
th, td:first-child { font-size: 13px; white-space: normal; }
td:first-child { font-size: 14px; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: #394452; }
.sw { display: inline-block; width: 16px; height: 4px; margin: 0 8px 3px 0; border-radius: 2px; }
.wqml-d { font-size: 16px; margin-bottom: 4px; }
.bad { color: #c0392b; }
:host(.wqml-big) table { font-size: 22px; }
:host(.wqml-big) th, :host(.wqml-big) td:first-child { font-size: 19px; }
:host(.wqml-big) .wqml-d { font-size: 22px; }
:host(.wqml-big) .sw { width: 24px; height: 7px; }
"""


#: Saves the energy plot as SVG: Bokeh's PlotView.export("svg") paints it into an SVG context.
#: The view on the page is the connected one (a tab shown again builds a new view of the same figure).
SVG_EXPORT_JS = """
const views = [...Bokeh.index.find(fig)].filter((v) => v.el.isConnected)
if (views.length == 0) return
const name = (fig.title.text || "scan").replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "scan"
views[views.length - 1].export("svg").to_blob().then((blob) => {
  const link = document.createElement("a")
  link.href = URL.createObjectURL(blob)
  link.download = name + ".svg"
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10000)
})
"""

#: Element names for the atom picker's help.
ELEMENT_NAMES = {"H": "hydrogen", "C": "carbon", "N": "nitrogen", "O": "oxygen", "F": "fluorine", "S": "sulfur",
            "P": "phosphorus", "Cl": "chlorine", "Br": "bromine", "I": "iodine", "B": "boron", "Si": "silicon"}
