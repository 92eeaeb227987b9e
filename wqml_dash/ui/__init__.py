"""The Panel app: presentation only, the science lives in `wqml_dash.core` and `wqml_dash.runs`.

The shell is here: `app` (the template, the tabs, ``create_app``), `access` (who may connect),
`navigation` (one tab asking another to open a molecule), `layout` (small layout helpers) and
`assets` (the page's stylesheet). Each tab has its folder: `explorer`, `curves` and `data`.
"""
