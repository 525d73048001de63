"""Warm starts on the Fig. 4 theta scan (issue 14, item 5): each point solved cold and warm
(``--initial-guess`` = the saved state of the previous theta of the same r, as a one-core
warm-started sweep finds it), with the iterations of the solve and of the probe (uniqueness),
their times, the CPU time of the whole process and the guess's starting residual.

    nice -n 10 .venv/bin/python benchmarks/bench_warm.py --L 4 --solver iterative
    nice -n 10 .venv/bin/python benchmarks/bench_warm.py --L 10 --r 2 --skip-ends
    nice -n 10 .venv/bin/python benchmarks/bench_warm.py --L 12 --r 2 --theta-index 8 12

theta runs over Fig. 4's 25 values (0 to pi/2, step pi/48; ``--theta-num``), r over 1, 2, 5
(``--r``). ``--skip-ends`` leaves out theta = 0 and pi/2 (non-unique on even rings: the
spectrum search, not the linear solve, decides them). Appends to
benchmarks/results/warm_start.csv (``--csv``) and prints a markdown summary per (L, r).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from lindring.core.model import polar
from lindring.workflow.studies import canonical, format_value

HERE = Path(__file__).resolve().parent
LINDRING = str(Path(sys.executable).parent / "lindring")
FIELDS = ["L", "r", "theta", "start", "solver", "rows", "its", "probe_its", "guess_residual",
          "solve_s", "uniqueness_s", "wall_s", "cpu_s", "uniqueness_method", "current_eta",
          "max_diff_vs_cold", "max_rel_diff_vs_cold", "error_estimate", "load1", "commit"]
OBSERVABLES = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair")


def solve(out: Path, L: int, r: float, theta: float, solver: str, ranks: int, extra=()):
    """One ``lindring solve`` process; its file's dataset and the process's CPU seconds."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    # the point as the workflow writes it (theta = pi/2 is alpha = 0 exactly, not 6e-17)
    alpha, delta = (format_value(canonical(v, abs(r))) for v in polar(r, theta))
    cmd = [LINDRING, "solve", "--quiet", "--method", "ed", "--L", str(L), "--preset", "minimal",
           f"--alpha={alpha}", f"--delta={delta}", f"--solver={solver}", "-o", str(out),
           *map(str, extra)]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks)] + cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"FAILED L={L} r={r} theta={theta}: {proc.stderr[-500:]}", file=sys.stderr)
        return None, cpu, time.time() - t0
    with xr.open_dataset(out) as ds:
        return ds.load(), cpu, time.time() - t0


