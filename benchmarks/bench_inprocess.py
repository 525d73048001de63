#!/usr/bin/env python
"""lindring against QuTiP in one process, the model built and solved inside the timing (issue 14's
"at least 10x faster than QuTiP's best method").

A whole-process comparison at L <= 6 measures Python's start-up and imports (about 1 s for either
tool), not the solver; here both run after their imports in the same Python process, one after the
other at each L, best of ``--repeat`` runs:

- lindring: ``lindring.api.solve(method="ed", ...)`` with every default (Pauli strings, the
  symmetry sectors, ``--solver auto``, the uniqueness probe, the verification and the observables
  included), minimal ring, alpha 2, delta 1.5;
- QuTiP: the model of ``bench_ed.qutip_model`` (built from MODEL.md alone), ``qt.liouvillian``
  and ``qt.steadystate`` with each method of ``--qutip-methods``; its Liouvillian build is
  included, no uniqueness check (QuTiP has none).

Both answers are compared (<sz_0>, <I_eta> on bond 0).

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/bench_inprocess.py --L 4 5 6 7

Prints a Markdown table and appends rows to ``benchmarks/results/inprocess.csv``.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
for k, v in dict(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                 OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1").items():
    os.environ.setdefault(k, v)


def time_lindring(L: int, repeat: int):
    from lindring import api
    best, ds = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ds = api.solve("ed", L=L, bc="ring", preset="minimal", alpha=2.0, delta=1.5)
        best = min(best, time.perf_counter() - t0)
    return best, float(ds["sz"][0]), float(ds["current_eta"][0])


def time_qutip(L: int, method: str, repeat: int):
    import numpy as np
    import qutip as qt
    from bench_ed import qutip_model
    kw = {}
    if method.startswith("iterative"):
        kw = dict(use_precond=True, rtol=1e-12, atol=0.0)   # as bench_ed.qutip_worker
    best, rho, ops = float("inf"), None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        H, c_ops, sz0, cur = qutip_model(L)
        rho = qt.steadystate(qt.liouvillian(H, c_ops), method=method, **kw)
        best = min(best, time.perf_counter() - t0)
        ops = (sz0, cur)
    return best, float(np.real(qt.expect(ops[0], rho))), float(np.real(qt.expect(ops[1], rho)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, nargs="+", default=[4, 5, 6, 7])
    ap.add_argument("--qutip-methods", nargs="+",
                    default=["direct", "iterative-gmres", "iterative-lgmres"])
    ap.add_argument("--qutip-max-L", type=int, default=7,
                    help="no QuTiP beyond (L = 8 did not finish in 600 s, README)")
    ap.add_argument("--direct-max-L", type=int, default=6,
                    help="QuTiP's direct LU beyond this L took over 600 s (README)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--csv", type=Path, default=HERE / "results" / "inprocess.csv")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    time_lindring(4, 1)                                  # PETSc's initialisation, once
    rows = []
    for L in a.L:
        load = os.getloadavg()[0]
        t_l, sz_l, cur_l = time_lindring(L, a.repeat)
        best = None
        if L <= a.qutip_max_L:
            for m in a.qutip_methods:
                if m == "direct" and L > a.direct_max_L:
                    continue
                t, sz, cur = time_qutip(L, m, a.repeat if L <= 6 else 1)
                if best is None or t < best[1]:
                    best = (m, t, sz, cur)
        row = dict(L=L, lindring_s=f"{t_l:.4f}", qutip_method=best[0] if best else "",
                   qutip_s=f"{best[1]:.4f}" if best else "",
                   speedup=f"{best[1] / t_l:.1f}" if best else "",
                   dsz0=f"{abs(best[2] - sz_l):.1e}" if best else "",
                   dcurrent0=f"{abs(best[3] - cur_l):.1e}" if best else "",
                   current_eta0=f"{cur_l:.12f}", load=f"{load:.2f}",
                   date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        rows.append(row)
        print(row, flush=True)
    new = not a.csv.exists()
    with open(a.csv, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            w.writeheader()
        w.writerows(rows)
    print("| L | lindring (in-process, every check) | QuTiP best (method) | speed-up | "
          "abs(d sz_0), abs(d I_eta) | load |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['L']} | {float(r['lindring_s']):.3f} s | "
              + (f"{float(r['qutip_s']):.3f} s ({r['qutip_method']}) | {r['speedup']}x | "
                 f"{r['dsz0']}, {r['dcurrent0']}" if r["qutip_s"] else "- | - | -")
              + f" | {r['load']} |")


if __name__ == "__main__":
    main()
