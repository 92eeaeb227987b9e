"""Two browser sessions must not share Bokeh models: a closed session's document tears its
models down, which would break every other session holding the same model."""

from __future__ import annotations

from bokeh.document import Document
from panel.io.state import set_curdoc

from wqml_dash.ui.app import create_app


def _session_models():
    doc = Document()
    with set_curdoc(doc):
        create_app().server_doc(doc)
    return {id(m) for m in doc.models}


def test_sessions_share_no_bokeh_models():
    first, second = _session_models(), _session_models()
    assert first and second
    assert first.isdisjoint(second)
