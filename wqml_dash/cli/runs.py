"""``wqml runs``: list, show, export, resume and delete the runs of a run store.

The store is the one the app uses (``--store PATH``, else ``$WQML_STORE``, else the user data
directory), so runs started from a terminal, a cluster job or the app all show up here. The
reference runs shipped with wqml-dash (R1, R2, ...; `wqml_dash.runs.reference`) are listed too,
and can be shown and exported, but not resumed or deleted.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from .common import EXIT_INTERRUPTED, UsageError, run_id_type


def add_store_argument(parser) -> None:
    parser.add_argument("--store", type=Path, metavar="PATH",
                        help="run store file (default: $WQML_STORE, else runs.sqlite in the user data folder)")


def add_scheduler_argument(parser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler to run on, e.g. tcp://10.0.0.5:8786 (default: $WQML_SCHEDULER, "
                             "else a local cluster started for this command)")


def add_parser(sub) -> None:
    runs = sub.add_parser("runs", help="list, show, export, resume or delete stored runs",
                          description="Work with the runs recorded in a run store (the app's, by default).")
    rsub = runs.add_subparsers(dest="runs_command", required=True, parser_class=type(runs))

    p = rsub.add_parser("list", help="every run with its status and progress")
    add_store_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_list)

    p = rsub.add_parser("show", help="a run's settings and points")
    p.add_argument("id", type=run_id_type, help="run id, or R1, R2, ... for a reference run (see `wqml runs list`)")
    add_store_argument(p)
    p.set_defaults(func=run_show)

    p = rsub.add_parser("export", help="write a run's points as CSV and/or JSON")
    p.add_argument("id", type=run_id_type, help="run id, or R1, R2, ... for a reference run")
    p.add_argument("--csv", metavar="PATH", help="CSV of the points ('-' for standard output)")
    p.add_argument("--json", metavar="PATH", help="JSON of the run and its points ('-' for standard output)")
    add_store_argument(p)
    p.set_defaults(func=run_export)

    p = rsub.add_parser("resume", help="compute the missing points of an interrupted, cancelled or failed run")
    p.add_argument("id", type=run_id_type, help="run id")
    add_store_argument(p)
    add_scheduler_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true",
                   help="resume a run recorded as running by a process that cannot be checked (another host)")
    p.set_defaults(func=run_resume)

    p = rsub.add_parser("delete", help="delete a run and its points")
    p.add_argument("id", type=run_id_type, help="run id")
    add_store_argument(p)
    p.add_argument("--force", action="store_true", help="also delete a run another live process is computing")
    p.set_defaults(func=run_delete)


# --- helpers shared with `wqml learning-curve --store` --------------------------------------
def open_store(path: Path | None, must_exist: bool = True):
    """The run store at ``path`` (default location if None); UsageError if it cannot be used."""
    from ..runs.store import RunStore, StoreError, default_store_path

    target = default_store_path() if path is None else path
    if must_exist and path is not None and not target.exists():
        raise UsageError(f"no run store at {target}")
    try:
        return RunStore(target)
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def _tag(run_id: int) -> str:
    return f"R{-int(run_id)}" if run_id < 0 else str(int(run_id))


def _get_run(store, run_id: int) -> dict:
    """A stored run, or a reference run for a negative id; UsageError if there is none."""
    from ..runs.reference import reference_run

    if run_id < 0:
        try:
            return reference_run(run_id)
        except KeyError as exc:
            raise UsageError(str(exc).strip("'\"")) from None
    try:
        return store.get_run(run_id)
    except KeyError:
        raise UsageError(f"no run {run_id} in {store.path} (see `wqml runs list`)") from None


def _points(store, run_id: int):
    from ..runs.reference import reference_points

    return reference_points(run_id) if run_id < 0 else store.points(run_id)


def _read_only(run_id: int, action: str) -> None:
    if run_id < 0:
        raise UsageError(f"R{-run_id} is a reference run shipped with wqml-dash: it cannot be {action} "
                         "(launch a run of your own with `wqml learning-curve --store ...`)")


def make_executor(store, scheduler: str | None):
    """A `RunExecutor`, connected now so that a wrong address is a usage error, not a failed run."""
    from ..runs.executor import RunExecutor

    executor = RunExecutor(store, scheduler=scheduler)
    try:
        executor.start()
    except (OSError, TimeoutError) as exc:
        executor.close()
        raise UsageError(f"cannot reach the Dask scheduler at {executor.scheduler}: {exc}") from None
    return executor


def follow(executor, run_id: int, quiet: bool) -> int:
    """Show a run's progress on stderr until it ends; Ctrl-C leaves it interrupted (resumable).

    Returns the exit code: 0 finished, 1 failed or cancelled, 130 interrupted.
    """
    bar = None
    store = executor.store
    try:
        while run_id in executor.active_runs():
            if not quiet:
                p = executor.progress(run_id)
                if bar is None:
                    from tqdm import tqdm

                    bar = tqdm(total=p.total, file=sys.stderr, unit="point", dynamic_ncols=True, mininterval=0.5)
                bar.set_description_str(p.message[:60], refresh=False)
                bar.update(p.done - bar.n)
            time.sleep(0.25)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        # Stopping a cluster whose workers are mid-task makes the in-process scheduler log each broken
        # connection with a traceback: expected on Ctrl-C, and not the user's to read.
        import logging

        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        executor.close()
        print(format_points(store.points(run_id)), file=sys.stderr)
        print(f"wqml: interrupted; the points above are stored. Resume with: wqml runs resume {run_id} "
              f"--store {store.path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if bar is not None:
        p = executor.progress(run_id)
        bar.set_description_str(p.status, refresh=False)
        bar.update(p.done - bar.n)
        bar.close()
    run = store.get_run(run_id)
    if run["status"] != "finished":
        print(f"wqml: run {run_id} {run['status']}" + (f": {run['error']}" if run["error"] else ""),
              file=sys.stderr)
        return 1
    return 0


def format_points(df) -> str:
    """A plain-text table of stored points (a `RunStore.points` frame): sigma also as a multiple of
    the median training distance ('sigma/med', blank where not recorded), and '*' beside a sigma or
    lambda at the edge of the searched range, with a footnote (the ``at_edge`` column)."""
    from .search_flags import edge_marks, edge_note, format_factor

    head = (f"{'series':<11}{'seed':>5}{'n_train':>8}{'MAE':>10}{'RMSE':>10}{'sigma':>12}{'sigma/med':>11} "
            f"{'lambda':>9} {'seconds':>8}")
    lines, flags = [head, "-" * len(head)], []
    for r in df.sort_values(["series", "seed", "size"]).itertuples(index=False):
        at_edge = getattr(r, "at_edge", None)
        flags.append(at_edge)
        s_mark, l_mark = edge_marks(at_edge)
        factor = format_factor(getattr(r, "sigma_factor", None))
        lines.append(f"{r.series:<11}{r.seed:>5}{r.size:>8}{r.mae:>10.3f}{r.rmse:>10.3f}{r.sigma:>12.4g}"
                     f"{factor:>11}{s_mark}{r.lam:>9.0e}{l_mark}{r.seconds:>8.2f}")
    return "\n".join(lines + edge_note(flags))


def format_summary(df) -> str:
    """Mean and standard deviation of the MAE over seeds per (series, size)."""
    g = df.groupby(["series", "size"])["mae"].agg(["mean", "std", "count"]).reset_index()
    head = f"{'series':<11}{'n_train':>8}{'MAE mean':>10}{'std':>9}{'seeds':>6}"
    lines = [head, "-" * len(head)]
    for r in g.itertuples(index=False):
        std = "" if math.isnan(r.std) else f"{r.std:.3f}"
        lines.append(f"{r.series:<11}{r.size:>8}{r.mean:>10.3f}{std:>9}{r.count:>6}")
    return "\n".join(lines)


def _when(ts) -> str:
    return "" if ts is None or ts != ts else ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def run_json(store, run_id: int) -> dict:
    """A run and its points as JSON-able data (what `wqml runs export --json` writes); a reference
    run names the package data as its store and carries its provenance."""
    run = _get_run(store, run_id)
    info = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items()}
    from ..runs.export import public_points, run_data_name, run_unit

    points = _points(store, run_id).copy()
    points["finished"] = points["finished"].map(lambda t: t.isoformat())
    points = public_points(points, {run_id: run["config"]})
    where = "wqml_dash/runs/reference_data (shipped with wqml-dash, read-only)" if run_id < 0 else str(store.path)
    if run_id < 0:
        from ..runs.reference import reference_provenance

        info["id"] = _tag(run_id)
        info["provenance"] = {**reference_provenance(), **info["provenance"]}
    from .. import __version__

    return {"wqml_dash_version": __version__, "run": info, "store": where, "data": run_data_name(run["config"]),
            "target": (run["config"] or {}).get("target", "atomization_energy"), "unit": run_unit(run["config"]),
            "points": points.to_dict(orient="records")}


# --- subcommands ---------------------------------------------------------------------------
def run_list(args) -> int:
    from ..runs.reference import reference_runs

    store = open_store(args.store)
    store.mark_interrupted()  # runs of processes that died (killed, crashed) are not running any more
    runs = store.list_runs()
    references = reference_runs()
    if args.json:
        records = []
        for r in runs.to_dict(orient="records"):
            records.append({k: (v.isoformat() if hasattr(v, "isoformat") else (None if v != v else v))
                            for k, v in r.items()} | {"reference": False})
        for r in references.to_dict(orient="records"):
            records.append({k: (v.isoformat() if hasattr(v, "isoformat") else (None if v != v else v))
                            for k, v in r.items() if k != "provenance"} | {"id": _tag(r["id"]), "reference": True})
        print(json.dumps(records, indent=2))
        return 0
    if runs.empty:
        print(f"no runs in {store.path}")
    else:
        print(f"{'id':>4}  {'status':<12}{'points':>11}  {'created':<24}name")
    for r in runs.itertuples(index=False):
        data = (r.config or {}).get("data") if isinstance(getattr(r, "config", None), dict) else None
        data_name = str(data.get("name") or data.get("path")) if data else ""
        name = f"{r.name} [{data_name}]" if data_name and data_name not in r.name else r.name
        line = f"{r.id:>4}  {r.status:<12}{f'{r.n_done}/{r.n_total}':>11}  {_when(r.created):<24}{name}"
        if r.error:
            line += f"  [{r.error.splitlines()[0][:70]}]"
        print(line)
    print("\nreference runs (shipped with wqml-dash, read-only; `wqml runs show R1`):")
    print(f"{'id':>4}  {'status':<12}{'points':>11}  {'computed':<24}name")
    for r in references.itertuples(index=False):
        print(f"{_tag(r.id):>4}  {r.status:<12}{f'{r.n_done}/{r.n_total}':>11}  {_when(r.finished):<24}{r.name}")
    return 0


def run_show(args) -> int:
    store = open_store(args.store)
    store.mark_interrupted()
    run = _get_run(store, args.id)
    print(f"run {_tag(args.id)}: {run['name']}" + (" (reference, shipped with wqml-dash, read-only)"
                                                   if args.id < 0 else ""))
    print(f"  status    {run['status']} ({run['n_done']} of {run['n_total']} points)")
    for key in ("created", "started", "finished"):
        if run[key] is not None:
            print(f"  {key:<9} {_when(run[key])}")
    if run["error"]:
        print(f"  error     {run['error']}")
    if args.id < 0:
        from ..runs.reference import reference_provenance

        shared = reference_provenance()
        prov = run["provenance"]
        print(f"  command   {prov['command']}")
        print(f"  wall time {prov['wall_seconds']:.0f} s ({prov['started']} to {prov['ended']})")
        print(f"  made by   wqml-dash {shared['wqml_dash_version']} (commit {shared['commit'][:10]}) on "
              f"{shared['machine']['cpu']}, {shared['machine']['nproc']} cores")
    else:
        print(f"  store     {store.path}")
    from ..runs.export import run_data_name, run_unit

    print(f"  target    {run['config'].get('target', 'atomization_energy')} "
          f"({run_unit(run['config']) or 'unit not given'}) of {run_data_name(run['config'])}")
    print("settings")
    for key, value in run["config"].items():
        print(f"  {key:<15}{value}")
    points = _points(store, args.id)
    if points.empty:
        print("no points yet")
        return 0
    print(format_points(points))
    if points["seed"].nunique() > 1:
        print(format_summary(points))
    return 0


def _writable(path: str) -> Path | None:
    if path == "-":
        return None
    target = Path(path)
    if not target.parent.exists():
        raise UsageError(f"folder does not exist: {target.parent}")
    if target.is_dir():
        raise UsageError(f"{target} is a folder")
    return target


def run_export(args) -> int:
    if not args.csv and not args.json:
        raise UsageError("give --csv PATH and/or --json PATH")
    store = open_store(args.store)
    data = run_json(store, args.id)
    csv_path = _writable(args.csv) if args.csv else None
    json_path = _writable(args.json) if args.json else None
    try:
        if args.csv:
            from ..runs.export import public_points

            points = _points(store, args.id).copy()
            points["finished"] = points["finished"].map(lambda t: t.isoformat())
            text = public_points(points, {args.id: data["run"]["config"]}).to_csv(index=False)
            sys.stdout.write(text) if csv_path is None else csv_path.write_text(text)
        if args.json:
            text = json.dumps(data, indent=2) + "\n"
            sys.stdout.write(text) if json_path is None else json_path.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write: {exc.strerror}: {exc.filename}") from None
    written = [str(p) for p in (csv_path, json_path) if p is not None]
    if written:
        print(f"run {_tag(args.id)}: {len(data['points'])} points written to {', '.join(written)}", file=sys.stderr)
    return 0


def run_resume(args) -> int:
    _read_only(args.id, "resumed")
    store = open_store(args.store)
    run = _get_run(store, args.id)
    if run["status"] == "finished" and run["n_done"] == run["n_total"]:
        print(f"run {args.id} has finished already", file=sys.stderr)
        return 0
    from ..runs.store import ACTIVE_STATUSES, owner_alive

    if run["status"] in ACTIVE_STATUSES:
        alive = owner_alive(run["owner"])
        if alive or (alive is None and not args.force):
            hint = "" if alive else "; if it is no longer running, pass --force"
            raise UsageError(f"run {args.id} is {run['status']} in another process ({run['owner']}){hint}")
        store.set_status(args.id, "interrupted")
    executor = make_executor(store, args.scheduler)
    try:
        try:
            executor.resume(args.id)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        code = follow(executor, args.id, args.quiet)
        if code == 0:
            print(format_points(store.points(args.id)))
        return code
    finally:
        executor.close()


def run_delete(args) -> int:
    from ..runs.store import ACTIVE_STATUSES, owner_alive

    _read_only(args.id, "deleted")
    store = open_store(args.store)
    run = _get_run(store, args.id)
    if run["status"] in ACTIVE_STATUSES and owner_alive(run["owner"]) is not False and not args.force:
        raise UsageError(f"run {args.id} is {run['status']} in process {run['owner']}; stop it first "
                         "or pass --force")
    store.delete_run(args.id)
    print(f"deleted run {args.id} ({run['name']})", file=sys.stderr)
    return 0
