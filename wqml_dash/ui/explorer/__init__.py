"""The displacement explorer tab (the paper's Fig. 2, live).

`displacement_explorer` lays out the tab; `scan_state` keeps the molecule, the settings, d and the
result; `scan_plots` draws the energies; `frame_player` sends every grid point's values to the
page so the slider, Play and the link run in the browser; `cm_views`, `molecule_view` and
`upload_box` are the tab's own browser components (each with its ``.js``).
"""
