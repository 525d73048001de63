"""Cost of the full-space uniqueness check without ``--gap`` (every sector's kernel counted
densely where 4^L <= ``gap.KERNEL_CHECK_MAX_WORDS``, i.e. L <= 5): the check alone
(:func:`lindring.solvers.gap.kernel_over_sectors`, the solved sector reused as in a solve)
against a whole in-process ``run_ed`` of the same point (which includes it), best of 3.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_kernel_check.py

Writes benchmarks/results/kernel_check.csv (overwrites) and prints a markdown table.
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

from lindring.core import model
from lindring.core.sectors import CharacterBasis, sector_labels
from lindring.solvers.gap import kernel_over_sectors
from lindring.solvers.methods import run_ed

HERE = Path(__file__).resolve().parent
CASES = [(L, bc, alpha) for L in (3, 4, 5) for bc in ("open", "ring") for alpha in (2.0, 2 + 0.6j)]


def best(f, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    rows = []
    for L, bc, alpha in CASES:
        p = model.make_params(L, bc=bc, preset="minimal", alpha=alpha, delta=1.5)
        sizes = [CharacterBasis(L, bc, lab).size for lab in sector_labels(p)]
        check = best(lambda: kernel_over_sectors(p, 4.0))
        solve = best(lambda: run_ed(p))
        rows.append(dict(L=L, bc=bc, alpha=str(alpha), sectors=len(sizes),
                         largest_rows=max(sizes), check_s=round(check, 4),
                         run_ed_s=round(solve, 4), load1=round(os.getloadavg()[0], 1)))
    out = HERE / "results" / "kernel_check.csv"
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print("| L | bc | alpha | sectors | largest | check s | run_ed s (with it) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['L']} | {r['bc']} | {r['alpha']} | {r['sectors']} | {r['largest_rows']} | "
              f"{r['check_s']} | {r['run_ed_s']} |")
    print(f"load {np.mean([r['load1'] for r in rows]):.1f}; wrote {out}")


if __name__ == "__main__":
    main()
