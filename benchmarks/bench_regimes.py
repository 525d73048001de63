"""ED across parameter regimes (issue 15): does the solve and the uniqueness decision finish, how
many iterations, how long, on a grid of regimes: the ratio of coherent to dissipative rates from
1e-2 to 1e3, local decay only, alpha / delta from 0.9 to 1.1, every rate scaled from 1e-2 to 1e2,
and the three inputs of the issue.

    .venv/bin/python benchmarks/bench_regimes.py --L 6 --bc open --solver iterative \
        [--preconditioner auto|heff|ilu] [--timeout 600]

Each point is one ``lindring solve`` process (its exit status is the outcome: 0 written, 3 not
converged / cannot decide, 4 failed verification). Appends to benchmarks/results/regimes.csv and
prints a markdown table. Timings depend on the machine's load (column load1).
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

MINIMAL = ["--preset", "minimal"]
GENERAL = ["--J0", "5", "--phi", "1.2", "--lam=1+0.5j", "--mu", "0.5", "--kappa", "0.1",
           "--eps-x", "0.3", "--eps-zz", "0.5", "--alpha=0.1+0.1j", "--delta", "0.1"]
#: name -> arguments; the reference point first (the minimal model of the paper's figures)
POINTS = {
    "reference a2 d1.5": MINIMAL + ["--alpha", "2", "--delta", "1.5"],
    # coherent / dissipative: J0 against alpha^2 = 1 (beta^2 = 0.5625)
    **{f"J0/rate {J0:g}": MINIMAL + ["--alpha", "1", "--delta", "0.75", "--J0", f"{J0:g}",
                                     "--phi", "0.8"] for J0 in (1e-2, 1, 3, 10, 100, 1000)},
    # local decay only (kappa), transverse field (issue 15, third input at kappa 0.2)
    **{f"local kappa {k:g}": ["--J0", "2", "--phi", "0.7", "--mu", "1", "--kappa", f"{k:g}",
                              "--eps-x", "0.5", "--eps-zz", "0.5"] for k in (0.02, 0.2, 2)},
    # near balance
    **{f"balance a/d {5 / d:.2f}": MINIMAL + ["--alpha", "5", "--delta", f"{d:g}"]
       for d in (5 / 0.9, 5.2, 5 / 1.1)},
    # every rate scaled (alpha, delta by sqrt(s), mu by s): same state, time unit s
    **{f"rates x{s:g}": MINIMAL + ["--alpha", f"{2 * s ** 0.5:g}", "--delta", f"{1.5 * s ** 0.5:g}",
                                   "--mu", f"{s:g}"] for s in (1e-2, 1e2)},
    # the inputs
    "issue: general model": GENERAL,
    "issue: strong hopping": MINIMAL + ["--J0", "5", "--phi", "0.8", "--alpha", "0.1",
                                        "--delta", "0.07"],
    "issue: small rates": MINIMAL + ["--alpha", "0.2", "--delta", "0.05"],
}
FIELDS = ["point", "L", "bc", "solver", "preconditioner", "status", "wall_s", "solve_s", "uniqueness_s",
          "iterations", "uniqueness_method", "error_estimate", "rows", "load1", "commit", "message",
          "cpu_s", "peak_mb"]


def run(name: str, L: int, bc: str, solver: str, timeout: float, preconditioner: str) -> dict:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    row = dict(point=name, L=L, bc=bc, solver=solver, load1=f"{os.getloadavg()[0]:.1f}",
               commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                     capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.nc"
        cmd = [LINDRING, "solve", "--method", "ed", "--bc", bc, "--L", str(L), "--solver", solver,
               "--preconditioner", preconditioner, *POINTS[name], "-o", str(out)]
        row["preconditioner"] = preconditioner
        timing = Path(tmp) / "time.txt"         # /usr/bin/time: user s, system s, peak RSS KB
        t0 = time.time()
        try:
            proc = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", str(timing), *cmd],
                                  env=env, capture_output=True, text=True, timeout=timeout)
            row["status"] = proc.returncode
            row["message"] = (proc.stderr.strip().splitlines() or [""])[-1][:160]
        except subprocess.TimeoutExpired:
            row["status"], row["message"] = "timeout", f"> {timeout:g} s"
        row["wall_s"] = f"{time.time() - t0:.1f}"
        try:
            user, system, rss = timing.read_text().split()[-3:]
            row["cpu_s"], row["peak_mb"] = f"{float(user) + float(system):.1f}", f"{int(rss) / 1024:.0f}"
        except (OSError, ValueError):
            pass
        if out.exists():
            with xr.open_dataset(out) as ds:
                a = ds.attrs
                row.update(solve_s=f"{a.get('solve_seconds', float('nan')):.2f}",
                           uniqueness_s=f"{a.get('uniqueness_seconds', float('nan')):.2f}",
                           iterations=a.get("solver_iterations", ""),
                           uniqueness_method=a.get("uniqueness_method", ""),
                           error_estimate=f"{float(ds.error_estimate):.1e}",
                           rows=a.get("basis_size", ""), message="",
                           preconditioner=a.get("preconditioner") or preconditioner)
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=6)
    ap.add_argument("--bc", default="open", choices=["open", "ring"])
    ap.add_argument("--solver", default="auto", choices=["auto", "direct", "iterative"])
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--preconditioner", default="auto", choices=["auto", "heff", "ilu"])
    ap.add_argument("--points", nargs="*", default=list(POINTS), choices=list(POINTS))
    args = ap.parse_args(argv)
    path = HERE / "results" / "regimes.csv"
    if path.exists():                  # older rows lack the later columns: rewrite the header
        with open(path, newline="") as f:
            old = list(csv.DictReader(f))
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, FIELDS)
            w.writeheader()
            w.writerows(old)
    new = not path.exists()
    rows = []
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        for name in args.points:
            row = run(name, args.L, args.bc, args.solver, args.timeout, args.preconditioner)
            w.writerow(row)
            f.flush()
            rows.append(row)
            print(f"{name:24s} status {row['status']}  {row['wall_s']} s  "
                  f"its {row.get('iterations', '')}  {row.get('message', '')}", flush=True)
    print("\n| point | preconditioner | status | wall (s) | CPU (s) | peak MB | iterations | uniqueness "
          "| error estimate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['point']} | {r['preconditioner']} | {r['status']} | {r['wall_s']} | "
              f"{r.get('cpu_s', '')} | {r.get('peak_mb', '')} | {r.get('iterations', '')} | "
              f"{r.get('uniqueness_method', '')} | {r.get('error_estimate', '')} |")


if __name__ == "__main__":
    main()
