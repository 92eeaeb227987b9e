"""The data tab: what is in the chosen data set (counts, a property histogram) and a table of every
molecule to search, filter and, for QM9, open in the displacement explorer.

The data sets are QM9 and the files of the server's data folder (`data_sets.catalogue`); a file's
view is `file_overview.FileOverview`."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from ...core.data import DEFAULT_TARGET, PROPERTIES
from ...core.data.names import browse
from ...core.scan.molecule import search_qm9
from ..navigation import Navigation
from .data_sets import QM9_NAME, DataSetLoader, catalogue
from .data_source import DataSource
from .file_overview import FileOverview

_TABLE_COLUMNS = {"qm9_index": "QM9 index", "smiles": "SMILES", "formula": "Formula", "atoms": "Atoms",
                  "atomization_energy": "E_at (kcal/mol)", "gap": "HOMO-LUMO gap (Ha)", "open": ""}

#: Histogram choices, labelled for people: "atomization energy from U0 (kcal/mol)" -> key.
_PROPERTY_LABELS = {f"{desc[:1].upper()}{desc[1:]} ({unit})": key
                    for key, (unit, desc) in PROPERTIES.items()}
#: Rows per page of the molecule table.
PAGE_SIZE = 50


def _number(name: str, value, fmt: str = "{value:,}") -> pn.indicators.Number:
    return pn.indicators.Number(label=name, value=value, format=fmt, font_size="26pt",
                                title_size="11pt", margin=(5, 20, 5, 5))


class DataOverview(pn.viewable.Viewer):
    """Summary numbers, a histogram of any QM9 property and a searchable, filterable table of all
    molecules, each of which opens in the displacement explorer (through ``navigation``)."""

    source = param.ClassSelector(class_=DataSource)
    navigation = param.ClassSelector(class_=Navigation, doc="Where 'open in explorer' requests go")
    prop = param.Selector(default=DEFAULT_TARGET, objects=_PROPERTY_LABELS, label="Histogram of",
                          doc="Which property the histogram shows (and the range filter applies to)")
    query = param.String(default="", doc="Search: a common name, SMILES, formula or QM9 index")
    atoms = param.Range(default=None, allow_None=True, doc="Inclusive range of atom counts, None: all")
    prop_range = param.Range(default=None, allow_None=True, doc="Inclusive range of `prop`, None: all")
    matches = param.DataFrame(default=None, allow_None=True, doc="The table's rows after search and filters")
    how = param.String(default="", doc="How the search was read, for the page")
    data_set = param.Selector(default=QM9_NAME, objects=[QM9_NAME], label="Data set",
                              doc="The data set shown: QM9 or a file of the server's data folder")
    loader = param.ClassSelector(class_=DataSetLoader, doc="Reads the chosen file off the event loop")

    def __init__(self, choices: dict | None = None, **params):
        params.setdefault("navigation", Navigation())
        params.setdefault("loader", DataSetLoader())
        super().__init__(**params)
        self._choices = catalogue() if choices is None else choices
        self.param.data_set.objects = list(self._choices)

    async def choose(self, name: str) -> None:
        """Show data set ``name`` (a key of the choices), read off the event loop if it is a file."""
        self._choosing = True  # the chooser's watcher would read it a second time
        try:
            self.data_set = name
        finally:
            self._choosing = False
        await self.loader.choose(name, self._choices)

    @param.depends("data_set", watch=True)
    async def _on_data_set(self) -> None:
        if not getattr(self, "_choosing", False):
            await self.loader.choose(self.data_set, self._choices)

    # -- search and filters -------------------------------------------------------------
    @param.depends("query", "atoms", "prop_range", "prop", "source.table", watch=True)
    def _filter(self) -> None:
        src = self.source
        if src.dataset is None or src.table is None:
            return
        ranges = {self.prop: self.prop_range} if self.prop_range is not None else None
        try:
            rows, how = browse(src.dataset, src.table, self.query, atoms=self.atoms, ranges=ranges, search=search_qm9)
        except ValueError as exc:  # a search the data set cannot answer: say so, keep the table
            self.how = f"Search: {exc}"
            return
        self.how = how
        self.matches = rows

    def open_row(self, row: int) -> None:
        """Open the molecule of the table's ``row`` (position in `matches`) in the explorer."""
        if self.matches is not None and 0 <= row < len(self.matches):
            self.navigation.open_qm9(int(self.matches["qm9_index"].iloc[row]))

    def _on_cell_click(self, event) -> None:
        if event.column == "open":
            self.open_row(int(event.row))

    # -- views --------------------------------------------------------------------------
    @param.depends("source.dataset", "source.progress", "source.error")
    def _body(self):
        src = self.source
        if src.error:
            return pn.pane.Alert(src.error, alert_type="danger")
        if src.dataset is None:
            return pn.Column(
                pn.pane.Markdown(f"**{src.message}**  \nThe first start parses QM9 once "
                                 "(a few seconds); later starts read a cache."),
                pn.indicators.Progress(value=src.progress, max=100, width=400, css_classes=["wqml-qm9-progress"]),
            )
        return self._overview(src.dataset)

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

    @param.depends("matches", "how")
    def _count(self):
        n = 0 if self.matches is None else len(self.matches)
        total = len(self.source.table) if self.source.table is not None else 0
        text = f"**{n:,}** of {total:,} molecules" + (f" (search read as {self.how})" if self.how else "")
        if self.how.startswith("Search:"):
            text = self.how
        return pn.pane.Markdown(text, margin=(5, 10), css_classes=["wqml-match-count"])

    def _range_slider(self):
        values = self.source.dataset.target(self.prop)
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        unit, desc = PROPERTIES[self.prop]
        slider = pn.widgets.EditableRangeSlider(label=f"{desc[:1].upper()}{desc[1:]} ({unit})", start=lo, end=hi,
                                                value=(lo, hi), step=(hi - lo) / 200 or 1.0, width=400,
                                                format="0,0.[000]")

        def on_range(event):
            whole = np.isclose(event.new[0], lo) and np.isclose(event.new[1], hi)
            self.prop_range = None if whole else tuple(event.new)

        slider.param.watch(on_range, "value_throttled")
        return slider

    def _controls(self, dataset):
        search = pn.widgets.TextInput.from_param(
            self.param.query, label="Search", placeholder="benzene, c1ccccc1, C6H6 or 214", width=300,
            css_classes=["wqml-qm9-search"])
        biggest = int(dataset.max_atoms)
        atoms = pn.widgets.IntRangeSlider(label="Atoms", start=1, end=biggest, value=(1, biggest), width=220)
        atoms.param.watch(lambda e: setattr(self, "atoms", None if tuple(e.new) == (1, biggest)
                                            else tuple(e.new)), "value_throttled")
        return pn.FlexBox(search, atoms, pn.panel(pn.bind(lambda _prop: self._range_slider(), self.param.prop)),
                          align_items="flex-end")

    def _table(self):
        table = pn.widgets.Tabulator(
            self.matches, titles=_TABLE_COLUMNS, pagination="remote",
            page_size=PAGE_SIZE, show_index=False, disabled=True, sizing_mode="stretch_width",
            layout="fit_data_fill",
            formatters={"atomization_energy": {"type": "money", "precision": 2, "symbol": ""}},
            buttons={"open": "<span class='wqml-open-molecule' title='Open in the displacement explorer'>"
                             "Open in explorer</span>"},
            css_classes=["wqml-molecule-table"], name="molecule-table")
        table.on_click(self._on_cell_click)
        self.param.watch(lambda e: setattr(table, "value", e.new), "matches")
        return table

    def _overview(self, dataset):
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
        chooser = pn.widgets.Select.from_param(self.param.prop, width=360, label="Histogram of")
        if self.matches is None:
            self._filter()
        return pn.Column(
            numbers,
            chooser,
            pn.pane.HoloViews(hv.DynamicMap(self._histogram), sizing_mode="stretch_width",
                              css_classes=["wqml-histogram"]),
            pn.pane.Markdown("### Molecules\nEvery molecule of the embedded QM9 (the 3,054 that failed QM9's own "
                             "consistency checks are left out). Search by common name (benzene, acetone, ...), "
                             "SMILES, formula or QM9 index, narrow by atom count and by the histogram's property, "
                             "and **open any molecule in the displacement explorer**."),
            self._controls(dataset),
            self._count,
            self._table(),
            sizing_mode="stretch_width",
        )

    @param.depends("loader.chosen", "loader.loading", "loader.error", "loader.dataset")
    def _chosen(self):
        loader = self.loader
        if loader.is_qm9:
            return self._body
        if loader.error:
            return pn.pane.Alert(loader.error, alert_type="danger", css_classes=["wqml-data-error"])
        if loader.dataset is None:
            return pn.pane.Markdown(f"**Reading {loader.chosen} ...**", css_classes=["wqml-data-loading"])
        return FileOverview(dataset=loader.dataset, table=loader.table)

    def __panel__(self):
        chooser = pn.widgets.Select.from_param(self.param.data_set, width=300, css_classes=["wqml-data-choice"])
        hint = ("QM9 is embedded; the other data sets are the files of the server's data folder."
                if len(self._choices) > 1 else "")
        return pn.Column(pn.Row(chooser, pn.pane.Markdown(hint, css_classes=["wqml-hint"], margin=(30, 10, 0, 10))),
                         self._chosen, sizing_mode="stretch_width")
