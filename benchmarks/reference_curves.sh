#!/usr/bin/env bash
# Computes the reference learning curves shipped in wqml_dash/reference/ (issue 13).
# Usage: benchmarks/reference_curves.sh STORE LOGDIR   (from the repository root)
# Three runs into one run store, one after the other, each timed; then
# `python -m wqml_dash.reference.build STORE` turns the store into the package data.
set -euo pipefail
store=${1:?store file}; logs=${2:?log folder}
mkdir -p "$logs"
wqml() { PYTHONPATH=$PWD nice -n 10 python -m wqml_dash.cli "$@"; }
run() {  # name, then the arguments of `wqml learning-curve`
    local tag=$1; shift
    echo "$(date -u +%FT%TZ) start $tag: wqml learning-curve $*" | tee -a "$logs/commands.txt"
    local t0=$(date +%s.%N)
    wqml learning-curve "$@" --store "$store" --quiet > "$logs/$tag.out" 2> "$logs/$tag.err"
    local t1=$(date +%s.%N)
    echo "$(date -u +%FT%TZ) end $tag: $(echo "$t1 - $t0" | bc) s" | tee -a "$logs/commands.txt"
}
run paper-seed0 --sizes 100,200,500,1000,2000,5000,10000 --seed 0 --name "Paper Fig. 3 (reference, seed 0)"
run paper-3seeds --sizes 100,200,500,1000,2000,4000 --seeds 0,1,2 --name "Paper Fig. 3 (reference, 3 seeds)"
run bob-seed0 --representation bob --series sorted:l1 --series sorted:w1 \
    --sizes 100,200,500,1000,2000,5000,10000 --seed 0 --name "Bag of Bonds (reference, seed 0)"
