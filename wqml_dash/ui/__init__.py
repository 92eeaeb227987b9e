"""Panel views and the app shell. Presentation only: the science lives in `wqml_dash.core`."""
