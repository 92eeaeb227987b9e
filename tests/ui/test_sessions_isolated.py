"""Browser sessions are isolated. They share no Bokeh models (a closed session's document tears
its models down, which would break every other session holding the same model), and one session's
work sends nothing to another: each student's page hears only from its own session, so a class of
20 costs the server 20 times one student, not 400 times."""

from __future__ import annotations

import pytest
from bokeh.document import Document
from panel.io.state import set_curdoc

from wqml_dash.ui.app import create_app

READOUT = ".wqml-d"


def _session_models():
    doc = Document()
    with set_curdoc(doc):
        create_app().server_doc(doc)
    return {id(m) for m in doc.models}


def test_sessions_share_no_bokeh_models():
    first, second = _session_models(), _session_models()
    assert first and second
    assert first.isdisjoint(second)



def _open(context, url):
    page = context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else "<binary>")))
    page.goto(url)
    page.locator(READOUT).first.wait_for(timeout=90_000)
    page.locator(".wqml-mol canvas").wait_for(timeout=30_000)
    return page, frames


def _quiet(page, frames, seconds: float = 2.0, timeout: float = 60.0) -> None:
    """Wait until the page has received nothing for ``seconds`` (its own start-up work is over)."""
    waited, count = 0.0, -1
    while waited < timeout:
        if len(frames) == count:
            return
        count = len(frames)
        page.wait_for_timeout(seconds * 1000)
        waited += seconds
    raise AssertionError(f"the page kept receiving messages: {frames[-3:]}")


@pytest.mark.browser
@pytest.mark.slow  # the classroom test (default run) checks cross-talk between sessions too
def test_a_session_hears_nothing_from_another_sessions_work(app_url, browser):
    contexts = [browser.new_context(viewport={"width": 1300, "height": 850}) for _ in range(2)]
    try:
        (idle, heard), (busy, _) = (_open(c, app_url) for c in contexts)
        _quiet(idle, heard)
        heard.clear()
        handle = busy.locator(".noUi-handle").first
        for k in range(1, 6):
            handle.press("ArrowRight")
            busy.locator(READOUT, has_text=f"d = +0.0{k} Å").wait_for(timeout=30_000)
        idle.wait_for_timeout(1500)  # anything sent to the idle page has arrived
        assert heard == [], [f[:200] for f in heard[:5]]
        assert "d = +0.00 Å" in idle.locator(READOUT).first.inner_text()
    finally:
        for c in contexts:
            c.close()
