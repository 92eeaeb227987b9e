"""The data tab and the data every tab shares: `data_source` loads QM9 once per server (off the
event loop); `data_overview` shows and searches it and opens a molecule in the explorer."""
