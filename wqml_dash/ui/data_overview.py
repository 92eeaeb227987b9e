"""The data tab: what is in the loaded data set (counts, energy histogram, a browsable table)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..core.data import PROPERTIES
from .data_source import DataSource

_TABLE_COLUMNS = {"qm9_index": "QM9 index", "smiles": "SMILES", "formula": "Formula", "atoms": "Atoms",
                  "atomization_energy": "E_at (kcal/mol)", "gap": "HOMO-LUMO gap (Ha)"}


class DataOverview(pn.viewable.Viewer):
    """Summary numbers, a histogram of the atomization energy and a paged table of molecules."""

    source = param.ClassSelector(class_=DataSource)

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

    def _overview(self, dataset, frame):
        info = dataset.describe()
        unit = PROPERTIES[info["target"]][0]
        numbers = pn.Row(
            pn.indicators.Number(name="Molecules", value=info["molecules"], format="{value:,}",
                                 font_size="28pt", title_size="12pt"),
            pn.indicators.Number(name="Atoms", value=info["atoms"], format="{value:,}",
                                 font_size="28pt", title_size="12pt"),
            pn.indicators.Number(name="Largest molecule (atoms)", value=info["max_atoms"],
                                 font_size="28pt", title_size="12pt"),
            pn.indicators.Number(name=f"Mean E_at ({unit})", value=round(info["mean"], 1),
                                 format="{value:,.1f}", font_size="28pt", title_size="12pt"),
            pn.indicators.Number(name=f"Std E_at ({unit})", value=round(info["std"], 1),
                                 format="{value:,.1f}", font_size="28pt", title_size="12pt"),
            css_classes=["wqml-summary"],
        )
        counts, edges = np.histogram(dataset.energy, bins=80)
        histogram = hv.Histogram((edges, counts)).opts(
            xlabel=f"Atomization energy E_at ({unit})", ylabel="Molecules",
            title="QM9 atomization energies (from U0)", color="#3b6ea5", line_color=None,
            responsive=True, height=320, tools=["hover"], toolbar="above")
        table = pn.widgets.Tabulator(
            frame, titles=_TABLE_COLUMNS, pagination="remote",
            page_size=10, show_index=False, disabled=True, sizing_mode="stretch_width",
            layout="fit_data_fill",
            formatters={"atomization_energy": {"type": "money", "precision": 2, "symbol": ""}},
            name="molecule-table")
        return pn.Column(
            numbers,
            pn.pane.HoloViews(histogram, sizing_mode="stretch_width"),
            pn.pane.Markdown("### Molecules\nEvery molecule of the embedded QM9 (the 3,054 that "
                             "failed QM9's own consistency checks are left out)."),
            table,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(self._body, sizing_mode="stretch_width")
