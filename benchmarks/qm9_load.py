"""Time the embedded QM9: the first parse of qm9pack's CSVs, and later loads from the cache.

    python benchmarks/qm9_load.py [--repeats 5] [--json benchmarks/results/qm9_load.json]

Each load runs in a fresh Python process (what a user sees at start-up), against a cache in
a temporary folder; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SNIPPET = ("import time; t = time.perf_counter(); from wqml_dash.core.data import load_qm9; "
           "d = load_qm9(rebuild={rebuild}); print(time.perf_counter() - t, len(d))")


def _time(cache: str, rebuild: bool) -> float:
    out = subprocess.run([sys.executable, "-c", SNIPPET.format(rebuild=rebuild)], check=True,
                         capture_output=True, text=True, env={**os.environ, "WQML_CACHE_DIR": cache})
    return float(out.stdout.split()[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        parse = [_time(cache, rebuild=True) for _ in range(max(1, a.repeats // 2))]
        cached = [_time(cache, rebuild=False) for _ in range(a.repeats)]
    result = {"parse_median_s": statistics.median(parse), "cache_median_s": statistics.median(cached),
              "parse_s": parse, "cache_s": cached,
              "speedup": statistics.median(parse) / statistics.median(cached)}
    print(f"QM9 first parse {result['parse_median_s']:.2f} s, cached load "
          f"{result['cache_median_s']:.2f} s (median of {a.repeats}, import included)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
