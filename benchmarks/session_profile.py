"""What one new browser session costs the server, and where that time goes.

    PYTHONPATH=$PWD python benchmarks/session_profile.py [--sessions 7] [--json PATH]   # from a checkout's root

As `session_cost.py` (the shared tool): build the page from ``app.py``'s ``create_app``, run its onload
callbacks, serialise the document; the median over ``--sessions`` after two warm-ups, in wall time
and in this process's CPU time. Then one more session under cProfile: the functions of this
project (and Panel's, Bokeh's top-level steps) with the most cumulative time. Run it from an older
checkout's root for the "before" figure (the script needs nothing from the package it measures).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import runpy
import statistics
import tempfile
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=7)
    p.add_argument("--json", default=None)
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    os.environ.setdefault("WQML_STORE", os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
    import panel as pn
    from bokeh.document import Document

    build = runpy.run_path("app.py", run_name="wqml_session_profile")["create_app"]

    def session():
        doc = Document()
        t, c = time.perf_counter(), time.process_time()
        with pn.io.server.set_curdoc(doc):
            build().server_doc(doc)
            pn.state._on_load(doc)  # what the page's document_ready triggers
            doc.to_json()
        return time.perf_counter() - t, time.process_time() - c, len(doc.models)

    session(), session()
    runs = [session() for _ in range(a.sessions)]
    wall, cpu = [1000 * r[0] for r in runs], [1000 * r[1] for r in runs]
    prof = cProfile.Profile()
    prof.enable()
    session()
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = max(v[3] for v in stats.values())
    top = sorted(((f"{os.path.relpath(k[0]) if 'wqml_dash' in k[0] else os.path.basename(k[0])}:{k[2]}",
                   round(1000 * v[3], 1)) for k, v in stats.items()
                  if "wqml_dash" in k[0] or k[2] in {"server_doc", "to_json", "_on_load", "create_app", "get_root"}),
                 key=lambda kv: -kv[1])[:a.top]
    out = {"cwd": os.getcwd(), "sessions": a.sessions, "wall_ms": {"median": round(statistics.median(wall), 1),
           "min": round(min(wall), 1), "max": round(max(wall), 1)},
           "cpu_ms": {"median": round(statistics.median(cpu), 1), "min": round(min(cpu), 1), "max": round(max(cpu), 1)},
           "bokeh_models": runs[-1][2], "profiled_session_ms": round(1000 * total, 1),
           "profile_top_cumulative_ms": dict(top), "load_average": os.getloadavg()}
    print(f"one new session: {out['wall_ms']['median']:.0f} ms wall, {out['cpu_ms']['median']:.0f} ms CPU "
          f"(median of {a.sessions}), {out['bokeh_models']} Bokeh models; load average {out['load_average'][0]:.1f}")
    for name, ms in top[:12]:
        print(f"  {ms:8.1f} ms  {name}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
