#!/usr/bin/env python
"""How PETSc should hold the real Pauli Liouvillian (issue 14): the real-scalar build in a
separate process against the real matrix stored in the complex build.

The same matrix (the Pauli Liouvillian of the minimal ring, alpha = 2, delta = 1.5, in parity x
momentum zero x reflection-even, trace row in row 0, as ``lindring solve`` assembles it) is
built once with numpy (lindring.core) and saved; then one worker process per build loads it into
a PETSc AIJ matrix and measures

- the time of one matrix-vector product (mean of 50),
- a Krylov method with block Jacobi/ILU(0), right-preconditioned, as ``lindring solve --solver
  iterative`` sets it up (``--ksp``: ``gmres:m`` for GMRES(m), ``lgmres:m``, ``bcgs``
  (BiCGStab), ``bcgsl`` (BiCGStab(l), l = 2, of the IDR family), ``tfqmr``): time per
  iteration, iterations to ||r|| / ||b|| <= 1e-12 and the relative residual reached (each
  method in its own worker process, so that its peak memory is its own),
- the peak resident memory of the worker (``ru_maxrss``) and the memory of the matrix.

Each worker picks its build with ``PETSC_DIR`` (Debian:
/usr/lib/petscdir/petsc64-3.18/x86_64-linux-gnu-{real,complex}; one process can import only one).
The real build needs ``python3-petsc4py-64-real``.

    .venv/bin/python benchmarks/bench_real_build.py --L 10 12 --restart 30 200
    .venv/bin/python benchmarks/bench_real_build.py --L 12 --builds real \
        --ksp gmres:20 gmres:40 gmres:200 lgmres:30 bcgs bcgsl

Prints one line per (L, build, restart) and appends to ``benchmarks/results/real_build.csv``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PETSC_ROOT = "/usr/lib/petscdir/petsc64-3.18"
CSV = HERE / "results" / "real_build.csv"


def build_matrix(L: int, path: Path) -> dict:
    """The trace-constrained Pauli sector Liouvillian as CSR arrays in ``path`` (.npz)."""
    import numpy as np
    import scipy.sparse as sp
    from lindring.core import model
    from lindring.core.basis import make_basis, resolve_symmetry
    from lindring.core.pauli import PauliBasis, pauli_terms
    from lindring.core.terms import rows_block
    p = model.make_params(L, bc="ring", preset="minimal", alpha=2.0, delta=1.5)
    t0 = time.time()
    basis = PauliBasis(make_basis(L, resolve_symmetry(p, "auto"), bc="ring"))
    terms = pauli_terms(p)
    blocks = [rows_block(p, basis, np.arange(c, min(c + (1 << 17), basis.size)), terms)
              for c in range(0, basis.size, 1 << 17)]
    A = sp.vstack(blocks, format="csr")
    scale = float(np.abs(A.data).max())
    cols, w = basis.trace_support()
    row0 = sp.csr_matrix((w * scale, (np.zeros_like(cols), cols)), shape=(1, basis.size))
    A = sp.vstack([row0, A[1:]], format="csr")
    np.savez(path, indptr=A.indptr.astype(np.int64), indices=A.indices.astype(np.int64),
             data=A.data, scale=scale)
    return dict(rows=basis.size, nnz=int(A.nnz), build_s=round(time.time() - t0, 2))


def worker(kind: str, path: str, methods: list[str], max_it: int) -> None:
    """Runs in its own process with the build ``kind`` (real or complex)."""
    import resource
    sys.path.insert(0, f"{PETSC_ROOT}/x86_64-linux-gnu-{kind}/lib/python3/dist-packages")
    import numpy as np
    import petsc4py
    petsc4py.init([sys.argv[0]])
    from petsc4py import PETSc
    z = np.load(path)
    scale = float(z["scale"])
    dtype = PETSc.ScalarType
    N = len(z["indptr"]) - 1
    A = PETSc.Mat().createAIJ(size=(N, N), csr=(z["indptr"], z["indices"],
                                                z["data"].astype(dtype)), comm=PETSc.COMM_SELF)
    A.assemble()
    del z
    info = A.getInfo()
    out = dict(build=kind, scalar=np.dtype(dtype).name, mat_mb=round(info["memory"] / 2 ** 20))
    x, y = A.createVecs()
    x.set(1.0)
    A.mult(x, y)
    t0 = time.perf_counter()
    for _ in range(50):
        A.mult(x, y)
    out["matvec_ms"] = round((time.perf_counter() - t0) / 50 * 1e3, 2)
    rows = []
    for spec in methods:
        ksp_type, _, m = spec.partition(":")
        b = A.createVecLeft()
        b.set(0.0)
        b.setValue(0, scale)
        b.assemble()
        sol = A.createVecRight()
        ksp = PETSc.KSP().create(comm=PETSc.COMM_SELF)
        ksp.setOperators(A)
        ksp.setType(ksp_type)
        if m and ksp_type == "gmres":
            ksp.setGMRESRestart(int(m))
        elif m:
            PETSc.Options().setValue(f"-ksp_{ksp_type}_restart", m)
        ksp.getPC().setType("bjacobi")
        ksp.setPCSide(PETSc.PC.Side.RIGHT)
        if ksp_type not in ("bcgs", "bcgsl", "tfqmr"):     # these test the residual they have
            ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setFromOptions()
        ksp.setTolerances(rtol=1e-12, atol=0.0, max_it=max_it)
        t0, c0 = time.perf_counter(), time.process_time()
        ksp.solve(b, sol)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        its = ksp.getIterationNumber()
        r = b.duplicate()
        A.mult(sol, r)
        r.axpy(-1.0, b)
        rows.append(dict(out, restart=spec, iterations=its, reason=int(ksp.getConvergedReason()),
                         solve_s=round(dt, 2), s_per_it=round(dt / max(its, 1), 4),
                         solve_cpu_s=round(cpu, 2), cpu_s_per_it=round(cpu / max(its, 1), 4),
                         rel_residual=float(r.norm() / b.norm()),
                         peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
        ksp.destroy()
    print("RESULT " + json.dumps(rows), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, nargs="+", default=[10, 12])
    ap.add_argument("--restart", type=int, nargs="+", default=[30, 200],
                    help="GMRES restarts (shorthand for --ksp gmres:m ...)")
    ap.add_argument("--ksp", nargs="+", default=None,
                    help="Krylov methods: gmres:m, lgmres:m, bcgs, bcgsl, tfqmr")
    ap.add_argument("--builds", nargs="+", default=["complex", "real"])
    ap.add_argument("--max-it", type=int, default=5000)
    ap.add_argument("--csv", type=Path, default=CSV, help="results file (appended)")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "NPZ"))
    args = ap.parse_args()
    methods = args.ksp or [f"gmres:{m}" for m in args.restart]
    if args.worker:
        worker(args.worker[0], args.worker[1], methods, args.max_it)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    args.csv.parent.mkdir(exist_ok=True)
    new = not args.csv.exists()
    with tempfile.TemporaryDirectory() as tmp, open(args.csv, "a", newline="") as fh:
        writer = None
        for L in args.L:
            path = Path(tmp) / f"L{L}.npz"
            meta = build_matrix(L, path)
            for kind, spec in [(k, m) for k in args.builds for m in methods]:
                with open("/proc/loadavg") as la:
                    load = " ".join(la.read().split()[:3])
                t0 = time.time()
                cpu0 = os.times()
                proc = subprocess.run([sys.executable, __file__, "--worker", kind, str(path),
                                       "--ksp", spec, "--max-it", str(args.max_it)],
                                      capture_output=True, text=True, env=env)
                cpu1 = os.times()
                cpu = (cpu1.children_user + cpu1.children_system
                       - cpu0.children_user - cpu0.children_system)
                line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                if not line:
                    print(f"L={L} {kind}: failed\n{proc.stderr[-2000:]}")
                    continue
                for row in json.loads(line[0][7:]):
                    row = dict(L=L, **meta, **row, load=load,
                               worker_wall_s=round(time.time() - t0, 1),
                               worker_cpu_s=round(cpu, 1))
                    print(row, flush=True)
                    if writer is None:
                        writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore")
                        if new:
                            writer.writeheader()
                    writer.writerow(row)


if __name__ == "__main__":
    main()
