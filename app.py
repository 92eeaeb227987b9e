"""Start the dashboard: ``panel serve app.py`` (see README.md)."""

from wqml_dash.ui.app import create_app

create_app().servable(title="wqml-dash")
