#!/usr/bin/env bash
# Certified MPO benchmark (issue 12 targets): open chain, minimal model alpha = 2, delta = 1, CLI
# defaults (dt from the fastest rate, 4th order, Galerkin refinement to a relative residual of
# 1e-8, spectrum of the refined problem, two starts). ED beside it at L = 8. One row per run:
# wall time, CPU time (user; the fairer figure on a loaded machine), peak memory, the load average
# before and after, and the file's certificate.
#   benchmarks/bench_mpo_certified.sh [outdir] [L:chi ...]      (default: 8:64 30:64 100:64)
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
out=${1:-/tmp/lindring-mpo-certified}
shift || true
runs=${*:-8:64 30:64 100:64}
mkdir -p "$out"
base=(--bc open --preset minimal --alpha 2 --delta 1)
[ -f "$out/ed_L8.nc" ] || /usr/bin/time -f "ED L=8: %e s, peak %M KB" .venv/bin/lindring solve \
  --method ed "${base[@]}" --L 8 -o "$out/ed_L8.nc" > /dev/null
for run in $runs; do
  L=${run%%:*}; chi=${run##*:}
  tag="L${L}_chi${chi}"
  load0=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -o "$out/$tag.time" -f "%U %e %M %x" .venv/bin/lindring solve --method mpo \
    "${base[@]}" --L "$L" --chi "$chi" -o "$out/mpo_$tag.nc" 2> "$out/mpo_$tag.log" > /dev/null
  echo "$load0 $(cut -d' ' -f1 /proc/loadavg)" > "$out/$tag.load"
  grep -E "^lindring: error|mpo (not converged|bond dimension)" "$out/mpo_$tag.log" || true
done
.venv/bin/python - "$out" $runs <<'PY'
import os, sys
import numpy as np, xarray as xr
out, runs = sys.argv[1], sys.argv[2:]
ed = xr.open_dataset(f"{out}/ed_L8.nc")
print("| L | chi | relative residual | error_estimate | start difference | max |MPO - ED| "
      "| evolve + refine s | wall s | CPU s | peak MB | load before/after |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for run in runs:
    L, chi = run.split(":")
    tag = f"L{L}_chi{chi}"
    cpu, wall, peak, code = open(f"{out}/{tag}.time").read().split()[-4:]
    load = open(f"{out}/{tag}.load").read().split()
    f = f"{out}/mpo_{tag}.nc"
    if not os.path.exists(f):
        print(f"| {L} | {chi} | exit {code} | | | | | {float(wall):.0f} | {float(cpu):.0f} "
              f"| {int(peak) / 1024:.0f} "
              f"| {load[0]} / {load[1]} |")
        continue
    ds = xr.open_dataset(f)
    d = "-"
    if ds.sizes["site"] == 8:
        d = f"{max(np.abs(ds[k].values - ed[k].values).max() for k in ('current_eta', 'sz')):.1e}"
    print(f"| {L} | {chi} (reached {ds.attrs['chi_reached']}) | {float(ds.relative_residual):.2e} "
          f"| {float(ds.error_estimate):.1e} | {float(ds.start_difference):.1e} | {d} "
          f"| {ds.attrs['evolve_seconds']:.0f} + {ds.attrs['refine_seconds']:.0f} "
          f"| {float(wall):.0f} | {float(cpu):.0f} | {int(peak) / 1024:.0f} "
          f"| {load[0]} / {load[1]} |")
PY