def row(ds, L, r, theta, start, solver, cpu, wall, cold=None, commit=""):
    diff = rel = float("nan")
    if cold is not None and ds is not None and np.isfinite(cold["purity"].values):
        diffs = {k: float(np.nanmax(np.abs(ds[k].values - cold[k].values))) for k in OBSERVABLES}
        diff = max(diffs.values())
        # relative to the observable's size (current_eta ~ |eta| = r^2 at r = 5 is ~10)
        rel = max(d / max(float(np.nanmax(np.abs(cold[k].values))), 1.0)
                  for k, d in diffs.items())
    a = ds.attrs if ds is not None else {}
    return dict(L=L, r=r, theta=round(theta, 6), start=start, solver=solver,
                rows=a.get("basis_size", ""), its=a.get("solver_iterations", ""),
                probe_its=a.get("probe_iterations", ""),
                guess_residual=a.get("initial_guess_residual", ""),
                solve_s=a.get("solve_seconds", ""), uniqueness_s=a.get("uniqueness_seconds", ""),
                wall_s=round(wall, 2), cpu_s=round(cpu, 2),
                uniqueness_method=a.get("uniqueness_method", ""),
                current_eta=float(ds.current_eta.mean()) if ds is not None else "",
                max_diff_vs_cold=diff, max_rel_diff_vs_cold=rel,
                error_estimate=float(ds["error_estimate"]) if ds is not None else "", load1=round(os.getloadavg()[0], 1), commit=commit)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, default=4)
    ap.add_argument("--r", type=float, nargs="+", default=[1.0, 2.0, 5.0])
    ap.add_argument("--theta-num", type=int, default=25)
    ap.add_argument("--skip-ends", action="store_true")
    ap.add_argument("--theta-index", type=int, nargs=2, metavar=("FIRST", "LAST"),
                    help="only the thetas of these indices (inclusive) of the theta-num values")
    ap.add_argument("--solver", default="iterative")
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--extrapolate", action="store_true",
                    help="warm start from the linear extrapolation 2 x(theta_-1) - x(theta_-2) "
                         "of the two previous states (trace 1 still) where there are two")
    ap.add_argument("--csv", default=str(HERE / "results" / "warm_start.csv"))
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    thetas = [canonical(t, math.pi / 2) for t in np.linspace(0, math.pi / 2, args.theta_num)]
    if args.theta_index:
        thetas = thetas[args.theta_index[0]:args.theta_index[1] + 1]
    if args.skip_ends:
        thetas = [t for t in thetas if 0 < t < math.pi / 2 - 1e-12]
    rows = []
    path = Path(args.csv)
    new = not path.exists()
    out = open(path, "a", newline="")          # a row per solve as it comes (a run may be cut)
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    if new:
        writer.writeheader()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in args.r:
            previous = None        # the state of the previous theta of this r (warm sweep)
            before = None          # and the one before (--extrapolate)
            for i, theta in enumerate(thetas):
                cold, cpu, wall = solve(tmp / "cold.nc", args.L, r, theta, args.solver,
                                        args.ranks)
                rows.append(row(cold, args.L, r, theta, "cold", args.solver, cpu, wall,
                                commit=commit))
                state = tmp / f"state{i}.nc"
                extra = ["--save-state", state]
                guess, start = previous, "warm"
                if args.extrapolate and previous is not None and before is not None:
                    guess, start = extrapolate(before, previous, tmp / f"extra{i}.nc"), "extrapolated"
                if guess is not None:
                    extra += ["--initial-guess", guess, "--initial-guess-fallback"]
                warm, cpu, wall = solve(tmp / "warm.nc", args.L, r, theta, args.solver,
                                        args.ranks, extra)
                rows.append(row(warm, args.L, r, theta, start if previous else "warm-first",
                                args.solver, cpu, wall, cold=cold, commit=commit))
                if state.exists():
                    before, previous = previous, state
                writer.writerows(rows[-2:])
                out.flush()
                print(f"L={args.L} r={r} theta={theta:.4f}: cold its {rows[-2]['its']} "
                      f"probe {rows[-2]['probe_its']} cpu {rows[-2]['cpu_s']}; warm its "
                      f"{rows[-1]['its']} probe {rows[-1]['probe_its']} cpu {rows[-1]['cpu_s']} "
                      f"guess residual {rows[-1]['guess_residual']} diff "
                      f"{rows[-1]['max_diff_vs_cold']:.1e}", flush=True)
    out.close()
    summarise(rows)


def extrapolate(x0_path, x1_path, out):
    """A state file holding 2 x1 - x0 (the linear extrapolation in theta of two states of the
    same space, equally spaced; trace 1), for ``--initial-guess``."""
    from lindring.io import state
    h0, h1 = state.read_header(x0_path), state.read_header(x1_path)
    values = 2 * state.read_values(h1) - state.read_values(h0)
    state.write_state(out, values, {k: h1[k] for k in state.MATCHED},
                      {k: v for k, v in h1.items() if k.endswith(("_re", "_im")) or k == "mu"})
    return out


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def summarise(rows):
    print("\n| L | r | points | its cold / warm | probe its cold / warm | solve s cold / warm "
          "| uniqueness s cold / warm | CPU s cold / warm | guess residual (median) | "
          "max diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(x["L"], x["r"]) for x in rows})
    for L, r in keys:
        cold = [x for x in rows if (x["L"], x["r"]) == (L, r) and x["start"] == "cold"]
        warm = [x for x in rows if (x["L"], x["r"]) == (L, r)
                and x["start"] in ("warm", "extrapolated")]
        thetas = {x["theta"] for x in warm}
        cold = [x for x in cold if x["theta"] in thetas]      # the pairs where warm had a guess

        def tot(xs, k):
            return np.nansum([_num(x[k]) for x in xs])
        print(f"| {L} | {r:g} | {len(warm)} | {tot(cold, 'its'):.0f} / {tot(warm, 'its'):.0f} | "
              f"{tot(cold, 'probe_its'):.0f} / {tot(warm, 'probe_its'):.0f} | "
              f"{tot(cold, 'solve_s'):.1f} / {tot(warm, 'solve_s'):.1f} | "
              f"{tot(cold, 'uniqueness_s'):.1f} / {tot(warm, 'uniqueness_s'):.1f} | "
              f"{tot(cold, 'cpu_s'):.1f} / {tot(warm, 'cpu_s'):.1f} | "
              f"{np.nanmedian([_num(x['guess_residual']) for x in warm]):.1e} | "
              f"{np.nanmax([_num(x['max_diff_vs_cold']) for x in warm] + [0]):.1e} |")


if __name__ == "__main__":
    main()
