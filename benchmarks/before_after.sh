#!/usr/bin/env bash
# Compare two checkouts of wqml-dash on the same machine, alternated twice (before, after, before, after):
# the Fig. 3 protocol at 1,000 and 4,000 training molecules (five series, 2,000 test molecules) in this
# process and on the embedded Dask cluster, and `wqml bench`.
#
#   git worktree add /tmp/before REV
#   benchmarks/before_after.sh /tmp/before . results/DIR
#
# Each checkout is put first on PYTHONPATH, so the installed wqml-dash is not the one measured.
set -u
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); OUT=$(realpath -m "$3"); mkdir -p "$OUT"
WORK=$(mktemp -d)
run() {  # $1 label, $2 checkout
  local label=$1 tree=$2
  export PYTHONPATH=$tree
  (cd "$WORK" && python -m wqml_dash.cli learning-curve --sizes 50 --test 100 --folds 3 --quiet > /dev/null 2>&1)  # warm numba caches
  (cd "$WORK" && /usr/bin/time -f "%e" -o "$OUT/$label-lc.time" python -m wqml_dash.cli learning-curve \
      --sizes 1000,4000 --test 2000 --quiet --json "$OUT/$label-lc.json" > "$OUT/$label-lc.txt" 2>&1)
  rm -f "$WORK/$label.sqlite"
  (cd "$WORK" && /usr/bin/time -f "%e" -o "$OUT/$label-dask.time" python -m wqml_dash.cli learning-curve \
      --sizes 1000,4000 --test 2000 --quiet --store "$WORK/$label.sqlite" --name bench > "$OUT/$label-dask.txt" 2>&1)
  (cd "$WORK" && python -m wqml_dash.cli bench --json "$OUT/$label-bench.json" > "$OUT/$label-bench.txt" 2>&1)
  unset PYTHONPATH
}
run before "$BEFORE"; run after "$AFTER"; run before2 "$BEFORE"; run after2 "$AFTER"
rm -rf "$WORK"
