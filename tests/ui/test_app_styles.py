"""The app leans on one private behaviour of Panel, with no public setting for it (see
`wqml_dash.ui.app._serve_styles_locally`): Panel takes the address of its stylesheets from the
``dist_url`` template variable of the document. These tests fail loudly if that changes."""

from __future__ import annotations

import panel as pn
from bokeh.document import Document
from bokeh.models import ImportedStyleSheet
from panel.io.resources import CDN_DIST, LOCAL_DIST

from wqml_dash.ui.app import PANEL_STATIC, stylesheet


def _stylesheet_urls(doc: Document) -> list[str]:
    pane = pn.pane.Markdown("x")
    with pn.io.server.set_curdoc(doc):
        model = pane.get_root(doc)
    return [str(s.url) for s in model.select({"type": ImportedStyleSheet})]


def test_panel_serves_its_stylesheets_where_the_app_says():
    assert PANEL_STATIC == LOCAL_DIST


def test_panel_reads_the_stylesheet_address_from_the_documents_template_variables():
    plain = _stylesheet_urls(Document())
    assert plain and all(url.startswith(CDN_DIST) for url in plain)  # what a model gets without it
    doc = Document()
    doc.template_variables["dist_url"] = PANEL_STATIC
    local = _stylesheet_urls(doc)
    assert local and all(url.startswith(PANEL_STATIC) for url in local)


def test_the_stylesheet_is_package_data():
    assert ".wqml-help" in stylesheet()
