"""Learning curves as jobs: `config` (a run's settings), `store` (SQLite, shared by the app and the
CLI), `executor` (runs a run's point tasks on Dask, records each point), `tasks` (what the Dask
workers run: the steps of `core.learn.plan`), `summary` (seed statistics of stored points),
`reference` (the reference curves shipped with the package) and the cluster helpers.

Imports point one way: ``ui -> runs -> core``.
"""
