"""The data tab for a data set read from a file: its summary, a histogram of any of its properties
(with the unit in the axis label) and a table of its frames, filtered by formula or frame number.

The QM9 view (`data_overview`) has the QM9 search and "open in explorer"; a file's frames are not
QM9 molecules, so they open nowhere.
"""

from __future__ import annotations

import html

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ...core.data import MolecularDataset
from ...core.data.dataset import element_symbol
from .data_sets import property_label, property_options, unit_text

#: Rows per page of the frame table.
PAGE_SIZE = 50


def summary_text(dataset: MolecularDataset) -> str:
    """Markdown: elements, properties with their units, and the short content hash."""
    elements = ", ".join(element_symbol(int(z)) for z in np.unique(dataset.charges))
    props = ", ".join(f"`{html.escape(k)}` ({html.escape(unit_text(dataset.unit(k)))})"
                      for k in dataset.properties) or "none (no number every frame has)"
    return (f"**Elements:** {elements or 'none'}  \n**Properties:** {props}  \n"
            f"**Content hash:** `{dataset.content_hash[:12]}` (SHA-256 of atoms, geometries and properties)")


def filter_frames(table: pd.DataFrame, query: str) -> tuple[pd.DataFrame, str]:
    """Rows of ``table`` matching ``query``: a frame number, or (part of) a formula; '' -> all rows.

    Returns the rows and how the query was read.
    """
    query = query.strip()
    if not query:
        return table, ""
    if query.isdigit():
        return table[table["frame"] == int(query)], f"frame {int(query)}"
    exact = table[table["formula"] == query]
    if len(exact):
        return exact, f"formula {query}"
    return table[table["formula"].str.contains(query, case=False, regex=False)], f"formulas containing {query!r}"


class FileOverview(pn.viewable.Viewer):
    """Summary, histogram and frame table of one data set read from a file."""

    dataset = param.ClassSelector(class_=MolecularDataset)
    table = param.DataFrame(doc="`data_sets.table_of(dataset)`")
    prop = param.Selector(default=None, objects=[], label="Histogram of")
    query = param.String(default="", doc="A frame number or (part of) a formula")
    matches = param.DataFrame(default=None, allow_None=True, doc="The table's rows after the filter")
    how = param.String(default="")

    def __init__(self, **params):
        super().__init__(**params)
        options = property_options(self.dataset)
        self.param.prop.objects = options
        if options:
            self.prop = next(iter(options.values()))
        self._filter()

    @param.depends("query", watch=True)
    def _filter(self) -> None:
        self.matches, self.how = filter_frames(self.table, self.query)

    def _histogram(self, prop):
        dataset = self.dataset
        if prop is None:
            return pn.pane.Markdown("No property to show: no number is given for every frame.",
                                    css_classes=["wqml-hint"])
        counts, edges = np.histogram(dataset.target(prop), bins=min(80, max(len(dataset) // 3, 10)))
        label = property_label(dataset, prop)
        return pn.pane.HoloViews(hv.Histogram((edges, counts)).opts(
            xlabel=label, ylabel="Molecules", title=f"{dataset.name}: {label}", color="#3b6ea5", line_color=None,
            responsive=True, height=320, tools=["hover"], toolbar="above", framewise=True),
            sizing_mode="stretch_width", css_classes=["wqml-histogram"])

    @param.depends("matches", "how")
    def _count(self):
        n = 0 if self.matches is None else len(self.matches)
        text = f"**{n:,}** of {len(self.table):,} frames" + (f" ({self.how})" if self.how else "")
        return pn.pane.Markdown(text, margin=(5, 10), css_classes=["wqml-match-count"])

    def _table(self):
        titles = {"frame": "Frame", "smiles": "SMILES", "formula": "Formula", "atoms": "Atoms"}
        titles.update({k: property_label(self.dataset, k) for k in self.dataset.properties})
        grid = pn.widgets.Tabulator(self.matches, titles=titles, pagination="remote", page_size=PAGE_SIZE,
                                    show_index=False, disabled=True, sizing_mode="stretch_width",
                                    layout="fit_data_fill", css_classes=["wqml-molecule-table", "wqml-frame-table"])
        self.param.watch(lambda e: setattr(grid, "value", e.new), "matches")
        return grid

    def __panel__(self):
        d = self.dataset
        numbers = pn.FlexBox(
            *(pn.indicators.Number(label=label, value=value, format="{value:,}", font_size="26pt",
                                   title_size="11pt", margin=(5, 20, 5, 5))
              for label, value in (("Molecules", len(d)), ("Atoms", int(d.charges.size)),
                                   ("Largest molecule (atoms)", d.max_atoms))),
            css_classes=["wqml-summary"])
        search = pn.widgets.TextInput.from_param(self.param.query, label="Frame or formula",
                                                 placeholder="12 or C2H6O", width=300,
                                                 css_classes=["wqml-frame-search"])
        return pn.Column(
            numbers,
            pn.pane.Markdown(summary_text(d), margin=(0, 10), css_classes=["wqml-data-summary"]),
            pn.widgets.Select.from_param(self.param.prop, width=360, label="Histogram of"),
            pn.panel(pn.bind(self._histogram, self.param.prop)),
            pn.pane.Markdown(f"### Frames\nEvery frame of `{html.escape(d.name)}` (from the server's data "
                             "folder). Find one by its frame number (from 0) or its formula."),
            search,
            self._count,
            self._table(),
            sizing_mode="stretch_width",
        )
