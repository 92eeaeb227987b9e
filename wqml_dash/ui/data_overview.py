"""The data tab: what is in the loaded data set (counts, a property histogram, a browsable table)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..core.data import DEFAULT_TARGET, PROPERTIES
from .data_source import DataSource

_TABLE_COLUMNS = {"qm9_index": "QM9 index", "smiles": "SMILES", "formula": "Formula", "atoms": "Atoms",
                  "atomization_energy": "E_at (kcal/mol)", "gap": "HOMO-LUMO gap (Ha)"}

#: Histogram choices, labelled for people: "atomization energy from U0 (kcal/mol)" -> key.
_PROPERTY_LABELS = {f"{desc[:1].upper()}{desc[1:]} ({unit})": key
                    for key, (unit, desc) in PROPERTIES.items()}


def _number(name: str, value, fmt: str = "{value:,}") -> pn.indicators.Number:
    return pn.indicators.Number(name=name, value=value, format=fmt, font_size="26pt",
                                title_size="11pt", margin=(5, 20, 5, 5))


class DataOverview(pn.viewable.Viewer):
    """Summary numbers, a histogram of any QM9 property and a paged table of all molecules."""

    source = param.ClassSelector(class_=DataSource)
    prop = param.Selector(default=DEFAULT_TARGET, objects=_PROPERTY_LABELS, label="Histogram of",
                          doc="Which property the histogram shows")

    @param.depends("source.dataset", "source.progress", "source.error")
    def _body(self):
        src = self.source
        if src.error:
            return pn.pane.Alert(src.error, alert_type="danger")
        if src.dataset is None:
            return pn.Column(
                pn.pane.Markdown(f"**{src.message}**  \nThe first start parses QM9 once "
                                 "(a few seconds); later starts read a cache."),
                pn.indicators.Progress(value=src.progress, max=100, width=400, name="qm9-progress"),
            )
        return self._overview(src.dataset, src.table)

    @param.depends("prop", "source.dataset")
    def _histogram(self):
        dataset = self.source.dataset
        if dataset is None:
            return hv.Histogram(([0, 1], [0]))
        unit, desc = PROPERTIES[self.prop]
        counts, edges = np.histogram(dataset.target(self.prop), bins=80)
        return hv.Histogram((edges, counts)).opts(
            xlabel=f"{desc[:1].upper()}{desc[1:]} ({unit})", ylabel="Molecules", title=f"QM9: {desc}",
            color="#3b6ea5", line_color=None, responsive=True, height=320, tools=["hover"],
            toolbar="above", framewise=True)

    def _overview(self, dataset, frame):
        info = dataset.describe()
        unit = info["unit"]
        numbers = pn.FlexBox(
            _number("Molecules", info["molecules"]),
            _number("Atoms", info["atoms"]),
            _number("Largest molecule (atoms)", info["max_atoms"]),
            _number(f"Mean E_at ({unit})", round(info["mean"], 1), "{value:,.1f}"),
            _number(f"Std E_at ({unit})", round(info["std"], 1), "{value:,.1f}"),
            css_classes=["wqml-summary"],
        )
        chooser = pn.widgets.Select.from_param(self.param.prop, width=360, name="Histogram of")
        table = pn.widgets.Tabulator(
            frame, titles=_TABLE_COLUMNS, pagination="remote",
            page_size=10, show_index=False, disabled=True, sizing_mode="stretch_width",
            layout="fit_data_fill",
            formatters={"atomization_energy": {"type": "money", "precision": 2, "symbol": ""}},
            name="molecule-table")
        return pn.Column(
            numbers,
            chooser,
            pn.pane.HoloViews(hv.DynamicMap(self._histogram), sizing_mode="stretch_width"),
            pn.pane.Markdown("### Molecules\nEvery molecule of the embedded QM9 (the 3,054 that "
                             "failed QM9's own consistency checks are left out)."),
            table,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(self._body, sizing_mode="stretch_width")
