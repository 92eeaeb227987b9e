"""Requests from one tab to show something in another: "open this QM9 molecule in the explorer".

A view that offers such a link asks a session's `Navigation` (`open_qm9`); the app shell, which
knows the tabs and the explorer, answers the request (`connect`). Views never reach into each
other's widgets (DESIGN.md).
"""

from __future__ import annotations

import logging

import param

log = logging.getLogger(__name__)


class Navigation(param.Parameterized):
    """One browser session's navigation requests.

    ``qm9_index`` is the QM9 molecule (QM9's own 1-based numbering) the explorer should load;
    every `open_qm9` fires a change, also when the same molecule is asked for again.
    """

    qm9_index = param.Integer(default=None, allow_None=True, bounds=(1, None),
                              doc="QM9 index of the molecule last asked for (1-based, as in QM9)")

    def open_qm9(self, index: int) -> None:
        """Ask for QM9 molecule ``index`` in the displacement explorer."""
        index = int(index)
        if index == self.qm9_index:
            self.param.trigger("qm9_index")
        else:
            self.qm9_index = index


def connect(navigation: Navigation, explorer_state, tabs, explorer_tab: int = 0) -> None:
    """Answer ``navigation``'s requests: switch ``tabs`` to the explorer and load the molecule with
    ``explorer_state.choose`` (its default atom and axis); a molecule that cannot be loaded leaves
    the explorer's message saying why."""

    def on_request(event) -> None:
        if event.new is None:
            return
        # The tab first: a hidden tab's models are detached from the page, and updating them would
        # point their stylesheets at Panel's CDN (requests a classroom without internet cannot answer).
        tabs.active = explorer_tab
        try:
            explorer_state.choose("qm9", str(int(event.new)))
        except Exception:  # the explorer reports its own errors; the request must not break the caller
            log.exception("could not open QM9 #%s in the explorer", event.new)

    navigation.param.watch(on_request, "qm9_index")
