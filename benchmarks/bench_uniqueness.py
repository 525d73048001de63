"""Cost of the uniqueness decision (issue 10): the time of the kernel decision beside the time of
the linear solve, both from the same ``lindring solve`` run (attributes ``uniqueness_seconds`` and
``solve_seconds`` of its file), for rings L = 10, 11, 12 and open chains L = 9, 10.

    .venv/bin/python benchmarks/bench_uniqueness.py [--ranks 1] [--cases ring10 open9 ...]

Writes benchmarks/results/uniqueness.csv and prints a markdown table.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

HERE = Path(__file__).resolve().parent
LINDRING = str(Path(sys.executable).parent / "lindring")
CASES = {
    "ring10": ["--bc", "ring", "--L", "10", "--alpha", "2", "--delta", "1.5"],
    "ring11": ["--bc", "ring", "--L", "11", "--alpha", "2", "--delta", "1.5"],
    "ring12": ["--bc", "ring", "--L", "12", "--alpha", "2", "--delta", "1.5"],
    "open9": ["--bc", "open", "--L", "9", "--alpha", "2", "--delta", "1"],
    "open10": ["--bc", "open", "--L", "10", "--alpha", "2", "--delta", "1"],
}
FIELDS = ["case", "ranks", "rows", "nnz", "solver", "solve_s", "uniqueness_s", "ratio",
          "kernel_dim", "gap_estimate", "wall_s", "peak_mb_total", "load1", "commit", "method"]


def run(case: str, ranks: int) -> dict:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.nc"
        cmd = [LINDRING, "solve", "--method", "ed", "--preset", "minimal", *CASES[case], "-o", str(out)]
        if ranks > 1:
            cmd = ["mpiexec", "-n", str(ranks)] + cmd
        load1 = os.getloadavg()[0]
        t0 = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.time() - t0
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return dict(case=case, ranks=ranks, wall_s=round(wall, 1), load1=load1)
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            return dict(case=case, ranks=ranks, rows=a["basis_size"], nnz=a["nnz"],
                        solver=a["solver"], solve_s=round(a["solve_seconds"], 2),
                        uniqueness_s=round(a["uniqueness_seconds"], 2),
                        ratio=round(a["uniqueness_seconds"] / a["solve_seconds"], 3),
                        kernel_dim=int(ds.kernel_dim), gap_estimate=a["rightmost_eigenvalues"].split(",")[0],
                        wall_s=round(wall, 1), peak_mb_total=round(a["peak_memory_mb_total"]),
                        load1=round(load1, 2), commit=a["git_commit"][:12],
                        method=a["uniqueness_method"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--csv", default=str(HERE / "results" / "uniqueness.csv"))
    args = ap.parse_args()
    rows = []
    for case in args.cases:
        row = run(case, args.ranks)
        print(row, flush=True)
        rows.append(row)
    new = not Path(args.csv).exists()
    with open(args.csv, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerows(rows)
    print("| case | rows | solve (s) | decision (s) | decision / solve | kernel | load |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r.get('rows', '')} | {r.get('solve_s', '')} | "
              f"{r.get('uniqueness_s', '')} | {r.get('ratio', '')} | {r.get('kernel_dim', '')} | "
              f"{r['load1']} |")


if __name__ == "__main__":
    main()
