"""Cost of the Liouvillian gap over all sectors (issue 14, item 4): one ``lindring solve`` without
the gap, one with ``--gap --gap-sectors solved`` and one with ``--gap`` (all sectors), per case;
the file's ``wall_seconds``, ``gap_seconds``, peak memory, the gap and its sector.

    .venv/bin/python benchmarks/bench_gap.py [--ranks 1] [--cases ring8 ring10 open8 ...]

Writes benchmarks/results/gap.csv (appends) and prints a markdown table.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xarray as xr

HERE = Path(__file__).resolve().parent
LINDRING = str(Path(sys.executable).parent / "lindring")
CASES = {
    "ring8": ["--bc", "ring", "--L", "8", "--alpha", "2", "--delta", "1.5"],
    "ring10": ["--bc", "ring", "--L", "10", "--alpha", "2", "--delta", "1.5"],
    "ring8c": ["--bc", "ring", "--L", "8", "--alpha=2+0.6j", "--delta", "1.5"],
    "ring10c": ["--bc", "ring", "--L", "10", "--alpha=2+0.6j", "--delta", "1.5"],
    "open8": ["--bc", "open", "--L", "8", "--alpha", "2", "--delta", "1"],
    "open10": ["--bc", "open", "--L", "10", "--alpha", "2", "--delta", "1"],
}
MODES = {"none": [], "solved": ["--gap", "--gap-sectors", "solved"], "all": ["--gap"]}
FIELDS = ["case", "mode", "ranks", "rows", "wall_s", "cpu_s", "gap_s", "peak_mb_max_rank", "gap",
          "gap_sector", "sectors", "complete", "load1", "commit"]


def run(case: str, mode: str, ranks: int) -> dict:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.nc"
        cmd = [LINDRING, "solve", "--method", "ed", "--preset", "minimal", *CASES[case],
               *MODES[mode], "-o", str(out)]
        if ranks > 1:
            cmd = ["mpiexec", "-n", str(ranks)] + cmd
        load1 = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.time() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        row = dict(case=case, mode=mode, ranks=ranks, wall_s=round(wall, 1), cpu_s=round(cpu, 1),
                   load1=round(load1, 2))
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return row
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            row.update(rows=a["basis_size"], gap_s=round(float(a["gap_seconds"]), 1),
                       peak_mb_max_rank=round(a["peak_memory_mb_max_rank"]),
                       gap=f"{float(ds.gap):.6g}", gap_sector=a["gap_sector"],
                       sectors=a["gap_sectors_searched"], complete=a["gap_complete"],
                       commit=a["git_commit"][:12])
        return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--cases", nargs="+", default=["ring8", "ring10", "open8"])
    ap.add_argument("--modes", nargs="+", default=list(MODES))
    args = ap.parse_args()
    path = HERE / "results" / "gap.csv"
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        if new:
            w.writeheader()
        print("| case | mode | ranks | rows | wall s | CPU s | gap search s | peak MB | gap | sector |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for case in args.cases:
            for mode in args.modes:
                row = run(case, mode, args.ranks)
                w.writerow(row)
                fh.flush()
                print(" | ".join(str(row.get(k, "")) for k in
                                 ("case", "mode", "ranks", "rows", "wall_s", "cpu_s", "gap_s",
                                  "peak_mb_max_rank", "gap", "gap_sector")), flush=True)


if __name__ == "__main__":
    main()
