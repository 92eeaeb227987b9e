"""The app shell: a template with one tab per experience. `app.py` calls `create_app`."""

from __future__ import annotations

import functools
import importlib.resources
import logging

import holoviews as hv
import panel as pn
import param

from .access import refusal_message
from .curves.learning_curves_tab import LearningCurvesTab
from .data.data_overview import DataOverview
from .data.data_sets import catalogue
from .data.data_source import DataSource
from .explorer.displacement_explorer import DisplacementExplorer
from .navigation import Navigation, connect

log = logging.getLogger(__name__)
#: Where Panel's server serves its own stylesheets (Panel's ``LOCAL_DIST``; see `_serve_styles_locally`).
PANEL_STATIC = "static/extensions/panel/"


@functools.cache
def stylesheet() -> str:
    """The app's CSS (package data ``ui/assets/wqml.css``), inlined into the page: nothing is fetched
    from elsewhere, and a wheel install carries it."""
    return importlib.resources.files(__package__).joinpath("assets", "wqml.css").read_text(encoding="utf-8")

ABOUT = """
### What is this?
Kernel ridge regression (KRR) predicts molecular energies from **Coulomb matrices** (CM).
A CM depends on the order of the atoms. Sorting its rows by norm fixes the order but makes
predictions **jump** when an atom moves and two rows swap places.

The **Wasserstein metric W1** compares the *distributions* of the CM's entries instead:
it does not care about atom order, it is smooth, and it is at least as accurate on QM9
(Çaylak, von Lilienfeld & Baumeier, 2020).

### Learning curves
The paper's Fig. 3: test error against training-set size. Runs go to a Dask cluster
(started by the app, or `WQML_SCHEDULER`), are stored (`WQML_STORE`) and survive a
reload or a restart; the command line (`wqml learning-curve`, `wqml runs`) shares them.

### Data
QM9: 130,831 small organic molecules (H, C, N, O, F; up to 29 atoms) with DFT
(B3LYP/6-31G(2df,p)) properties, shipped with the app; no network needed.
"""


class LazyPage:
    """A page built the first time its tab is shown: a new session pays only for the tab on screen.

    Parameters
    ----------
    build : called without arguments, returns the page
    """

    def __init__(self, build):
        self.build = build


class PageTabs(pn.Tabs):
    """Tabs that build a page when first shown and set ``shown`` on their pages.

    A page with a ``shown`` parameter pauses its updates while hidden and catches up when shown.
    A `LazyPage`'s tab holds an empty column until first shown; then the built page replaces it.
    That happens in a ``param.depends(watch=True)`` watcher, which param runs before the watchers
    registered with ``watch`` (Panel's own, which send ``active`` to the browser): param reserves
    negative precedences for ``param.depends`` watchers and runs lower precedences first (its
    ``Parameters.watch`` reference). ``tests/ui/test_learning_curves_tab.py`` checks that order.
    Once built, a page stays in the document (the tabs are not ``dynamic``): an update made while
    it is hidden (a run finishing) goes to models the document knows, so their stylesheets keep the
    server's address (a model outside a document gets Panel's CDN, which a classroom without
    internet cannot reach).

    Parameters
    ----------
    *pages : (title, page) pairs
        The pages in tab order. A `LazyPage` holds an empty place until its tab is first shown,
        so a new session pays only for the tab on screen.
    """

    def __init__(self, *pages: tuple[str, object], **params):
        self._pages = [page for _title, page in pages]
        self._titles = [title for title, _page in pages]
        super().__init__(*((title, pn.Column(sizing_mode="stretch_width") if isinstance(page, LazyPage) else page)
                           for title, page in pages), **params)

    def page(self, i: int):
        """The page of tab ``i`` (the `LazyPage` itself while it is not built)."""
        return self._pages[i]

    @param.depends("active", watch=True, on_init=True)
    def _mark_shown(self) -> None:
        page = self._pages[self.active] if 0 <= self.active < len(self._pages) else None
        if isinstance(page, LazyPage):
            page = self._pages[self.active] = page.build()
            self[self.active] = (self._titles[self.active], page)
        for i, page in enumerate(self._pages):
            if isinstance(page, LazyPage):
                continue
            if "shown" not in page.param:
                continue
            try:
                page.shown = i == self.active
            except Exception:  # a page failing to catch up (a store it cannot read) must not stop the tab opening
                log.exception("%s could not catch up on being shown", type(page).__name__)


def _learning_curves(**params):
    try:
        return LearningCurvesTab(**params)
    except Exception as exc:  # e.g. a store written by a newer wqml-dash: the other tabs keep working
        return pn.pane.Alert(f"The learning-curves tab could not open its run store: {exc}", alert_type="danger")


