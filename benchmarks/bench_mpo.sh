#!/usr/bin/env bash
# MPO benchmark: open chain, minimal model alpha = 2, delta = 1, 4th-order TEBD, dt = 0.1.
# Prints wall time and peak memory (GNU time) and lindring's own summary line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
out=${1:-/tmp/lindring-mpo-bench}
mkdir -p "$out"
for L in 10 20 30; do
  for chi in 16 32; do
    /usr/bin/time -f "L=$L chi=$chi: %e s, peak %M KB" .venv/bin/lindring solve --method mpo \
      --bc open --L "$L" --preset minimal --alpha 2 --delta 1 --chi "$chi" --dt 0.1 --order 4 \
      -o "$out/mpo_L${L}_chi${chi}.nc" 2>&1 | grep -E "converged at|^L="
  done
done
