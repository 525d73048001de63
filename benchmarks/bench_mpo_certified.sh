#!/usr/bin/env bash
# Certified MPO benchmark (issue 12): open chain, minimal model alpha = 2, delta = 1, CLI
# defaults (dt from the fastest rate, 4th order, refinement to a relative residual of 1e-8, two
# starts). ED beside it at L = 8. Prints wall time, peak memory and the file's certificate.
#   benchmarks/bench_mpo_certified.sh [outdir] [L ...]      (default L: 8 12 30)
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
out=${1:-/tmp/lindring-mpo-certified}
shift || true
Ls=${*:-8 12 30}
mkdir -p "$out"
base=(--bc open --preset minimal --alpha 2 --delta 1)
/usr/bin/time -f "ED L=8: %e s, peak %M KB" .venv/bin/lindring solve --method ed "${base[@]}" \
  --L 8 -o "$out/ed_L8.nc" > /dev/null
for L in $Ls; do
  for chi in 32 64; do
    /usr/bin/time -f "MPO L=$L chi=$chi: %e s, peak %M KB, exit %x" .venv/bin/lindring solve \
      --method mpo "${base[@]}" --L "$L" --chi "$chi" -o "$out/mpo_L${L}_chi${chi}.nc" \
      2> "$out/mpo_L${L}_chi${chi}.log" > /dev/null
    tail -1 "$out/mpo_L${L}_chi${chi}.log"
    grep -E "^lindring: error" "$out/mpo_L${L}_chi${chi}.log" || true
  done
done
.venv/bin/python - "$out" <<'PY'
import glob, sys
import numpy as np, xarray as xr
out = sys.argv[1]
ed = xr.open_dataset(f"{out}/ed_L8.nc")
for f in sorted(glob.glob(f"{out}/mpo_L*.nc")):
    ds = xr.open_dataset(f)
    line = (f"{f.split('/')[-1]}: relative residual {float(ds.relative_residual):.2e}, "
            f"start difference {float(ds.start_difference):.1e}, chi reached "
            f"{ds.attrs['chi_reached']}, evolve {ds.attrs['evolve_seconds']:.0f} s, refine "
            f"{ds.attrs['refine_seconds']:.0f} s")
    if ds.sizes["site"] == 8:
        d = max(np.abs(ds[k].values - ed[k].values).max() for k in ("current_eta", "sz"))
        line += f", max |MPO - ED| (current_eta, sz) {d:.1e}"
    print(line)
PY
