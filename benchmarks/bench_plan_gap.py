"""Peak memory of ``lindring solve --gap`` against ``lindring plan --gap`` (the gap's phase of
the plan, src/lindring/workflow/plan.py: :func:`gap_memory`).

    .venv/bin/python benchmarks/bench_plan_gap.py [--cases open6 open8 ring8 ...] [--ranks 1]

Each case runs ``lindring solve`` under ``/usr/bin/time -v`` (its maximum resident set size: the
largest process, a child world of another PETSc build included) and reads the file's
``peak_memory_mb_max_rank``; ``lindring plan --json`` of the same point and options gives the
plan's peak per rank and its phases. Writes benchmarks/results/plan_gap.csv (a rerun of a case
replaces its row; ``--replan``: the plan's columns of every row, after a change of the model)
and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from keyed_csv import load_keyed, save_keyed  # noqa: E402

HERE = Path(__file__).resolve().parent
LINDRING = str(Path(sys.executable).parent / "lindring")
#: the default model (J0 = 1 ...) with alpha = delta = 1 (no reflection on the open chain: the
#: parity sector, shift-and-invert up to L = 8), and the minimal model (alpha 2, delta 1.5 / 1,
#: reflection-symmetric)
CASES = {
    **{f"open{L}": ["--bc", "open", "--L", str(L), "--alpha", "1", "--delta", "1"]
       for L in range(6, 11)},
    **{f"open{L}m": ["--bc", "open", "--L", str(L), "--preset", "minimal", "--alpha", "2",
                     "--delta", "1"] for L in range(6, 11)},
    **{f"ring{L}": ["--bc", "ring", "--L", str(L), "--preset", "minimal", "--alpha", "2",
                    "--delta", "1.5"] for L in range(6, 11)},
    **{f"ring{L}c": ["--bc", "ring", "--L", str(L), "--preset", "minimal", "--alpha=2+0.6j",
                     "--delta", "1.5"] for L in range(6, 11)},
}
MODES = {"none": [], "solved": ["--gap", "--gap-sectors", "solved"], "all": ["--gap"]}
FIELDS = ["case", "mode", "ranks", "rows", "solver", "shift_invert", "measured_mb_time",
          "measured_mb_file", "plan_mb", "plan_phase", "plan_over_measured", "wall_s", "cpu_s",
          "plan_expected_min", "load1", "commit"]
KEY = ("case", "mode", "ranks")


def env() -> dict:
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                OMPI_MCA_rmaps_base_oversubscribe="1")


def plan(case: str, mode: str, ranks: int) -> dict:
    cmd = [LINDRING, "plan", "--method", "ed", *CASES[case], *MODES[mode], "--json",
           "--max-tasks", str(ranks), "--mem-per-rank-mb", "1"]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env(),
                                    check=True).stdout)
    return out


def run(case: str, mode: str, ranks: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-plan-gap-") as tmp:
        out = Path(tmp) / "x.nc"
        cmd = [LINDRING, "solve", "--method", "ed", *CASES[case], *MODES[mode], "-o", str(out)]
        if ranks > 1:
            cmd = ["mpiexec", "-n", str(ranks)] + cmd
        load1 = os.getloadavg()[0]
        t0 = time.time()
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                              env=env())
        wall = time.time() - t0
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)",
                                               proc.stderr))
        row = dict(case=case, mode=mode, ranks=ranks, wall_s=round(wall, 1), cpu_s=round(cpu, 1),
                   load1=round(load1, 2),
                   measured_mb_time=round(int(rss.group(1)) / 1024) if rss else "")
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return row
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            row.update(rows=a["basis_size"], solver=a["solver"],
                       shift_invert=a.get("shift_invert", ""),
                       measured_mb_file=round(float(a["peak_memory_mb_max_rank"])),
                       commit=a["git_commit"][:12])
    return with_plan(row)


def with_plan(row: dict) -> dict:
    """``row`` with the plan's columns of its case (today's plan; ``--replan`` refreshes them
    for the rows measured before a change of the model)."""
    ranks = int(row["ranks"])
    p = plan(row["case"], row["mode"], ranks)
    parts = p["memory_parts_mb"]
    phase = max((k for k in ("basis", "assembly", "solve", "spectrum", "sectors") if k in parts),
                key=lambda k: parts[k])
    measured = max(float(row.get("measured_mb_time") or 0),
                   float(row.get("measured_mb_file") or 0))
    row.update(plan_mb=round(p["mem_mb_per_task"]), plan_phase=phase,
               plan_expected_min=p["expected_min"],
               plan_over_measured=round(p["mem_mb_per_task"] / measured, 2) if measured else "")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--cases", nargs="+", default=["open6", "open7", "open8", "ring8"])
    ap.add_argument("--modes", nargs="+", default=["none", "all"])
    ap.add_argument("--replan", action="store_true",
                    help="recompute the plan's columns of every stored row, measure nothing")
    args = ap.parse_args()
    path = HERE / "results" / "plan_gap.csv"
    rows = load_keyed(path, KEY)
    if args.replan:
        rows = {k: with_plan(r) for k, r in rows.items()}
        save_keyed(path, rows, FIELDS, order=lambda k: (k[0], k[1], int(k[2])))
        args.cases = []
    for case in args.cases:
        for mode in args.modes:
            row = run(case, mode, args.ranks)
            print(row, flush=True)
            rows[tuple(str(row[k]) for k in KEY)] = row
            save_keyed(path, rows, FIELDS, order=lambda k: (k[0], k[1], int(k[2])))
    print("| case | mode | ranks | rows | solver | measured MB (time -v / file) | plan MB (phase) "
          "| plan / measured |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows.values():
        print(f"| {r['case']} | {r['mode']} | {r['ranks']} | {r.get('rows', '')} | "
              f"{r.get('solver', '')} | {r.get('measured_mb_time', '')} / "
              f"{r.get('measured_mb_file', '')} | {r.get('plan_mb', '')} ({r.get('plan_phase', '')})"
              f" | {r.get('plan_over_measured', '')} |")


if __name__ == "__main__":
    main()
