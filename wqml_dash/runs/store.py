"""The run store: runs and their learning-curve points in one SQLite file.

Safe for several threads and processes at once (the app, a CLI run, a notebook): WAL
journal, every write one ``BEGIN IMMEDIATE`` transaction on a short-lived connection, and a
busy timeout so concurrent writers wait for each other instead of failing. Points are
committed one by one as they finish, so a process that dies loses nothing finished.
Predictions (for parity plots) are float64 blobs in a side table.

The file's ``PRAGMA user_version`` is its schema version; a file from a newer wqml-dash is
refused with `StoreVersionError`, an older one migrated when opened (1 -> 2 adds the points' search
columns, NULL for older points). SQLite's WAL needs a local file system (not NFS/SMB).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.learn.results import CurvePoint, cv_table_from_json, cv_table_json
from ..core.learn.series import parse_series
from .config import RunConfig

#: Schema version this code writes (``PRAGMA user_version``); 2 added `SEARCH_COLUMNS` and cv_table.
SCHEMA_VERSION = 2

STATUSES: tuple[str, ...] = ("queued", "running", "finished", "failed", "cancelled", "interrupted")
#: Statuses of a run whose work is (supposed to be) going on.
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "running")
#: Statuses after which a run does not change unless resumed.
FINAL_STATUSES: tuple[str, ...] = ("finished", "failed", "cancelled")

RUN_COLUMNS = ("id", "name", "status", "created", "started", "finished", "error", "n_done", "n_total",
               "config", "owner")
POINT_COLUMNS = ("run_id", "series", "order", "metric", "size", "seed", "mae", "rmse", "sigma", "lam",
                 "cv_mae", "fit_seconds", "predict_seconds", "seconds", "finished")
#: The search's report, after `POINT_COLUMNS` in `RunStore.points` (schema 2; NULL for older points,
#: absent from the reference points): sigma / median distance, edges the optimum sits on ('' none).
#: Schema 1 -> 2 adds them and cv_table (JSON text, read by `RunStore.cv_table`).
SEARCH_COLUMNS = ("sigma_factor", "at_edge")
_MIGRATE_1_TO_2 = ("ALTER TABLE points ADD COLUMN sigma_factor REAL",
                   "ALTER TABLE points ADD COLUMN at_edge TEXT",
                   "ALTER TABLE points ADD COLUMN cv_table TEXT")

_SCHEMA = f"""
CREATE TABLE runs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    config    TEXT NOT NULL,
    n_total   INTEGER NOT NULL,
    created   TEXT NOT NULL,
    started   TEXT,
    finished  TEXT,
    error     TEXT,
    owner     TEXT
);
CREATE TABLE points (
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series          TEXT NOT NULL,
    "order"         TEXT NOT NULL,
    metric          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    seed            INTEGER NOT NULL,
    mae             REAL NOT NULL,
    rmse            REAL NOT NULL,
    sigma           REAL NOT NULL,
    lam             REAL NOT NULL,
    cv_mae          REAL,
    fit_seconds     REAL,
    predict_seconds REAL,
    seconds         REAL,
    finished        TEXT NOT NULL,
    sigma_factor    REAL,
    at_edge         TEXT,
    cv_table        TEXT,
    PRIMARY KEY (run_id, series, size, seed)
);
CREATE TABLE predictions (
    run_id  INTEGER NOT NULL,
    series  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    seed    INTEGER NOT NULL,
    y_pred  BLOB NOT NULL,
    PRIMARY KEY (run_id, series, size, seed),
    FOREIGN KEY (run_id, series, size, seed) REFERENCES points (run_id, series, size, seed) ON DELETE CASCADE
);
CREATE TABLE test_sets (
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seed    INTEGER NOT NULL,
    y_true  BLOB NOT NULL,
    rows    BLOB,
    PRIMARY KEY (run_id, seed)
);
CREATE INDEX runs_by_status ON runs(status);
"""


class StoreError(RuntimeError):
    """The store file cannot be used (unreadable, not a store, or from a newer version)."""


class StoreVersionError(StoreError):
    """The store was written by a newer wqml-dash (a higher schema version)."""


def default_store_path() -> Path:
    """``$WQML_STORE``, else ``runs.sqlite`` in the user data directory (platformdirs)."""
    env = os.environ.get("WQML_STORE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("wqml-dash", appauthor=False)) / "runs.sqlite"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _timestamp(text: str | None):
    return None if text is None else pd.Timestamp(text)


def process_id() -> str:
    """This process as ``host:pid:start-time``, recorded as the owner of the runs it works on."""
    import psutil

    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{psutil.Process(pid).create_time():.3f}"


def owner_alive(owner: str | None) -> bool | None:
    """Whether the process ``owner`` (a `process_id`) still runs; None if it is on another host."""
    import psutil

    if not owner:
        return False
    try:
        host, pid, started = owner.rsplit(":", 2)
        pid, started = int(pid), float(started)
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


class RunStore:
    """Runs and points in a SQLite file.

    Parameters
    ----------
    path : the file (created with its folder if missing); None: `default_store_path`
    timeout : seconds a writer waits for another one before giving up

    Raises
    ------
    StoreVersionError
        if the file has a newer schema than this code.
    StoreError
        if the file is not a SQLite database or cannot be opened.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0) -> None:
        self.path = Path(default_store_path() if path is None else path).expanduser().absolute()
        self.timeout = float(timeout)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of the store {self.path}: {exc.strerror}") from None
        if self.path.is_dir():
            raise StoreError(f"the store {self.path} is a folder, not a file")
        try:
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use {self.path} as a run store: {exc}") from None

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # --- connections ---------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection (one per call: safe across threads and forked processes)."""
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``IMMEDIATE`` takes the write lock up front, so two writers
        queue on the busy timeout instead of deadlocking on a lock upgrade."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _init_schema(self) -> None:
        with self._connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreVersionError(self._newer_message(version))
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        if version == SCHEMA_VERSION:
            return
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            if version > SCHEMA_VERSION:
                raise StoreVersionError(self._newer_message(version))
            if version == 0:
                tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
                if tables:
                    raise StoreError(f"{self.path} is a SQLite file of something else (tables "
                                     f"{sorted(t[0] for t in tables)}), not a wqml-dash run store")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version == 1:
                for statement in _MIGRATE_1_TO_2:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _newer_message(self, version: int) -> str:
        return (f"the run store {self.path} has schema version {version}, written by a newer wqml-dash "
                f"(this one reads up to version {SCHEMA_VERSION}); upgrade wqml-dash or use another store")

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    # --- runs ----------------------------------------------------------------------------
    def create_run(self, config: RunConfig | dict, status: str = "queued") -> int:
        """Record a new run; returns its id. ``config`` is validated through `RunConfig`."""
        cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(config)
        self._check_status(status)
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (name, status, config, n_total, created, owner) VALUES (?, ?, ?, ?, ?, ?)",
                (cfg.label(), status, json.dumps(cfg.to_dict()), len(cfg.tasks()), _now(),
                 process_id() if status in ACTIVE_STATUSES else None))
            return int(cur.lastrowid)

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; choose one of {list(STATUSES)}")

    def set_status(self, run_id: int, status: str, error: str | None = None) -> None:
        """Change a run's status. ``running`` stamps ``started`` (first time) and this process as
        owner; a final status stamps ``finished``; queued/running clear an old error.

        Raises
        ------
        KeyError
            if there is no such run.
        """
        self._check_status(status)
        now = _now()
        with self._write() as conn:
            row = conn.execute("SELECT started FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None:
                raise KeyError(f"no run {run_id}")
            if status in ACTIVE_STATUSES:
                conn.execute("UPDATE runs SET status = ?, error = NULL, finished = NULL, owner = ?, "
                             "started = CASE WHEN ? = 'running' THEN COALESCE(started, ?) ELSE started END "
                             "WHERE id = ?", (status, process_id(), status, now, int(run_id)))
            else:
                conn.execute("UPDATE runs SET status = ?, error = COALESCE(?, error), "
                             "finished = CASE WHEN ? IN ('finished', 'failed', 'cancelled') THEN ? END "
                             "WHERE id = ?", (status, error, status, now, int(run_id)))

    def rename_run(self, run_id: int, name: str) -> None:
        """Change a run's label."""
        with self._write() as conn:
            if conn.execute("UPDATE runs SET name = ? WHERE id = ?", (str(name), int(run_id))).rowcount == 0:
                raise KeyError(f"no run {run_id}")

    def _runs_query(self, where: str = "", params: tuple = ()) -> list[dict]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT r.id, r.name, r.status, r.created, r.started, r.finished, r.error, "
                "(SELECT COUNT(*) FROM points p WHERE p.run_id = r.id) AS n_done, r.n_total, r.config, r.owner "
                f"FROM runs r {where} ORDER BY r.id", params).fetchall()
        out = []
        for row in rows:
            d = dict(row)
            d["config"] = json.loads(d["config"])
            out.append(d)
        return out

    def list_runs(self) -> pd.DataFrame:
        """Every run, oldest first.

        Returns
        -------
        DataFrame with columns id, name, status, created, started, finished (UTC timestamps),
        error, n_done, n_total, config (dict), owner
        """
        df = pd.DataFrame(self._runs_query(), columns=list(RUN_COLUMNS))
        for col in ("created", "started", "finished"):
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
        for col in ("id", "n_done", "n_total"):
            df[col] = df[col].astype("int64")
        return df

    def fingerprint(self) -> tuple:
        """A cheap summary of the store that changes whenever a run is added, renamed, changes
        status or is deleted, or a point is added or removed (one query; a poller compares it
        before reading everything again).

        Returns
        -------
        tuple of (runs: str, number of points: int, newest point's rowid: int)
        """
        with self._connect() as conn:
            row = conn.execute(
                "SELECT (SELECT group_concat(id || ':' || status || ':' || n_total || ':' || name, char(10)) "
                "FROM runs), (SELECT COUNT(*) FROM points), (SELECT MAX(rowid) FROM points)").fetchone()
        return (row[0] or "", int(row[1]), int(row[2] or 0))

    def get_run(self, run_id: int) -> dict:
        """One run as a dict with the fields of a `list_runs` row. KeyError if missing."""
        rows = self._runs_query("WHERE r.id = ?", (int(run_id),))
        if not rows:
            raise KeyError(f"no run {run_id}")
        d = rows[0]
        for col in ("created", "started", "finished"):
            d[col] = _timestamp(d[col])
        return d

    def get_config(self, run_id: int) -> RunConfig:
        """The run's settings as a `RunConfig`."""
        return RunConfig.from_dict(self.get_run(run_id)["config"])

    def delete_run(self, run_id: int) -> None:
        """Delete a run with its points and predictions. KeyError if missing."""
        with self._write() as conn:
            if conn.execute("DELETE FROM runs WHERE id = ?", (int(run_id),)).rowcount == 0:
                raise KeyError(f"no run {run_id}")

    def mark_interrupted(self, *, force: bool = False) -> list[int]:
        """Mark queued/running runs whose process has died as ``interrupted``; returns their ids.

        A run's owner is the process that last set it running (`process_id`). Runs owned by a
        live process on this host, and (unless ``force``) by a process on another host, are left
        alone, so one store can serve an app and CLI runs at the same time.
        """
        with self._write() as conn:
            rows = conn.execute("SELECT id, owner FROM runs WHERE status IN ('queued', 'running')").fetchall()
            dead = [int(r["id"]) for r in rows if force or owner_alive(r["owner"]) is False]
            conn.executemany("UPDATE runs SET status = 'interrupted' WHERE id = ?", [(i,) for i in dead])
        return dead

    # --- points --------------------------------------------------------------------------
    def add_point(self, run_id: int, series: str, size: int, seed: int, point: CurvePoint,
                  y_test: np.ndarray | None = None) -> None:
        """Record one finished point (replacing an earlier one of the same series, size, seed).

        Parameters
        ----------
        run_id, series, size, seed : which point
        point : its result; ``point.predictions`` (n_test,) are stored when present
        y_test : (n_test,) reference values of the seed's test set, stored once per (run, seed)

        Raises
        ------
        KeyError
            if the run does not exist (any more).
        """
        order, metric = parse_series(series)
        seconds = point.fit_seconds + point.predict_seconds
        factor = getattr(point, "sigma_factor", float("nan"))
        table = cv_table_json(getattr(point, "cv_table", None))
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (int(run_id),)).fetchone() is None:
                raise KeyError(f"no run {run_id}")
            key = (int(run_id), series, int(size), int(seed))
            conn.execute(
                'INSERT OR REPLACE INTO points (run_id, series, "order", metric, size, seed, mae, rmse, sigma, lam, '
                "cv_mae, fit_seconds, predict_seconds, seconds, finished, sigma_factor, at_edge, cv_table) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key[0], series, order, metric, key[2], key[3], float(point.mae), float(point.rmse),
                 float(point.sigma), float(point.lam), float(point.cv_mae), float(point.fit_seconds),
                 float(point.predict_seconds), float(seconds), _now(), None if factor != factor else float(factor),
                 getattr(point, "at_edge", None), None if table is None else json.dumps(table)))
            if point.predictions is not None:
                conn.execute("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?)",
                             (*key, _blob(point.predictions)))
            if y_test is not None:
                conn.execute("INSERT OR IGNORE INTO test_sets (run_id, seed, y_true) VALUES (?, ?, ?)",
                             (key[0], key[3], _blob(y_test)))

    def set_test_set(self, run_id: int, seed: int, y_true: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Store a seed's test-set reference values (n_test,) and optionally its QM9 indices (n_test,)."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO test_sets (run_id, seed, y_true, rows) VALUES (?, ?, ?, ?)",
                         (int(run_id), int(seed), _blob(y_true),
                          None if rows is None else np.ascontiguousarray(rows, dtype="<i8").tobytes()))

    def test_set(self, run_id: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``(y_true (n_test,), rows (n_test,) or None)`` of one seed. KeyError if not stored."""
        with self._connect() as conn:
            row = conn.execute("SELECT y_true, rows FROM test_sets WHERE run_id = ? AND seed = ?",
                               (int(run_id), int(seed))).fetchone()
        if row is None:
            raise KeyError(f"no test set stored for run {run_id}, seed {seed}")
        rows = None if row["rows"] is None else np.frombuffer(row["rows"], dtype="<i8").astype(np.int64)
        return _array(row["y_true"]), rows

    def points(self, run_ids: Iterable[int] | int | None = None) -> pd.DataFrame:
        """Points of some runs (all if None), by run, seed, series and size.

        Returns
        -------
        DataFrame with columns run_id, series, order, metric, size, seed, mae, rmse (target units),
        sigma, lam, cv_mae, fit_seconds, predict_seconds, seconds, finished (UTC timestamp), then
        sigma_factor (sigma / median training distance; NaN: not recorded) and at_edge ('' inside
        the searched range, else e.g. 'sigma-high,lambda-low'; None: not recorded)
        """
        cols = ", ".join(f'"{c}"' for c in (*POINT_COLUMNS, *SEARCH_COLUMNS))
        where, params = "", ()
        if run_ids is not None:
            ids = [int(run_ids)] if isinstance(run_ids, int | np.integer) else [int(i) for i in run_ids]
            where, params = f"WHERE run_id IN ({', '.join('?' * len(ids))})", tuple(ids)
            if not ids:
                where = "WHERE 0"
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {cols} FROM points {where} ORDER BY run_id, seed, series, size",
                                params).fetchall()
        df = pd.DataFrame([tuple(r) for r in rows], columns=[*POINT_COLUMNS, *SEARCH_COLUMNS])
        df["finished"] = pd.to_datetime(df["finished"], utc=True, format="ISO8601")
        for col in ("run_id", "size", "seed"):
            df[col] = df[col].astype("int64")
        for col in (*POINT_COLUMNS[6:14], "sigma_factor"):
            df[col] = df[col].astype("float64")
        return df

    def cv_table(self, run_id: int, series: str, size: int, seed: int) -> pd.DataFrame | None:
        """One point's hyperparameter search: a DataFrame of every evaluated sigma, lam and its cv_mae
        (target units; inf where the solve failed), the point's (sigma, lam) among them; None for a
        point stored before the store kept CV tables. KeyError if there is no such point."""
        with self._connect() as conn:
            row = conn.execute("SELECT cv_table FROM points WHERE run_id = ? AND series = ? AND size = ? AND seed = ?",
                               (int(run_id), series, int(size), int(seed))).fetchone()
        if row is None:
            raise KeyError(f"no point of run {run_id}, {series}, size {size}, seed {seed}")
        if row[0] is None:
            return None
        return pd.DataFrame(cv_table_from_json(json.loads(row[0])), columns=["sigma", "lam", "cv_mae"])

    def predictions(self, run_id: int, series: str, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(y_true, y_pred)``, each (n_test,), of one point. KeyError if not stored."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT p.y_pred, t.y_true FROM predictions p JOIN test_sets t ON t.run_id = p.run_id "
                "AND t.seed = p.seed WHERE p.run_id = ? AND p.series = ? AND p.size = ? AND p.seed = ?",
                (int(run_id), series, int(size), int(seed))).fetchone()
        if row is None:
            raise KeyError(f"no predictions stored for run {run_id}, {series}, size {size}, seed {seed}")
        return _array(row["y_true"]), _array(row["y_pred"])

    def missing_tasks(self, run_id: int) -> list[tuple[str, int, int]]:
        """``(series, size, seed)`` of the run's configuration without a stored point, in run order."""
        config = self.get_config(run_id)
        with self._connect() as conn:
            done = {(r[0], r[1], r[2]) for r in conn.execute(
                "SELECT series, size, seed FROM points WHERE run_id = ?", (int(run_id),))}
        return [t for t in config.tasks() if t not in done]


def _blob(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8").astype(np.float64)
