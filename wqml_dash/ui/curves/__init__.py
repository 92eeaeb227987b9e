"""The learning-curves tab (the paper's Fig. 3): launch, watch, cancel, store and compare runs.

`learning_curves_tab` lays out the tab; `run_form` is the form that starts a run; `runs_table`
lists the stored runs; `curve_plots` and `parity_plots` draw the curves and one point in detail;
`runs_service` holds the store and executor that the sessions of one server share.
"""
