"""Science: QM9 data, Coulomb matrices, L1/L2/W1 metrics and kernels, KRR, learning curves.

Nothing in here imports panel, holoviews or bokeh.
"""
