"""Learning curves as jobs: `config` (a run's settings), `store` (SQLite, shared by the app and the
CLI), `executor` (runs a run's plan on Dask, records each point; `cluster`: the Dask cluster it
uses; `progress`: how far a run has come), `tasks` (what the Dask workers run: the steps of
`core.learn.plan`), `summary` (seed statistics of stored points), `export` (CSV and JSON downloads),
`reference` (the reference curves shipped with the package) and `shared_cluster` (one cluster for
the processes of ``wqml serve --num-procs``).

Imports point one way: ``ui -> runs -> core``.
"""
