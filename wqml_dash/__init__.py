"""wqml-dash: quantum machine learning with the Wasserstein metric.

A Panel dashboard, a Python library (`wqml_dash.core`) and the ``wqml`` command line.
"""

__version__ = "0.1.0"
