"""Small layout helpers shared by the tabs."""

from __future__ import annotations

import re

import panel as pn


def lazy_card(build, **params) -> pn.Card:
    """A collapsed card whose contents (``build()``: a list of objects) are made when it is first opened.

    A new session then pays nothing for settings few people open (a tenth of the sidebar's models).
    """
    card = pn.Card(collapsed=True, **params)

    def fill(event):
        if not event.new and not card.objects:
            card.objects = build()

    card.param.watch(fill, "collapsed")
    return card


def number_input(cls, settings, name: str, label: str, on_refused, **kwargs):
    """A number box for the setting ``name`` of ``settings`` (a Parameterized), bounded as the parameter is.

    Like ``cls.from_param``, but a value the parameter refuses (out of bounds, empty where a
    number is needed) is answered in the alert, naming the bound, and the box returns to the
    value the scan keeps, instead of an exception in the server's log. The bounds are not given
    to the browser: its number box would silently keep an out-of-bounds value to itself (the box
    showed -0.1 while the scan went on with a step of 0.01). ``on_refused(message)`` says why.
    """
    widget = cls(label=label, value=getattr(settings, name), **kwargs)

    def push(event):
        try:
            settings.param.update({name: event.new})
        except ValueError as exc:
            reason = re.sub(r"^\w+ parameter '[^']*' ", "", str(exc).splitlines()[0])
            kept = getattr(settings, name)
            on_refused(f"{label.split(' (')[0]}: {reason} The scan keeps "
                       f"{'automatic' if kept is None else kept} (shown in the box).")
            widget.value = kept

    widget.param.watch(push, "value")
    settings.param.watch(lambda event: widget.param.update(value=event.new), name)
    return widget