def _serve_styles_locally(doc) -> None:
    """Give a new session's document the server's stylesheet folder from the start.

    Panel sets it when it renders the session's page; a model updated before that (a run that
    finishes while twenty sessions open at once updates every session's table) would get its
    stylesheets from Panel's CDN instead, which a classroom without internet cannot reach.

    Panel has no public setting for this; it reads the ``dist_url`` entry of the document's template
    variables (Bokeh's public ``Document.template_variables``), which its server writes only when it
    renders the page. ``tests/ui/test_app_styles.py`` fails loudly if Panel stops reading it. Upstream:
    Panel patches ``dist_url`` into stylesheets on property updates since
    https://github.com/holoviz/panel/pull/4413; models added before render got CDN addresses in
    https://github.com/holoviz/panel/pull/5278. We found no public setting for it.
    """
    if doc is None or doc.session_context is None or "dist_url" in doc.template_variables:
        return
    doc.template_variables["dist_url"] = f"{pn.state.rel_path}/{PANEL_STATIC}" if pn.state.rel_path else PANEL_STATIC


class _Template(pn.template.BootstrapTemplate):
    """The page's template; it adds a session's models to its document in one step.

    The template adds its parts (header, sidebar, main, modal, ...) one root at a time, and Bokeh
    re-walks every model of the document after each: about a fifth of a new session's server time.
    """

    after_doc = param.Callable(default=None, doc="Called with the document once the session's models are "
                                                  "built, in the same step (the player's callbacks)")

    def server_doc(self, doc=None, title=None, location=True):
        doc = doc if doc is not None else pn.state.curdoc
        if doc is None:
            return super().server_doc(doc, title, location)
        with doc.models.freeze():
            doc = super().server_doc(doc, title, location)
            if self.after_doc is not None:
                self.after_doc(doc)
        return doc


@functools.cache
def _holoviews() -> None:
    """HoloViews' Bokeh backend, loaded once per process (about 60 ms that every session paid)."""
    hv.extension("bokeh", logo=False)


def create_app() -> pn.viewable.Viewable:
    """Build the page for one browser session (a short refusal for clients `access` turns away)."""
    # BootstrapTemplate fetches no web fonts: the page works offline (DESIGN.md).
    pn.extension("tabulator", design="bootstrap", notifications=True, raw_css=[stylesheet()])
    _serve_styles_locally(pn.state.curdoc)
    refusal = refusal_message()
    if refusal is not None:
        return pn.Column(pn.pane.Markdown(refusal, css_classes=["wqml-refusal"]), margin=20)
    _holoviews()
    source = DataSource()
    navigation = Navigation()  # "open in explorer" requests from the other tabs
    explorer = DisplacementExplorer(data_source=source)
    data_sets = catalogue()  # QM9 and the files of $WQML_DATA_DIR (names only: nothing is read yet)
    tabs = PageTabs(("Displacement explorer", explorer),
                    ("Learning curves", LazyPage(lambda: _learning_curves(navigation=navigation,
                                                                          data_sets=data_sets))),
                    ("QM9 data" if len(data_sets) == 1 else "Data sets",
                     LazyPage(lambda: DataOverview(source=source, navigation=navigation, choices=data_sets))),
                    active=0,
                    sizing_mode="stretch_width", name="main-tabs")
    connect(navigation, explorer.state, tabs, explorer_tab=0)
    template = _Template(
        title="wqml-dash · Wasserstein metric for quantum machine learning",
        sidebar=[pn.pane.Markdown(ABOUT, css_classes=["wqml-help"])],
        main=[tabs],
        header_background="#24476b",
        sidebar_width=320,
        collapsed_sidebar=True,  # room for the explorer on a projector; the menu button opens it
        # Panel's busy state is one per server process: every session's spinner would turn on
        # whenever any session ran a callback (each student's once-a-second poll included), and
        # updating all the spinners made the server's work grow with the square of the sessions
        # (42% of its time with 20 sessions). The explorer and the runs show their own progress.
        busy_indicator=None,
    )
    pn.state.onload(source.load)
    location = pn.state.location
    if explorer.starts_with_page(location):
        # A teaching example's scan is shared by every session: it travels with the page, which is
        # interactive as soon as it is drawn (no wait for the page's "ready" and the server's answer).
        explorer.start_in_page(location)
        template.after_doc = explorer.attach_player
    else:  # a QM9 molecule waits for QM9; a SMILES or a file is the session's own
        pn.state.onload(lambda: explorer.start(pn.state.location))
    return template
