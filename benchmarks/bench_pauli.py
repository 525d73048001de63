#!/usr/bin/env python
"""Benchmark the Pauli-string path (issue 14) against today's complex matrix-unit path.

Model: minimal preset, ring, alpha = 2, delta = 1.5 (bench_ed.py). Configurations:

``old``
    ``--basis matrix-units --symmetry parity+momentum``: the path of main before issue 14
    (complex matrix units, parity x momentum zero).
``new``
    ``--basis auto --symmetry auto``: Pauli strings (a real matrix) in parity x momentum zero x
    reflection-even; since the real build is wired (series ``real``) the matrix is held in the
    real-scalar PETSc build, before (rows without a series or ``restart40``) in the complex one.
``default``
    ``lindring solve --method ed --L ...`` with nothing else (the issue's targets): ``new`` with
    ``--solver auto`` and every default.

Each run is one ``lindring solve`` in its own process under bench_ed.run_measured (wall time,
peak memory of the whole process tree sampled every 0.2 s, memory limit and timeout); the
uniqueness check is the default (probe solve). Extra PETSc options for a configuration go after
``--petsc`` (e.g. ``-ksp_gmres_restart 40`` for L = 14). The load average of the machine is
recorded beside each run (``uptime``), since the machine is shared.

    .venv/bin/python benchmarks/bench_pauli.py --L 10 12 --configs old new
    .venv/bin/python benchmarks/bench_pauli.py --L 14 --configs new --series restart40 \\
        --petsc -ksp_gmres_restart 40
    .venv/bin/python benchmarks/bench_pauli.py --table

Results: ``benchmarks/results/pauli.csv`` (merged by key: L, ranks, config, series).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from keyed_csv import load_keyed, save_keyed  # noqa: E402
from bench_ed import ALPHA, DELTA, VENV_BIN, run_measured  # noqa: E402

CSV = HERE / "results" / "pauli.csv"
CONFIGS = {"old": ["--solver", "iterative", "--basis", "matrix-units", "--symmetry",
                   "parity+momentum"],
           "new": ["--solver", "iterative", "--basis", "auto", "--symmetry", "auto"],
           "default": []}
FIELDS = ["L", "ranks", "config", "series", "status", "operator_basis", "symmetry", "wall_s", "solve_s", "assembly_s",
          "peak_mb_sampled_tree", "time_maxrss_mb", "basis_size", "nnz", "iterations",
          "probe_iterations", "uniqueness", "residual", "current_eta0", "sz0", "load_before",
          "petsc", "note", "cpu_s", "petsc_scalar", "uniqueness_s", "load_after"]


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def run(L: int, ranks: int, config: str, series: str, petsc: list[str], timeout: float,
        mem_gb: float, work: Path) -> dict:
    out = work / f"L{L}_n{ranks}_{config}_{series or 'default'}.nc"
    cmd = [str(VENV_BIN / "lindring"), "solve", "--method", "ed", "--bc", "ring", "--L", str(L),
           "--preset", "minimal", "--alpha", str(ALPHA), "--delta", str(DELTA),
           *CONFIGS[config], "--force", "-o", str(out), *petsc]
    if ranks > 1:
        cmd = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks)] + cmd
    row = dict(L=L, ranks=ranks, config=config, series=series, load_before=_load(),
               petsc=" ".join(petsc))
    log = out.with_suffix(".log")
    res = run_measured(cmd, timeout, mem_gb * 1024, log)
    row.update(status=res["status"], wall_s=round(res["wall_s"], 2), load_after=_load(),
               cpu_s=round(res.get("cpu_s", float("nan")), 1),
               peak_mb_sampled_tree=round(res["peak_mb_sampled_tree"]),
               time_maxrss_mb=round(res.get("time_maxrss_mb", float("nan"))))
    if res["status"] == "ok" and out.exists():
        import xarray as xr
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            row.update(solve_s=round(float(a.get("solve_seconds", float("nan"))), 2),
                       assembly_s=round(float(a.get("assembly_seconds", float("nan"))), 2),
                       basis_size=a.get("basis_size"), nnz=a.get("nnz"),
                       operator_basis=a.get("operator_basis", "matrix-units"),
                       petsc_scalar=a.get("petsc_scalar", "complex"),
                       uniqueness_s=round(float(a.get("uniqueness_seconds", float("nan"))), 2),
                       symmetry=a.get("symmetry"),
                       iterations=a.get("solver_iterations"),
                       probe_iterations=a.get("probe_iterations"),
                       uniqueness=f"{a.get('uniqueness_method')} (unique={a.get('unique')})",
                       residual=f"{float(ds['residual']):.2e}",
                       current_eta0=f"{float(ds['current_eta'][0]):.12f}",
                       sz0=f"{float(ds['sz'][0]):.12f}")
    else:
        lines = [ln for ln in log.read_text(errors="replace").splitlines()
                 if ln.strip() and "] it " not in ln]
        row["note"] = " | ".join(lines[-3:])[-300:]
    print(row, flush=True)
    return row


def load_rows() -> dict:
    return load_keyed(CSV, ("L", "ranks", "config", "series"))


def save(rows: dict) -> None:
    save_keyed(CSV, rows, FIELDS, lambda k: (int(k[0]), int(k[1]), k[3], k[2]))


def table(rows: dict) -> str:
    head = ("| L | ranks | path | series | rows | nonzeros | wall s | CPU s | assembly s | "
            "solve s | probe s | peak MB | GMRES its | probe its | residual | current_eta[0] | "
            "load |\n" + "|---" * 17 + "|")
    lines = [head]
    for k in sorted(rows, key=lambda k: (int(k[0]), int(k[1]), k[3], k[2] != "old")):
        r = rows[k]
        path = {"old": "complex, matrix units, P x k=0", "new": "Pauli, P x k=0 x R",
                "default": "default (Pauli, P x k=0 x R)"}[r["config"]]
        if r.get("petsc_scalar"):
            path += f", {r['petsc_scalar']} build"
        lines.append(f"| {r['L']} | {r['ranks']} | {path} | {r['series'] or '-'} | "
                     f"{r.get('basis_size') or '-'} | {r.get('nnz') or '-'} | {r['wall_s']} | "
                     f"{r.get('cpu_s') or '-'} | {r.get('assembly_s') or '-'} | "
                     f"{r.get('solve_s') or '-'} | {r.get('uniqueness_s') or '-'} | "
                     f"{r['peak_mb_sampled_tree']} | "
                     f"{r.get('iterations') or '-'} | {r.get('probe_iterations') or '-'} | "
                     f"{r.get('residual') or r['status']} | {r.get('current_eta0') or '-'} | "
                     f"{r['load_before']}{' -> ' + r['load_after'] if r.get('load_after') else ''} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, nargs="+", default=[10, 12])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1])
    ap.add_argument("--configs", nargs="+", default=["old", "new"], choices=sorted(CONFIGS))
    ap.add_argument("--series", default="")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--mem-limit-gb", type=float, default=16)
    ap.add_argument("--table", action="store_true", help="print the Markdown table and stop")
    ap.add_argument("--petsc", nargs=argparse.REMAINDER, default=[],
                    help="PETSc options for every run (last on the line)")
    args = ap.parse_args()
    rows = load_rows()
    if args.table:
        print(table(rows))
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="bench_pauli_") as tmp:
        for L in args.L:
            for ranks in args.ranks:
                for config in args.configs:
                    row = run(L, ranks, config, args.series, args.petsc, args.timeout,
                              args.mem_limit_gb, Path(tmp))
                    rows[(str(L), str(ranks), config, args.series)] = {k: str(v) for k, v in
                                                                       row.items()}
                    save(rows)
    print(table(rows))


if __name__ == "__main__":
    main()
